"""Hedged requests: a second attempt when the first token is late.

With ``l0.run(..., hedge=l0.Hedge(...))``, an attempt that has not produced its first token
within the hedge delay gets a twin: the same source again (``target="same"``) or the next
fallback (``target="fallback"``). Whichever delivers a token first wins; the other is closed
at once. A hedge counts against the run's :class:`l0.RetryBudget` (one token, on the key of
the source it calls) and is not sent when the budget refuses it, nor when the breaker refuses
the target.

The delay is fixed (``delay=1.5``) or adaptive (``delay="p95"``): the 95th percentile of the
time to first token observed by this :class:`Hedge` for the source's key (in this process),
``initial_delay`` until ``min_samples`` were seen. Share one ``Hedge`` between runs for the
adaptive delay to learn.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from typing import Literal

__all__ = ["Hedge"]

_WINDOW = 200  # time-to-first-token samples kept per key


class Hedge:
    """When and where a run sends a hedged attempt (``l0.run(..., hedge=Hedge(...))``).

    Args:
        delay: Seconds without a first token before the hedge starts, or ``"p95"`` for the
            observed 95th percentile time to first token of the source's key.
        target: ``"same"`` (call the same source again) or ``"fallback"`` (start the next
            fallback early; without one left, no hedge).
        initial_delay: The delay ``"p95"`` uses until ``min_samples`` were observed.
        min_samples: Observations needed before ``"p95"`` trusts them.

    Raises:
        TypeError, ValueError: For an invalid option, naming it.
    """

    def __init__(
        self,
        *,
        delay: float | Literal["p95"] = "p95",
        target: Literal["same", "fallback"] = "same",
        initial_delay: float = 2.0,
        min_samples: int = 20,
    ) -> None:
        if delay != "p95":
            _seconds("delay", delay)
        _seconds("initial_delay", initial_delay)
        if target not in ("same", "fallback"):
            raise ValueError(f"target must be 'same' or 'fallback', got {target!r}")
        if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 1:
            raise ValueError(f"min_samples must be an int >= 1, got {min_samples!r}")
        self.delay = delay
        self.target = target
        self.initial_delay = float(initial_delay)
        self.min_samples = min_samples
        self._samples: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def delay_for(self, key: str | None) -> float:
        """Seconds to wait for a first token on ``key`` before hedging."""
        if self.delay != "p95":
            return float(self.delay)
        with self._lock:
            samples = sorted(self._samples.get(key or "", ()))
        if len(samples) < self.min_samples:
            return self.initial_delay
        return samples[min(len(samples) - 1, math.ceil(0.95 * len(samples)) - 1)]

    def observe(self, key: str | None, ttft: float) -> None:
        """Record one time to first token (seconds) for ``key``."""
        with self._lock:
            self._samples.setdefault(key or "", deque(maxlen=_WINDOW)).append(ttft)


def _seconds(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be seconds (a number) or 'p95', got {value!r}")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be finite and >= 0 seconds, got {value}")
