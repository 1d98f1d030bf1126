"""Guardrails: rules that watch the output as it streams.

Use a preset or a list of rules as ``l0.run(..., guardrails=...)``. Rules are incremental:
each keeps scanner state and sees every character once.
"""

from l0.guardrails.engine import GuardrailEngine, Rule
from l0.runtime.hooks import Severity, Violation

__all__ = ["GuardrailEngine", "Rule", "Severity", "Violation"]
