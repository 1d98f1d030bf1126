"""Moved to :mod:`l0.guardrails.hooks` (the guardrail and drift vocabulary); kept importable
here."""

from __future__ import annotations

from l0.guardrails.hooks import (
    DriftHook,
    DriftResult,
    GuardrailHook,
    Severity,
    Violation,
    ViolationsResult,
)

__all__ = ["DriftHook", "DriftResult", "GuardrailHook", "Severity", "Violation", "ViolationsResult"]
