"""What every built-in rule shares: per-check severities and violation building.

Each built-in rule is made of named sub-checks (``json.balance``, ``markdown.fences``, …).
Every sub-check takes a severity: ``"warning"``, ``"error"``, ``"fatal"`` (or a
:class:`~l0.guardrails.hooks.Severity`), or ``None`` to switch it off. A violation's ``rule`` is
``"<rule>.<check>"``, so callers can tell sub-checks apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal, TypeAlias

from l0.guardrails.hooks import Severity, Violation

__all__ = [
    "META_COMMENTARY",
    "NO_VIOLATIONS",
    "BaseRule",
    "SeverityLike",
    "literal_pattern",
    "to_severity",
]

SeverityLike: TypeAlias = Severity | Literal["warning", "error", "fatal"] | None
"""A sub-check's severity, or ``None`` to disable it."""

NO_VIOLATIONS: tuple[Violation, ...] = ()
"""The shared empty result (no allocation on the common path)."""


def literal_pattern(*phrases: str) -> re.Pattern[str]:
    """One regex matching any of ``phrases`` literally (matched against lower-cased text:
    a plain literal alternation scans much faster than ``re.IGNORECASE``)."""
    return re.compile("|".join(re.escape(p) for p in phrases))


META_COMMENTARY = (
    "as an ai language model",
    "as an ai assistant",
    "as a large language model",
    "as a language model",
    "i'm an ai",
    "i am an ai",
    "i'm just an ai",
    "i don't have personal",
    "i do not have personal",
    "i cannot actually",
)
"""The model talking about itself (lower case): shared by ``pattern_rule`` and drift."""


def to_severity(option: str, value: SeverityLike) -> Severity | None:
    """Normalise ``value``; raise ``ValueError`` naming ``option`` when it is not a severity."""
    if value is None or isinstance(value, Severity):
        return value
    if isinstance(value, str):
        try:
            return Severity(value.lower())
        except ValueError:
            pass
    raise ValueError(
        f"{option} must be 'warning', 'error', 'fatal' or None (disabled); got {value!r}"
    )


class BaseRule:
    """Base of the built-in rules: a name, sub-check severities and a violation factory.

    Args:
        name: The rule's name (prefix of every violation's ``rule``).
        checks: Sub-check name -> severity (``None`` disables the sub-check).
        recoverable: Whether a retry may fix this rule's ``error`` violations.
    """

    name: str

    def __init__(
        self, name: str, checks: Mapping[str, SeverityLike], *, recoverable: bool = True
    ) -> None:
        self.name = name
        self.recoverable = bool(recoverable)
        self.severities: dict[str, Severity | None] = {
            check: to_severity(f"{name}_rule({check}=...)", value)
            for check, value in checks.items()
        }
        self.blocking: bool = any(
            sev is Severity.ERROR or sev is Severity.FATAL for sev in self.severities.values()
        )
        """Whether a sub-check can reject text (severity ``error`` or ``fatal``)."""
        self.lookahead: int = 0
        """Characters this rule needs past a character before it can clear it (0: structure
        and quality checks judge the answer's shape, not a span the user must not see)."""

    def enabled(self, check: str) -> bool:
        """True when the sub-check ``check`` is switched on."""
        return self.severities[check] is not None

    def violation(self, check: str, message: str, position: int | None = None) -> Violation:
        """A violation of sub-check ``check`` at its configured severity."""
        severity = self.severities[check] or Severity.WARNING
        return Violation(
            rule=f"{self.name}.{check}",
            message=message,
            severity=severity,
            recoverable=self.recoverable and severity is not Severity.FATAL,
            position=position,
        )

    def reset(self) -> None:
        """Forget scanner state (a new answer starts)."""

    def __repr__(self) -> str:
        on = ", ".join(f"{k}={v.value}" for k, v in self.severities.items() if v is not None)
        return f"{type(self).__name__}({on})"
