"""Stall and overall deadlines, and abort, for one run — without a task or timer per token.

When an explicit stall deadline is set (``timeout=l0.Timeout(...)``), the attempt loop
records each token's arrival time in ``State.last_token_at`` (one clock read per token, which
``Event.ts`` reuses). The watchdog keeps **one** timer for the nearest deadline; when it fires
it re-reads the last arrival time and, if the stream moved meanwhile, re-arms for the new
deadline (so a timer is created at most once per timeout period, never per token). It acts
only while the run's generator is running (``ag_running``: awaiting the provider, a backoff,
or its own checks), never while the consumer holds an event: consumer time is not a provider
stall.

**Sampled mode** (the default ``Timeout()``, no ``timeout=`` given, on asyncio with the real
clock): plain-text tokens are not timestamped at all (a clock read costs more than the rest
of the token's fast path on some machines). Instead the timer wakes every
``inter_token / SAMPLES`` seconds and compares the number of text pieces the run holds with
its last look: if it grew, the stream was alive at the timer's own clock reading. A stall is
then cut between ``inter_token`` and ``inter_token * (1 + 1 / SAMPLES)`` after the last
token (30 s to 30.9 s by default) instead of within a few ms of it; the first token of each
attempt, provider chunks and every other liveness sign are still timestamped exactly.

Loop lag is not provider silence: when the timer finds a stall deadline passed, the watchdog
does not cut at once but lets the loop turn a few times first (``_GRACE_TURNS``), so data
already in the socket buffer reaches the reader and moves the deadline; only a deadline that
still stands is cut. A timer that fires more than :data:`LOOP_LAG_THRESHOLD` late measures the
loop's lag (something blocked it): the run reports it (``LOOP_LAG``, ``Telemetry.loop_lag``).

On asyncio the watchdog interrupts the pending read by cancelling the task and recognising
its own cancellation (``Task.uncancel`` on 3.11+); on other backends (trio) each read runs in
an anyio cancel scope with the current deadline (:class:`ScopedChunks`).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio

from l0.errors import L0Error, StreamTimeoutError
from l0.types import State, Timeout

__all__ = ["LOOP_LAG_THRESHOLD", "SAMPLES", "ScopedChunks", "Watchdog"]

_POLL = 0.005  # re-check interval while a deadline waits for the loop to start reading
_GRACE_TURNS = 3  # loop turns a passed stall deadline waits for received data to be read
LOOP_LAG_THRESHOLD = 0.1
"""Seconds late a watchdog timer must fire for the loop's lag to be reported."""
SAMPLES = 32
"""Progress samples per ``inter_token`` window in sampled mode (the default timeout): a stall
is cut at most ``inter_token / SAMPLES`` late."""
_warned = False


def _warn_stale_task() -> None:
    """The stream moved to another task between provider chunks: say so once."""
    global _warned
    if not _warned:
        _warned = True
        logging.getLogger("l0").warning(
            "l0: a stream was read from several tasks; a stall could not be interrupted. "
            "Iterate an l0 stream from one task."
        )


