"""Backoff strategies and the clock l0 waits on.

The clock is injectable (:class:`Clock`): the runtime reads ``now()`` for timestamps and calls
``sleep()`` for backoff waits, so tests can use :class:`l0.testing.FakeClock` and assert the
exact delays without sleeping.
"""

from __future__ import annotations

import random as _random
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import anyio

__all__ = ["Clock", "SystemClock", "calculate_backoff"]


@runtime_checkable
class Clock(Protocol):
    """Where the runtime reads the time and waits."""

    def now(self) -> float:
        """Monotonic seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a backoff delay)."""
        ...


class SystemClock:
    """The real clock: ``time.monotonic`` and ``anyio.sleep``."""

    now = staticmethod(time.monotonic)

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


def calculate_backoff(
    strategy: str,
    attempt: int,
    base_delay: float,
    max_delay: float,
    *,
    random: Callable[[], float] | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based) under ``strategy``.

    - ``exponential``: ``min(base * 2**attempt, max)``
    - ``linear``: ``min(base * (attempt + 1), max)``
    - ``fixed``: ``min(base, max)``
    - ``fixed_jitter``: ``min(base * (0.5 + r), max)`` with ``r`` in [0, 1)
    - ``full_jitter``: ``r * min(base * 2**attempt, max)``

    Args:
        strategy: One of the names above.
        attempt: 0 for the first retry.
        base_delay: Seconds.
        max_delay: Cap in seconds.
        random: Zero-argument callable returning [0, 1); defaults to :func:`random.random`.

    Raises:
        ValueError: For an unknown strategy or a negative attempt/delay.
    """
    if attempt < 0 or base_delay < 0 or max_delay < 0:
        raise ValueError("attempt, base_delay and max_delay must be >= 0")
    rand = random or _random.random
    if strategy == "exponential":
        return min(base_delay * 2.0 ** min(attempt, 64), max_delay)
    if strategy == "linear":
        return min(base_delay * (attempt + 1), max_delay)
    if strategy == "fixed":
        return min(base_delay, max_delay)
    if strategy == "fixed_jitter":
        return min(base_delay * (0.5 + rand()), max_delay)
    if strategy == "full_jitter":
        return rand() * min(base_delay * 2.0 ** min(attempt, 64), max_delay)
    raise ValueError(
        f"unknown backoff strategy {strategy!r}; use exponential, linear, fixed, "
        "fixed_jitter or full_jitter"
    )
