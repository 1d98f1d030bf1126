"""A fake clock: backoff waits return at once and are recorded; stall deadlines follow it."""

from __future__ import annotations

from collections.abc import Callable

import anyio.lowlevel

__all__ = ["FakeClock"]


class FakeClock:
    """Virtual time for l0 runs (``l0.run(..., clock=FakeClock())``).

    ``now()`` returns virtual seconds; ``sleep(d)`` records ``d`` in :attr:`sleeps`, advances
    virtual time by ``d`` and returns at once. Stall and total timeouts run on virtual time
    too (asyncio backend): a run using this clock subscribes to it, and each :meth:`advance`
    or :meth:`sleep` makes it re-check its deadlines, so a 30-second stall is tested by
    ``clock.advance(31)`` from another task while the source waits, with no real wait.
    Call :meth:`advance` from the run's event loop thread.

    Attributes:
        sleeps: Every backoff delay requested, in order.
    """

    def __init__(self, start: float = 0.0) -> None:
        self.time = start
        self.sleeps: list[float] = []
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` whenever virtual time moves; returns the unsubscribe function.

        (l0 runs subscribe their stall watchdog.)
        """
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _moved(self) -> None:
        for listener in list(self._listeners):
            listener()

    def now(self) -> float:
        """Virtual monotonic seconds."""
        return self.time

    async def sleep(self, seconds: float) -> None:
        """Record the wait, advance virtual time, yield to the event loop once."""
        self.sleeps.append(seconds)
        self.time += seconds
        self._moved()
        await anyio.lowlevel.checkpoint()

    def advance(self, seconds: float) -> None:
        """Move virtual time forward without a recorded sleep (deadlines are re-checked)."""
        self.time += seconds
        self._moved()

    @property
    def slept(self) -> float:
        """Total virtual seconds slept."""
        return sum(self.sleeps)
