"""Drift detection: is the output wandering off its expected course?

(Placeholder detector until the drift issue lands: it never reports drift.)
"""

from __future__ import annotations

from l0.runtime.hooks import DriftResult

__all__ = ["DriftDetector"]


class DriftDetector:
    """Implements :class:`l0.runtime.hooks.DriftHook`."""

    def reset(self) -> None:
        """Forget the window."""

    def check(self, delta: str, *, final: bool) -> DriftResult:
        """Feed ``delta``; report drift."""
        return DriftResult(detected=False)
