"""Guardrails: rules that watch the output as it streams.

Use a preset or a list of rules as ``l0.run(..., guardrails=...)``. Rules are incremental:
each keeps scanner state and sees every character once. Presets are functions returning fresh
rule instances (rules are stateful; never share one between concurrent runs)::

    hooks.py       Severity, Violation and the hook protocols the attempt loop calls
    engine.py      GuardrailEngine, Rule protocol
    rules.py       BaseRule: per-sub-check severities
    json_rules.py  json_rule, strict_json_rule
    text_rules.py  markdown_rule, latex_rule
    patterns.py    pattern_rule, custom_pattern_rule, zero_output_rule
    windowed.py    bounded regex windows (user patterns cannot hang the stream)
    presets.py     minimal, recommended, strict, json_only, markdown_only, latex_only
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from l0.guardrails.hooks import Severity, Violation

if _TYPE_CHECKING:
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

# The rules load on first use: the attempt loop imports only the hook vocabulary
# (l0.guardrails.hooks), and `import l0` need not pay for every rule.
_LAZY = {
    "BaseRule": "l0.guardrails.rules",
    "CustomPatternRule": "l0.guardrails.patterns",
    "GuardrailEngine": "l0.guardrails.engine",
    "JsonRule": "l0.guardrails.json_rules",
    "LatexRule": "l0.guardrails.text_rules",
    "MarkdownRule": "l0.guardrails.text_rules",
    "PatternRule": "l0.guardrails.patterns",
    "Rule": "l0.guardrails.engine",
    "SeverityLike": "l0.guardrails.rules",
    "StrictJsonRule": "l0.guardrails.json_rules",
    "ZeroOutputRule": "l0.guardrails.patterns",
    "custom_pattern_rule": "l0.guardrails.patterns",
    "json_only": "l0.guardrails.presets",
    "json_rule": "l0.guardrails.json_rules",
    "latex_only": "l0.guardrails.presets",
    "latex_rule": "l0.guardrails.text_rules",
    "markdown_only": "l0.guardrails.presets",
    "markdown_rule": "l0.guardrails.text_rules",
    "minimal": "l0.guardrails.presets",
    "pattern_rule": "l0.guardrails.patterns",
    "recommended": "l0.guardrails.presets",
    "strict": "l0.guardrails.presets",
    "strict_json_rule": "l0.guardrails.json_rules",
    "zero_output_rule": "l0.guardrails.patterns",
}


def __getattr__(name: str) -> _Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'l0.guardrails' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
