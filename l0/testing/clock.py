"""A fake clock: backoff waits return at once and are recorded."""

from __future__ import annotations

import anyio.lowlevel

__all__ = ["FakeClock"]


class FakeClock:
    """Virtual time for l0 runs (``l0.run(..., clock=FakeClock())``).

    ``now()`` returns virtual seconds; ``sleep(d)`` records ``d`` in :attr:`sleeps`, advances
    virtual time by ``d`` and returns at once. Stall timeouts measure virtual time too, which
    only moves through :meth:`sleep` and :meth:`advance`: test stalls with tiny real
    timeouts and the default clock instead.

    Attributes:
        sleeps: Every backoff delay requested, in order.
    """

    def __init__(self, start: float = 0.0) -> None:
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        """Virtual monotonic seconds."""
        return self.time

    async def sleep(self, seconds: float) -> None:
        """Record the wait, advance virtual time, yield to the event loop once."""
        self.sleeps.append(seconds)
        self.time += seconds
        await anyio.lowlevel.checkpoint()

    def advance(self, seconds: float) -> None:
        """Move virtual time forward without a recorded sleep."""
        self.time += seconds

    @property
    def slept(self) -> float:
        """Total virtual seconds slept."""
        return sum(self.sleeps)
