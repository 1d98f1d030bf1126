"""The attempt loop: one run, from the first attempt to the result or the final error.

:class:`Run` drives :meth:`Run.events`, the one async generator between the provider and the
consumer. Per plain-text token it does one type check, a counter update, one append and
builds one :class:`~l0.types.Event` (plus one clock read when an explicit stall timeout needs
each token's time: :mod:`l0.runtime.watchdog`); everything else (first token, checkpoints,
guardrails, drift, overlap removal) happens on the slow path (:mod:`l0.runtime.checks`),
every ``CheckIntervals`` tokens. After a failure the pure :func:`l0.runtime.retry.decide` chooses
what happens (:mod:`l0.runtime.recovery`), and the loop carries it out.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

import anyio

from l0.adapters._shape import undecodable
from l0.adapters.base import Adapter, AdapterStream
from l0.adapters.registry import detect_adapter
from l0.errors import (
    AbortedError,
    TruncatedStreamError,
    ZeroOutputError,
)
from l0.events import EventName
from l0.redaction import collect_credentials
from l0.runtime import options as _options
from l0.runtime.checks import Checks
from l0.runtime.continuation import OverlapResolver
from l0.runtime.end_of_stream import read_after_end
from l0.runtime.events import Emitter
from l0.runtime.hedge import hedged_open
from l0.runtime.options import Options
from l0.runtime.recovery import on_failure
from l0.runtime.results import complete, telemetry
from l0.runtime.retry import Counters
from l0.runtime.state_machine import StateMachine
from l0.runtime.sync import warn_if_blocked
from l0.runtime.timers import Clock
from l0.runtime.watchdog import LOOP_LAG_THRESHOLD, Watchdog
from l0.types import (
    Attempt,
    Event,
    EventType,
    Result,
    State,
    Status,
    Telemetry,
)

__all__ = ["Run"]

_TOKEN = EventType.TOKEN
_log = logging.getLogger("l0")
_CLOSE_GRACE = 2.0  # seconds a provider gets to close its stream when we leave


class _NoFastPath:
    """Never instantiated: disables the loop's ``str`` fast path for an adapter."""


def _ignore(value: float) -> None:
    """The loop's clock-read recorder when not recording (never called then)."""


