"""Guardrails: rules that watch the output as it streams.

Use a preset or a list of rules as ``l0.run(..., guardrails=...)``. Rules are incremental:
each keeps scanner state and sees every character once. Presets are functions returning fresh
rule instances (rules are stateful; never share one between concurrent runs)::

    engine.py      GuardrailEngine, Rule protocol
    rules.py       BaseRule: per-sub-check severities
    json_rules.py  json_rule, strict_json_rule
    text_rules.py  markdown_rule, latex_rule
    patterns.py    pattern_rule, custom_pattern_rule, zero_output_rule
    windowed.py    bounded regex windows (user patterns cannot hang the stream)
    presets.py     minimal, recommended, strict, json_only, markdown_only, latex_only
"""

from l0.guardrails.engine import GuardrailEngine, Rule
from l0.guardrails.json_rules import JsonRule, StrictJsonRule, json_rule, strict_json_rule
from l0.guardrails.patterns import (
    CustomPatternRule,
    PatternRule,
    ZeroOutputRule,
    custom_pattern_rule,
    pattern_rule,
    zero_output_rule,
)
from l0.guardrails.presets import (
    json_only,
    latex_only,
    markdown_only,
    minimal,
    recommended,
    strict,
)
from l0.guardrails.rules import BaseRule, SeverityLike
from l0.guardrails.text_rules import LatexRule, MarkdownRule, latex_rule, markdown_rule
from l0.runtime.hooks import Severity, Violation

__all__ = [
    "BaseRule",
    "CustomPatternRule",
    "GuardrailEngine",
    "JsonRule",
    "LatexRule",
    "MarkdownRule",
    "PatternRule",
    "Rule",
    "Severity",
    "SeverityLike",
    "StrictJsonRule",
    "Violation",
    "ZeroOutputRule",
    "custom_pattern_rule",
    "json_only",
    "json_rule",
    "latex_only",
    "latex_rule",
    "markdown_only",
    "markdown_rule",
    "minimal",
    "pattern_rule",
    "recommended",
    "strict",
    "strict_json_rule",
    "zero_output_rule",
]
