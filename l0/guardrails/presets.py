"""Presets: functions returning lists of *fresh* rules.

Rules keep scanner state, so a preset is a function, never a shared list: two concurrent
runs given ``recommended()`` each get their own instances.
"""

from __future__ import annotations

from l0.guardrails.engine import Rule
from l0.guardrails.json_rules import JsonRule
from l0.guardrails.patterns import PatternRule, ZeroOutputRule
from l0.guardrails.text_rules import LatexRule, MarkdownRule

__all__ = ["json_only", "latex_only", "markdown_only", "minimal", "recommended", "strict"]


def minimal() -> list[Rule]:
    """JSON structure (only acts on output that starts with ``{``/``[``) and zero output."""
    return [JsonRule(), ZeroOutputRule()]


def recommended() -> list[Rule]:
    """JSON, Markdown, bad phrasing (meta commentary, leaks) and zero output."""
    return [JsonRule(), MarkdownRule(), PatternRule(), ZeroOutputRule()]


def strict() -> list[Rule]:
    """Everything in :func:`recommended` plus LaTeX, with refusals and repetition as errors."""
    return [
        JsonRule(),
        MarkdownRule(),
        LatexRule(),
        PatternRule(refusal="error", repetition="error", placeholders="error"),
        ZeroOutputRule(noise="error"),
    ]


def json_only() -> list[Rule]:
    """JSON structure and zero output."""
    return [JsonRule(), ZeroOutputRule()]


def markdown_only() -> list[Rule]:
    """Markdown structure and zero output."""
    return [MarkdownRule(), ZeroOutputRule()]


def latex_only() -> list[Rule]:
    """LaTeX structure and zero output."""
    return [LatexRule(), ZeroOutputRule()]