class Watchdog:
    """Deadlines and interruption for one run.

    Attributes:
        interrupt: The error that interrupted the run (a timeout or an abort), once one did.
        lag_max: The most seconds a timer fired late (loop lag), when above the threshold.
        lag_count: How many timers fired more than the threshold late.
        timed: Whether a stall deadline is set.
        sampled: Whether the inter-token deadline is watched by sampling progress (the
            default timeout; set by :meth:`start_session`): the loop then timestamps no
            plain-text token. Otherwise, when ``timed``, it timestamps every token.
        agen: The run's async generator, once iteration started.
    """

    __slots__ = (
        "_activity_at",
        "_attempt_start",
        "_cancelled",
        "_clock",
        "_due",
        "_grace",
        "_handle",
        "_interruptible",
        "_loop",
        "_now",
        "_period",
        "_pieces",
        "_scope",
        "_state",
        "_task",
        "_timer_now",
        "_total_deadline",
        "_unsubscribe",
        "_virtual",
        "_want_sampled",
        "agen",
        "asyncio",
        "interrupt",
        "lag_count",
        "lag_max",
        "sampled",
        "timed",
        "timeout",
    )

    def __init__(
        self,
        timeout: Timeout,
        state: State,
        now: Callable[[], float],
        clock: object = None,
        *,
        sampled: bool = False,
    ) -> None:
        self.timeout = timeout
        self._state = state
        self._now = now
        # Timer callbacks read the clock out of the run's order: a recording clock keeps
        # them out of its recorded readings (``timer_now``).
        self._timer_now: Callable[[], float] = getattr(clock, "timer_now", None) or now
        self.timed = timeout.initial_token is not None or timeout.inter_token is not None
        self.agen: Any = None
        self._interruptible = False
        self.interrupt: L0Error | None = None
        self._attempt_start: float | None = None
        self._activity_at: float | None = None
        self._total_deadline: float | None = None
        self._handle: asyncio.Handle | None = None
        self._due: float | None = None  # when the pending timer should fire
        self._grace = 0
        self.lag_max = 0.0
        self.lag_count = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._scope: anyio.CancelScope | None = None
        self._cancelled = False
        self.asyncio = False
        self._clock = clock
        self._unsubscribe: Callable[[], None] | None = None
        self._virtual = False  # a hand-moved clock: timer lateness is not loop lag
        # Sampled mode (decided in start_session): the timer's poll period and the number
        # of text pieces (``State._parts``) at its last look.
        self._want_sampled = sampled and timeout.inter_token is not None
        self.sampled = False
        self._period = (timeout.inter_token or 0.0) / SAMPLES
        self._pieces = 0

    @property
    def attempt_started_at(self) -> float | None:
        """When the current attempt asked the provider for a stream (``None`` between)."""
        return self._attempt_start

    # -- lifecycle ---------------------------------------------------------------------------

    def start_session(self) -> None:
        """Bind to the current task and start the ``total`` clock."""
        # A running asyncio loop with a current task means the asyncio backend (under trio
        # there is no running asyncio loop). C-level calls: cheap on the per-run path.
        loop = asyncio._get_running_loop()
        task = asyncio.current_task(loop) if loop is not None else None
        self.asyncio = task is not None
        if task is not None:
            self._loop = loop
            self._task = task
        if self.timeout.total is not None:
            self._total_deadline = self._now() + self.timeout.total
        # A clock whose time moves by hand (l0.testing.FakeClock) tells us when it moves.
        subscribe = getattr(self._clock, "subscribe", None)
        self._virtual = subscribe is not None
        if subscribe is not None and (self.timed or self._total_deadline is not None):
            self._unsubscribe = subscribe(self._clock_moved)
        # Sampling needs this watchdog's own timer on the real clock (a hand-moved clock and
        # trio's per-read cancel scopes read the deadline, not a poll).
        self.sampled = self._want_sampled and self.asyncio and not self._virtual
        self._arm()

    def rebind(self) -> None:
        """Follow the task that is reading now: a consumer may read from several tasks
        (``asyncio.wait_for`` per item, LangChain's tracing). Called once per attempt and
        after each provider chunk's events (not on the plain-``str`` fast path)."""
        if self.asyncio and not self._cancelled:
            task = asyncio.current_task(self._loop)
            if task is not None:
                self._task = task

    def start_attempt(self) -> None:
        """The provider is being asked for a new stream: start the initial-token clock."""
        self._attempt_start = self._now()
        self._activity_at = None
        self._pieces = len(self._state._parts)
        self._interruptible = True
        self._arm()

    def end_attempt(self) -> None:
        """The attempt is over: only the ``total`` deadline still applies."""
        self._interruptible = False
        self._attempt_start = None
        self._arm()

    def close(self) -> None:
        """Cancel the timer (end of the run)."""
        self._interruptible = False
        self._attempt_start = None
        self._total_deadline = None
        self._drop_timer()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _clock_moved(self) -> None:
        """The (virtual) clock jumped: check the deadlines now."""
        if self.asyncio and self._loop is not None and self._handle is not None:
            self._handle.cancel()
            self._due = None
            self._fire()

    def touch(self) -> None:
        """Record liveness that is not a token (reasoning, keepalive, metadata chunks)."""
        first = self._activity_at is None
        self._activity_at = self._now()
        if first:
            self._arm()  # the initial deadline gives way to the (often nearer) inter-token one

    def first_token(self) -> None:
        """The attempt's first token arrived: switch from the initial to the inter deadline."""
        self._arm()

    def abort(self, error: L0Error) -> None:
        """Interrupt the run now (a pending provider read is cancelled)."""
        if self.interrupt is None:
            self.interrupt = error
        self._cut()

    # -- deadlines ---------------------------------------------------------------------------

    def next_deadline(self) -> tuple[float, str, float] | None:
        """The nearest deadline as ``(when, kind, limit)``, or ``None``."""
        best: tuple[float, str, float] | None = None
        start = self._attempt_start
        t = self.timeout
        if start is not None:
            last = self._state.last_token_at
            seen = last if last is not None and last >= start else None
            if self._activity_at is not None and (seen is None or self._activity_at > seen):
                seen = self._activity_at
            if seen is None and t.initial_token is not None:
                best = (start + t.initial_token, "initial_token", t.initial_token)
            elif seen is not None and t.inter_token is not None:
                best = (seen + t.inter_token, "inter_token", t.inter_token)
        total_at = self._total_deadline
        if total_at is not None and t.total is not None and (best is None or total_at <= best[0]):
            best = (total_at, "total", t.total)
        return best

    def expired(self) -> StreamTimeoutError | None:
        """The timeout error if a deadline has passed now (checked between attempts)."""
        d = self.next_deadline()
        if d is None:
            return None
        now = self._now()
        if now < d[0]:
            return None
        return self._timeout_error(d, now)

    def remaining_total(self) -> float | None:
        """Seconds left before the ``total`` deadline, if one is set."""
        if self._total_deadline is None:
            return None
        return max(self._total_deadline - self._now(), 0.0)

    def _timeout_error(self, d: tuple[float, str, float], now: float) -> StreamTimeoutError:
        when, kind, limit = d
        elapsed = limit + max(now - when, 0.0)
        return StreamTimeoutError(kind, limit, elapsed)

    def _arm(self) -> None:
        if not self.asyncio or self._loop is None:
            return
        if not self.timed and self._total_deadline is None:
            return
        self._drop_timer()
        d = self.next_deadline()
        if d is not None:
            self._later(self._delay(d, self._timer_now()))

    def _delay(self, d: tuple[float, str, float], now: float) -> float:
        """Seconds until the timer should next look: the deadline, or sooner to sample."""
        delay = max(d[0] - now, 0.0)
        if self.sampled and d[1] == "inter_token" and delay > self._period:
            return self._period
        return delay

    def _sample(self, now: float) -> None:
        """Sampled mode: text arrived since the last look means the stream was alive now."""
        pieces = len(self._state._parts)
        if pieces == self._pieces:
            return
        self._pieces = pieces
        start = self._attempt_start
        last = self._state.last_token_at
        # Only once the attempt's first token (always timestamped) is in: before it the
        # initial-token deadline applies, which sampling never moves.
        if start is not None and last is not None and last >= start:
            act = self._activity_at
            if act is None or now > act:
                self._activity_at = now

    def _drop_timer(self) -> None:
        """Cancel the pending timer; one already overdue measures the loop's lag."""
        handle = self._handle
        if handle is not None:
            handle.cancel()
            self._handle = None
            due, self._due = self._due, None
            if due is not None:
                late = self._timer_now() - due
                if late > LOOP_LAG_THRESHOLD and not self._virtual:
                    self._lagged(late)

    def _later(self, delay: float) -> None:
        assert self._loop is not None
        self._due = self._timer_now() + delay
        self._handle = self._loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        self._handle = None
        now = self._timer_now()
        due, self._due = self._due, None
        if due is not None and now - due > LOOP_LAG_THRESHOLD and not self._virtual:
            self._lagged(now - due)
        if self.sampled:
            self._sample(now)
        d = self.next_deadline()
        if d is None or self.interrupt is not None:
            return
        assert self._loop is not None
        if now < d[0]:
            self._grace = 0
            self._later(self._delay(d, now))
            return
        if not self._cuttable():
            if d[1] != "total":
                # The consumer holds the stream: its time is not a provider stall.
                self._activity_at = now
            self._later(_POLL)
            return
        if d[1] != "total" and self._grace < _GRACE_TURNS:
            # Loop lag is not provider silence: let data already received reach the reader
            # (it moves the deadline) before calling the provider silent.
            self._grace += 1
            self._handle = self._loop.call_soon(self._fire)
            return
        self._grace = 0
        self.interrupt = self._timeout_error(d, now)
        self._cut()

    def _lagged(self, lag: float) -> None:
        self.lag_count += 1
        if lag > self.lag_max:
            self.lag_max = lag
        logging.getLogger("l0").warning(
            "l0: the event loop was blocked: a timer fired %.3fs late (a stall deadline is "
            "re-checked after received data is read)",
            lag,
        )

    # -- interruption ------------------------------------------------------------------------

    def _cuttable(self) -> bool:
        """True while the run's own code (not the consumer) is what is waiting."""
        agen = self.agen
        return self._interruptible and (agen is None or bool(agen.ag_running))

    def _cut(self) -> None:
        if not self._cuttable():
            return
        if self.asyncio:
            task = self._task
            if task is not None and not self._cancelled:
                if task.done():
                    _warn_stale_task()
                    return
                self._cancelled = True
                task.cancel()
        elif self._scope is not None:
            self._scope.cancel()

    def recognise(self, exc: BaseException) -> L0Error | None:
        """If ``exc`` is the cancellation this watchdog caused, swallow it and return the
        interrupt error; else ``None`` (the exception is someone else's).

        A timeout is consumed (the next attempt starts clean); an abort stays set.
        """
        err = self.interrupt
        if err is None:
            return None
        if self.asyncio:
            if not (self._cancelled and isinstance(exc, asyncio.CancelledError)):
                return None
            self._cancelled = False
            task = self._task
            if task is not None and sys.version_info >= (3, 11):
                task.uncancel()
                if task.cancelling():
                    return None  # an outside cancellation is pending as well: let it win
        elif not (exc is err or isinstance(exc, anyio.get_cancelled_exc_class())):
            return None
        if isinstance(err, StreamTimeoutError):
            self.interrupt = None
        return err

    def scoped(self, chunks: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """``chunks`` as the loop should read them on this backend."""
        return chunks if self.asyncio else ScopedChunks(chunks, self)

    async def guard(self, awaitable: Any) -> Any:
        """Await ``awaitable`` (opening a stream, a backoff) so the watchdog can cut it."""
        before = self._interruptible
        self._interruptible = True
        try:
            if self.asyncio:
                return await awaitable
            return await _scoped_call(self, awaitable)
        finally:
            self._interruptible = before


async def _scoped_call(wd: Watchdog, awaitable: Any) -> Any:
    d = wd.next_deadline()
    deadline = anyio.current_time() + (d[0] - wd._now()) if d is not None else float("inf")
    with anyio.CancelScope(deadline=deadline) as scope:
        wd._scope = scope
        try:
            return await awaitable
        finally:
            wd._scope = None
    err = wd.interrupt
    if err is None:
        err = (
            wd._timeout_error(d, wd._now())
            if d is not None
            else StreamTimeoutError("inter_token", 0, 0)
        )
    wd.interrupt = err if not isinstance(err, StreamTimeoutError) else None
    raise err


class ScopedChunks:
    """Non-asyncio backends: each read runs in a cancel scope bound to the current deadline."""

    __slots__ = ("_chunks", "_wd")

    def __init__(self, chunks: AsyncIterator[Any], wd: Watchdog) -> None:
        self._chunks = chunks
        self._wd = wd

    def __aiter__(self) -> ScopedChunks:
        return self

    async def __anext__(self) -> Any:
        if self._wd.interrupt is not None:
            raise self._wd.interrupt
        return await _scoped_call(self._wd, self._chunks.__anext__())