class Run:
    """One run: the run record and the attempt loop that owns it.

    The record is every fact about the run, kept once; the slow path
    (:class:`~l0.runtime.checks.Checks`), recovery (:mod:`l0.runtime.recovery`) and the
    result (:mod:`l0.runtime.results`) read and update it through these public attributes.

    Attributes:
        opts: The validated options (read-only).
        state: The public :class:`~l0.types.State`: content, checkpoint, token count, the
            retry counts over the whole run, the current source (``fallback_index``).
        counters: Retries made on the *current* source (reset by a fallback): what
            :func:`~l0.runtime.retry.decide` budgets against.
        attempts: Attempts started so far (the current attempt's number).
        errors: Every error met so far, in order.
        telemetry: The :class:`~l0.types.Telemetry`, filled in at the end.
        machine: The run's status (enforced transitions).
        adapter, adapter_stream: The current attempt's adapter and its open stream.
        resolver: The overlap resolver while a continued attempt restates the checkpoint.
        next_check: The token count at which the loop next takes the slow path (0: every
            token), kept by :class:`~l0.runtime.checks.Checks`.
        breaker_key: The key whose circuit breaker let the current attempt through.
        result, final_error: How the run ended.
        emitter, wd, checks, clock, now: The run's collaborators.
    """

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.state = State()
        self.machine = StateMachine()
        self.clock: Clock = opts.clock
        self.random: Callable[[], float] | None = None  # the jitter source, when recording
        handlers = opts.handlers
        # Recording (``record=``): the recorder's clock, jitter and on_event handler.
        self.rec = rec = opts.record.start(self) if opts.record is not None else None
        if rec is not None:
            self.clock = rec.clock
            self.random = rec.random
            handlers = (*handlers, rec.on_event)
        self.now = self.clock.now
        self.telemetry = Telemetry(stream_id=opts.stream_id, started_at=0.0)
        self.emitter = Emitter(
            handlers,
            stream_id=opts.stream_id,
            now=self.now,
            context=opts.context,
            telemetry=self.telemetry,
        )
        # The default timeout (no ``timeout=`` given) watches stalls by sampling: no clock
        # read per token (l0.runtime.watchdog, "Sampled mode").
        self.wd = Watchdog(
            opts.timeout,
            self.state,
            self.now,
            self.clock,
            sampled=opts.timeout is _options.DEFAULT_TIMEOUT,
        )
        self.checks = Checks(self, opts.guardrails, opts.drift, opts.check_intervals)
        self.errors: list[BaseException] = []
        self.counters = Counters()
        self.attempts = 0
        self.resolver: OverlapResolver | None = None
        self.adapter_stream: AdapterStream | None = None
        self.adapter: Adapter | None = None
        self.result: Result | None = None
        self.breaker_key: str | None = None  # the key whose breaker let this attempt through
        self.final_error: BaseException | None = None
        self.next_check = 1
        self.warned_blocking = False  # a sync factory blocked the loop (warned once per run)

    @property
    def source_index(self) -> int:
        """The current source: 0 for ``source``, then ``i + 1`` for ``fallbacks[i]``
        (``state.fallback_index``, kept once)."""
        return self.state.fallback_index

    # -- the loop ------------------------------------------------------------------------------

    async def events(self) -> AsyncGenerator[Event, None]:
        """Run every attempt; yield content events; end with COMPLETE or raise.

        The per-token loop is written out here, not in a helper generator, so that exactly
        one async generator stands between the provider and the consumer.
        """
        await self._start_session()
        status = Status.ERRORED
        state = self.state
        wd = self.wd
        now = self.now
        # Timestamp every token for an exact stall deadline (not in sampled mode).
        timed = wd.timed and not wd.sampled
        append = state._parts.append
        # Recording (``record=``): the fast path's plain tokens are read back from the
        # state's pieces when the loop next calls the recorder (``RunRecorder.leave``/
        # ``enter``), so it costs nothing per token; its timed clock read is recorded here
        # (the inner clock, then ``reads.append``: two C calls instead of the recording
        # clock's Python wrapper). Off: one ``None`` test per timed token.
        rec = self.rec
        tick = now
        tock: Callable[[float], Any] = _ignore
        if rec is not None:
            tick = rec.clock.inner_now
            tock = rec.reads.append
        hold = self.checks.checked  # checked release: tokens wait for the slow path
        try:
            delay = 0.0
            while True:
                pending: list[Event] = []
                src: AdapterStream | None = None
                n = state.token_count
                try:
                    attempt = await self._begin_attempt(delay)
                    src = await self._open(attempt)
                    decode = src.decode
                    # ``chunk.__class__ is plain`` is the fast-path test: an adapter that must
                    # see str chunks itself swaps in a class no chunk can have.
                    plain: Any = str if src.text_fast_path else _NoFastPath
                    event_cls: Any = Event if src.text_fast_path else _NoFastPath
                    next_check = self.next_check
                    n = state.token_count
                    ts = 0.0
                    if rec is not None and src.text_fast_path:
                        rec.leave()
                    async for chunk in wd.scoped(src.chunks):
                        # (An empty str takes the fast path like any other; the check it
                        # would cost is a few percent of the per-token budget.)
                        if chunk.__class__ is plain:
                            n += 1
                            if timed:
                                state.last_token_at = ts = tick()
                                if n < next_check:
                                    append(chunk)
                                    if rec is not None:
                                        tock(ts)
                                    if hold:
                                        continue
                                    yield Event(_TOKEN, chunk, None, None, ts)
                                    if wd.interrupt is not None:
                                        raise wd.interrupt
                                    continue
                                if rec is not None:
                                    tock(ts)
                            elif n < next_check:
                                append(chunk)
                                if hold:
                                    continue
                                yield Event(_TOKEN, chunk)
                                if wd.interrupt is not None:
                                    raise wd.interrupt
                                continue
                            # Slow path: first token, overlap removal, due checks.
                            state.token_count = n
                            if rec is not None:
                                await rec.token(chunk)
                            at = ts if timed else now()  # (one read per check)
                            text = await self.checks.on_token(chunk, at)
                            next_check = self.next_check
                            if self.checks.pending:  # a resumed stream restarted the answer
                                for reset in self.checks.take_pending():
                                    yield reset
                            if text:
                                yield Event(_TOKEN, text, None, None, at)
                            if rec is not None:
                                rec.leave()  # (the checked text is not a source token)
                        elif (
                            chunk.__class__ is event_cls
                            and chunk.type is _TOKEN
                            and chunk.text
                            and n + 1 < next_check
                            and not hold
                        ):
                            # An l0.Event token from the source passes through as it is.
                            n += 1
                            append(chunk.text)  # (recorded as a plain token)
                            if timed:
                                state.last_token_at = chunk.ts = now()
                            yield chunk
                        else:
                            state.token_count = n
                            if rec is not None:
                                rec.enter()
                            try:
                                decoded = decode(chunk)
                            except Exception as exc:  # never a bare error from provider data
                                raise undecodable(chunk, exc)
                            for ev in await self._decoded(decoded):
                                yield ev
                            if src.ended:
                                break  # the end marker: the attempt is complete
                            # Provider chunks: the consumer may have resumed us from
                            # another task; the watchdog must cut that one.
                            wd.rebind()
                            n = state.token_count
                            next_check = self.next_check
                            if rec is not None and plain is str:
                                rec.leave()  # (back to a text stream's fast path)
                        if wd.interrupt is not None:
                            raise wd.interrupt
                    state.token_count = n
                    if src.ended:
                        await read_after_end(src, wd, self.opts.timeout)
                    for ev in await self._finish_attempt(src):
                        yield ev
                    break
                except BaseException as exc:
                    if n > state.token_count:
                        state.token_count = n
                    decision, pending = await on_failure(self, exc)
                    delay = decision.delay
                finally:
                    wd.end_attempt()
                    if src is not None:
                        await self._close(src)
                for ev in pending:
                    yield ev
            result = await complete(self)
            status = Status.COMPLETED
            yield Event(EventType.COMPLETE, None, result, None, now())
        except GeneratorExit:
            status = Status.ABORTED
            raise
        except BaseException as exc:
            self.final_error = exc
            if isinstance(exc, (AbortedError, anyio.get_cancelled_exc_class())):
                status = Status.ABORTED
            raise
        finally:
            await self._end_session(status)

    async def _decoded(self, decoded: Event | list[Event] | None) -> list[Event]:
        """Non-``str`` chunks: route each decoded event; return those to yield."""
        if decoded is None:
            self.wd.touch()
            return []
        events = [decoded] if isinstance(decoded, Event) else decoded
        out: list[Event] = []
        for ev in events:
            if ev.type is _TOKEN:
                text = ev.text
                if not text:
                    continue
                ts = self.now()
                ev.ts = ev.ts or ts
                self.state.last_token_at = ts
                self.state.token_count += 1
                if self.state.token_count < self.next_check:
                    self.state._parts.append(text)
                    if not self.checks.checked:
                        out.append(ev)
                else:
                    kept = await self.checks.on_token(text, ts)
                    if self.checks.pending:
                        out.extend(self.checks.take_pending())
                    if kept:
                        out.append(ev if kept is text else Event(_TOKEN, kept, None, None, ts))
            else:
                self.wd.touch()
                if not ev.ts:
                    ev.ts = self.now()
                if ev.type is EventType.TOOL_CALL and self.emitter.active:
                    await self.emitter.emit(
                        EventName.TOOL_REQUESTED,
                        id=getattr(ev.data, "id", None),
                        name=getattr(ev.data, "name", None),
                        arguments=getattr(ev.data, "arguments", None),
                    )
                if ev.type is not EventType.COMPLETE:
                    out.append(ev)
        return out

    # -- attempt steps -------------------------------------------------------------------------

    async def _start_session(self) -> None:
        self.wd.start_session()
        self.state.started_at = self.now()
        self.telemetry.started_at = self.state.started_at
        if self.rec is not None:
            await self.rec.start_session()
        if self.emitter.active:
            await self.emitter.emit(
                EventName.SESSION_START,
                fallbacks=len(self.opts.sources) - 1,
                continuation=self.opts.continuation is not None,
                context=self.emitter.context,
            )

    async def _begin_attempt(self, delay: float) -> Attempt:
        """Wait out the backoff, then mark the attempt as started."""
        if delay > 0:
            remaining = self.wd.remaining_total()
            await self.wd.guard(
                self.clock.sleep(delay if remaining is None else min(delay, remaining))
            )
        if self.wd.interrupt is not None:
            raise self.wd.interrupt  # aborted before or between attempts
        expired = self.wd.expired()
        if expired is not None:
            raise expired
        self.attempts += 1
        self.emitter.attempt = self.attempts
        if self.rec is not None:
            self.rec.attempt(self.attempts, self.source_index)
        attempt = Attempt(
            number=self.attempts,
            retry_count=self.counters.total,
            fallback_index=self.source_index,
            checkpoint=self.resolver.prefix if self.resolver is not None else "",
            held_back=self.resolver.held_back if self.resolver is not None else "",
            is_retry=self.counters.total > 0,
            is_fallback=self.source_index > 0,
            continuation=self.opts.continuation,
        )
        self.machine.to(Status.ACTIVE)
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug(
                "l0 stream %s attempt %d: source=%d retry_count=%d continuation=%s",
                self.opts.stream_id,
                attempt.number,
                attempt.fallback_index,
                attempt.retry_count,
                attempt.is_continuation,
            )
        self.wd.rebind()
        self.checks.new_attempt()
        if self.emitter.active:
            await self.emitter.emit(
                EventName.ATTEMPT_START,
                number=attempt.number,
                retry_count=attempt.retry_count,
                fallback_index=attempt.fallback_index,
                is_retry=attempt.is_retry,
                is_fallback=attempt.is_fallback,
                is_continuation=attempt.is_continuation,
            )
        if self.resolver is not None and self.emitter.active:
            await self.emitter.emit(
                EventName.RESUME_START,
                checkpoint_length=len(self.state.checkpoint),
                held_back=len(attempt.held_back),
                token_count=self.state.token_count,
            )
        return attempt

    async def _open(self, attempt: Attempt) -> AdapterStream:
        """Call the source factory and find its adapter; interruptible by the watchdog."""
        breaker = self.opts.breaker
        if breaker is not None:
            key = self.opts.breaker_keys[self.source_index]
            if key is not None:
                # CircuitOpenError: fatal, the next fallback
                await self.emitter.breaker(await breaker.acquire(key))
                self.breaker_key = key
        if self.emitter.active:
            await self.emitter.emit(EventName.STREAM_INIT)
        self.wd.start_attempt()
        if self.opts.hedge is not None and not attempt.checkpoint:
            # Opened by a race with a twin attempt when the first token is late.
            src: AdapterStream = await self.wd.guard(hedged_open(self, attempt))
            adapter = self.adapter
            assert adapter is not None
        else:
            rec = self.rec
            source = self.opts.sources[self.source_index]
            started = time.perf_counter()
            obj = source(attempt) if rec is None else rec.call_source(source, attempt)
            # ``__await__`` on the type: inspect.isawaitable's ABC check costs µs per attempt.
            if getattr(type(obj), "__await__", None) is not None:
                obj = await self.wd.guard(_resolve(obj))
            elif not self.warned_blocking:
                self.warned_blocking = warn_if_blocked(started, obj, source.label)
            collect_credentials(obj)  # the key behind the stream is masked wherever l0 writes
            adapter = self.opts.adapter or detect_adapter(obj)
            self.adapter = adapter
            src = adapter.open(obj, keep_raw=self.opts.keep_raw)
            if rec is not None:
                src = rec.wrap(src, adapter.name)
        self.adapter_stream = src
        if self.emitter.active:
            await self.emitter.emit(EventName.ADAPTER_DETECTED, adapter=adapter.name)
            await self.emitter.emit(EventName.STREAM_READY)
            limits = self.opts.timeout
            if limits.initial_token is not None or limits.inter_token is not None:
                await self.emitter.emit(
                    EventName.TIMEOUT_START,
                    initial_token=limits.initial_token,
                    inter_token=limits.inter_token,
                    total=limits.total,
                )
        return src

    async def _finish_attempt(self, src: AdapterStream) -> list[Event]:
        """End-of-stream checks: overlap flush, pending events, truncation, zero output,
        final guardrails and drift. Raises to retry; returns events still to yield."""
        self.machine.to(Status.COMPLETING)
        if self.rec is not None:
            self.rec.source_ended()
        out = await self.checks.flush() if self.resolver is not None else []
        pending = src.end()
        if pending:
            out.extend(await self._decoded(pending))
        state = self.state
        if self.emitter.active:
            await self.emitter.emit(
                EventName.STREAM_END, finish_reason=src.finish_reason, token_count=state.token_count
            )
        if self.opts.detect_truncation and src.expects_end and not src.ended:
            raise TruncatedStreamError(checkpoint=state.content)
        if self.opts.detect_zero_output and not src.tool_calls:
            content = state.content
            if not content or content.isspace():
                raise ZeroOutputError()
        if self.checks.guardrails is not None or self.checks.drift is not None:
            await self.checks.final()
        if self.checks.checked:
            out.extend(self.checks.release_rest())
        return out

    async def _close(self, src: AdapterStream) -> None:
        """Close the provider stream at once, even while being cancelled."""
        if self.machine.status is Status.COMPLETING:
            # Read to its end: closing cannot block, so no shielded scope is needed.
            with contextlib.suppress(Exception):
                await src.aclose()
            return
        with anyio.move_on_after(_CLOSE_GRACE, shield=True):
            with contextlib.suppress(Exception):  # a failing close must not mask the outcome
                await src.aclose()

    # -- failures ------------------------------------------------------------------------------

    # -- completion ----------------------------------------------------------------------------

    async def _end_session(self, status: Status) -> None:
        self.wd.close()
        if not self.machine.done:
            self.machine.to(status)
        if self.result is None:
            telemetry(self, self.now())
        wd = self.wd
        # An exact replay's clock plays back the lag the live run measured (its own timers
        # are virtual and measure none); otherwise the watchdog's measurement.
        lag: tuple[float, int] | None = getattr(self.opts.clock, "recorded_loop_lag", None)
        if lag is None and wd.lag_count:
            lag = (wd.lag_max, wd.lag_count)
        if lag is not None:
            self.telemetry.loop_lag = lag[0]
            if self.emitter.active:
                await self.emitter.emit(
                    EventName.LOOP_LAG, lag=lag[0], count=lag[1], threshold=LOOP_LAG_THRESHOLD
                )
        if self.emitter.active:
            await self.emitter.emit(
                EventName.SESSION_END,
                status=self.machine.status.value,
                attempts=self.attempts,
                telemetry=self.telemetry,
                error=self.final_error,
            )
        if self.rec is not None:
            await self.rec.finish(self.machine.status)


async def _resolve(obj: Any) -> Any:
    """Await ``obj`` until it is no longer awaitable (a factory may return a coroutine)."""
    while getattr(type(obj), "__await__", None) is not None:
        obj = await obj
    return obj
