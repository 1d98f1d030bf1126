"""Recording a run (``l0.run(..., record=store)``): what replay needs, and no secret.

A :class:`Recorder` is given as the ``record=`` option (a :class:`~l0.runtime.record_stores.Store`
or a path is wrapped in one). Each run it records gets a :class:`RunRecorder` that hooks the
attempt loop at a few points — never per token unless recording:

- the source side: each attempt's factory call and its stream's chunks as the adapter
  decoded them (plain text tokens as they came), the adapter's end-of-stream state, and how
  the stream ended (normally, raising, or cut by l0);
- every fault as l0 classified it (type, category, code, status, ``Retry-After``, message);
- every lifecycle event, with its payload;
- the run's clock readings and jitter draws, in order (:class:`RecordingClock`), which
  replay plays back so the replayed run equals the recording byte for byte;
- the options that matter for replay (header) and the outcome (last line).

Lines are buffered (``flush_every`` items) and written at attempt boundaries; each written
batch passes through :func:`l0.redaction.redact_text`, so known credentials and key-shaped
strings never reach a store. ``content=False`` (metadata-only) keeps token lengths, not text.
The recorded stream layer is :mod:`l0.runtime.record_stream`; the header's option records are
:mod:`l0.runtime.record_options`.
"""

from __future__ import annotations

import os
import random as _random
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from l0.errors import DriftError, GuardrailViolationError, L0Error
from l0.redaction import redact_text
from l0.runtime.record_options import options_record
from l0.runtime.record_schema import (
    FORMAT,
    RESULT_REF,
    VERSION,
    dumps_batch,
    encode,
    encode_error,
    encode_result,
    encode_state,
    pack_floats,
    share_answer,
)
from l0.runtime.record_stores import FileStore, MemoryStore, RedisStore, Store
from l0.runtime.record_stream import PreDecoded, RecordingStream, _is_cut
from l0.types import ObservabilityEvent, Status

if TYPE_CHECKING:
    from l0.adapters.base import AdapterStream
    from l0.runtime.run import Run
    from l0.runtime.timers import Clock

__all__ = ["PreDecoded", "Recorder", "RecordingClock", "RunRecorder", "coerce_recorder"]

_STORES = frozenset({MemoryStore, FileStore, RedisStore})
_SCALARS = frozenset({int, float, str, bool, type(None)})


class Recorder:
    """Records runs into a store (the ``record=`` option).

    Args:
        store: Where recordings go (:class:`~l0.runtime.record_stores.MemoryStore`,
            :class:`~l0.runtime.record_stores.FileStore`,
            :class:`~l0.runtime.record_stores.RedisStore` or your own
            :class:`~l0.runtime.record_stores.Store`).
        key: The recording's key (default: the run's ``stream_id``).
        content: ``False`` for metadata-only recordings: token lengths instead of text,
            no answer text in results, events or errors.
        flush_every: Items buffered before a batch is written (attempt ends and the run's
            end write too).
        gap: A pause between two chunks longer than this (seconds) is recorded, so a replay
            with other timeouts sees the stall (default 0.25).

    Attributes:
        keys: The keys recorded so far by this recorder, in order.
    """

    def __init__(
        self,
        store: Store,
        *,
        key: str | None = None,
        content: bool = True,
        flush_every: int = 512,
        gap: float = 0.25,
    ) -> None:
        if type(store) not in _STORES and not isinstance(
            store, Store
        ):  # (a Protocol check is slow)
            raise TypeError(
                f"record= needs a store with async append()/read() (l0.MemoryStore, "
                f"l0.FileStore, l0.RedisStore); got {type(store).__name__}"
            )
        if isinstance(flush_every, bool) or not isinstance(flush_every, int) or flush_every < 1:
            raise ValueError(f"flush_every must be an int >= 1, got {flush_every!r}")
        self.store = store
        self.key = key
        self.content = bool(content)
        self.flush_every = flush_every
        self.gap = float(gap)
        self.keys: list[str] = []

    def start(self, run: Run) -> RunRecorder:
        """The recorder of one run (called by the attempt loop)."""
        key = self.key or run.opts.stream_id
        self.keys.append(key)
        return RunRecorder(self, run, key)


def coerce_recorder(value: Any) -> Recorder | None:
    """``record=`` as a :class:`Recorder`: a recorder, a store, or a path (a file store)."""
    if value is None or value is False:
        return None
    if isinstance(value, Recorder):
        return value
    if isinstance(value, (str, os.PathLike)):
        return Recorder(FileStore(value))
    return Recorder(value)


class RecordingClock:
    """The run's clock, with every reading and backoff wait recorded.

    ``timer_now`` (the watchdog's timer callbacks) is not recorded: those run when the event
    loop fires them, not in the run's own order.
    """

    def __init__(self, inner: Clock, rec: RunRecorder) -> None:
        self.inner = inner
        self.rec = rec
        reads = rec.reads
        inner_now = inner.now

        def now() -> float:
            value = inner_now()
            reads.append(value)
            return value

        self.now = now
        self.inner_now: Callable[[], float] = inner_now
        """The inner clock's reading, not recorded: a caller that records the value itself
        (the loop's per-token read, into :attr:`RunRecorder.reads`) saves a Python call."""
        self.timer_now: Callable[[], float] = getattr(inner, "timer_now", inner_now)
        subscribe = getattr(inner, "subscribe", None)
        if subscribe is not None:
            self.subscribe = subscribe

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on the inner clock; a cut wait is recorded."""
        self.rec.enter()
        self.rec.items.append({"k": "sleep", "d": seconds})
        try:
            await self.inner.sleep(seconds)
        except BaseException:
            self.rec.items.append({"k": "scut"})
            raise


class RunRecorder:
    """Records one run (created by :meth:`Recorder.start`; the attempt loop calls it)."""

    def __init__(self, recorder: Recorder, run: Run, key: str) -> None:
        self.recorder = recorder
        self.run = run
        self.key = key
        self.content = recorder.content
        self.items: list[Any] = []
        # The fast path's plain tokens: the state's pieces from ``synced`` on, read back
        # when the loop next calls in (:meth:`enter`) — the loop does nothing per token.
        self.parts = run.state._parts
        self.synced = 0
        self.inside = True  # the loop is not on a text stream's fast path
        self.reads: list[float] = []  # the clock readings since the last batch
        self.draws: list[float] = []
        self.seq = 0
        self.stream: RecordingStream | None = None  # the current attempt's
        self.clock = RecordingClock(run.opts.clock, self)
        self._last = self.clock.timer_now()
        policy_random = run.opts.retry.random or _random.random
        draws = self.draws

        def rand() -> float:
            value = float(policy_random())
            draws.append(value)
            return value

        self.random = rand

    # -- writing -------------------------------------------------------------------------------

    async def _write(self, line: dict[str, Any]) -> None:
        # (orjson: the end line holds the whole answer, several times over)
        await self.recorder.store.append(self.key, [redact_text(dumps_batch(line))])

    async def flush(self) -> None:
        """Write the buffered items, clock readings and draws as one batch line."""
        reads, draws = self.reads, self.draws
        if not (self.items or reads or draws):
            return
        text = redact_text(dumps_batch({"kind": "batch", "seq": self.seq, "items": self.items}))
        if reads or draws:
            # Numbers only (l0's own clock readings and jitter draws): appended after the
            # credential scan, which they cannot fail.
            tail = text[:-1]
            if reads:
                tail += ',"c":"' + pack_floats(reads) + '"'
            if draws:
                tail += ',"r":' + dumps_batch(draws)
            text = tail + "}"
        self.seq += 1
        self.items.clear()
        reads.clear()
        draws.clear()
        await self.recorder.store.append(self.key, [text])

    # -- the fast path's tokens ---------------------------------------------------------------

    def leave(self) -> None:
        """The loop goes (back) to a text stream's fast path: the pieces the state holds so
        far are not source tokens (checked or decoded text, a checkpoint) or were recorded;
        every piece appended from here until :meth:`enter` is a plain token as it came."""
        self.synced = len(self.parts)
        self.inside = False

    def enter(self) -> None:
        """The loop left the fast path (or a hook runs): record the plain tokens it kept
        since :meth:`leave`, in order, before anything else is recorded."""
        if not self.inside:
            self.inside = True
            self._sync()

    def _sync(self) -> None:
        parts, synced = self.parts, self.synced
        n = len(parts)
        if n > synced:
            if self.content:
                self.items.extend(parts[synced:n])
            else:
                self.items.extend(map(len, parts[synced:n]))
        self.synced = n

    # -- hooks ---------------------------------------------------------------------------------

    async def start_session(self) -> None:
        """Write the header (the options replay needs)."""
        opts = self.run.opts
        options = options_record(opts)
        if self.run.wd.sampled:
            # The default timeout's sampled stall watch (no token timestamps): replay
            # needs the same mode to read the same clock.
            options["timeout_sampled"] = True
        header = {
            "kind": "header",
            "format": FORMAT,
            "version": VERSION,
            "l0": getattr(sys.modules.get("l0"), "__version__", "unknown"),
            "stream_id": opts.stream_id,
            "content": self.content,
            "flush_every": self.recorder.flush_every,
            "gap": self.recorder.gap,
            "options": options,
            # Whether the run had listeners of its own (then it emitted CHECKPOINT_SAVED).
            "checkpoints": self.run.emitter.checkpoints,
        }
        await self._write(header)

    def attempt(self, number: int, source: int) -> None:
        """An attempt starts on source ``source``."""
        self.enter()
        self.items.append({"k": "att", "n": number, "src": source, "t": self.clock.timer_now()})

    def call_source(self, source: Callable[[Any], Any], attempt: Any) -> Any:
        """Call the source factory; a factory that raises is recorded."""
        try:
            obj = source(attempt)
        except BaseException as exc:
            self._factory_failed(exc)
            raise
        if getattr(type(obj), "__await__", None) is not None:
            return self._resolving(obj)
        return obj

    async def _resolving(self, obj: Any) -> Any:
        try:
            while getattr(type(obj), "__await__", None) is not None:
                obj = await obj
        except BaseException as exc:
            self._factory_failed(exc)
            raise
        return obj

    def _factory_failed(self, exc: BaseException) -> None:
        self.enter()
        kind = "cut" if _is_cut(exc) else "raise"
        self.items.append({"k": kind, "at": "open", "t": self.clock.timer_now()})

    def wrap(self, src: AdapterStream, adapter: str) -> AdapterStream:
        """The opened stream, recorded as it is read."""
        self.enter()
        self.items.append(
            {
                "k": "open",
                "adapter": adapter,
                "expects_end": src.expects_end,
                "fast": src.text_fast_path,
                "t": self.clock.timer_now(),
            }
        )
        self._last = self.clock.timer_now()
        self.stream = RecordingStream(src, self)
        return self.stream

    async def token(self, text: str) -> None:
        """A plain token on the loop's slow path (every check interval): recorded after the
        fast path's; the buffer is written when full."""
        self.enter()
        self.items.append(text if self.content else len(text))
        t = self.clock.timer_now()
        if t - self._last > self.recorder.gap:
            self.items.insert(len(self.items) - 1, {"k": "gap", "t": t})
        self._last = t
        if len(self.items) >= self.recorder.flush_every:
            await self.flush()

    def source_ended(self) -> None:
        """The attempt's source is exhausted (called before the end-of-stream checks, which
        may still fail the attempt: the replay must end its source at the same point)."""
        self._terminal("end")

    def _terminal(self, kind: str) -> None:
        self.enter()
        stream = self.stream
        if stream is not None and not stream._done:
            stream._done = True
            self.items.append({"k": kind, "t": self.clock.timer_now()})

    async def fault(self, exc: BaseException, err: L0Error | None, raisable: BaseException) -> None:
        """A failure as l0 classified it (``err`` ``None``: not retryable by nature)."""
        # Plain-text streams are read without a recording layer: how reading ended is
        # decided here (l0's own checks and cancellations stopped it; anything else the
        # source raised).
        self.enter()
        own = isinstance(exc, (GuardrailViolationError, DriftError)) or _is_cut(exc)
        self._terminal("cut" if own else "raise")
        self.stream = None
        entry: dict[str, Any] = {"k": "fault", "err": encode_error(raisable, self.content)}
        if err is None:
            entry["internal"] = True
        self.items.append(entry)
        await self.flush()

    def on_event(self, event: ObservabilityEvent) -> None:
        """Record one lifecycle event (a passive ``on_event`` handler of the run: recording
        alone does not turn on ``CHECKPOINT_SAVED``). An event emitted while the loop is on
        the fast path (a timer's) comes after the tokens kept so far, which stay pending."""
        if not self.inside:
            self._sync()
        data: Any = event.data
        if "result" in data and event.name == "COMPLETE":
            # The result is the end line's (written once: it holds the whole answer).
            data = encode({k: v for k, v in data.items() if k != "result"}, self.content)
            data["result"] = RESULT_REF
        elif any(value.__class__ not in _SCALARS for value in data.values()):
            data = encode(data, self.content)
        else:  # the common case (checkpoints): scalars only, stored as they are
            data = dict(data)
        self.items.append(
            {
                "k": "life",
                "n": event.name,
                "a": event.attempt,
                "s": event.seq,
                "ts": event.ts,
                "d": data,
            }
        )

    on_event.l0_passive = True  # type: ignore[attr-defined]

    async def finish(self, status: Status) -> None:
        """Write the outcome: status, result or final error, state (last line)."""
        self.enter()
        self._terminal("cut")  # the consumer left in the middle of an attempt
        await self.flush()
        run = self.run
        line: dict[str, Any] = {"kind": "end", "status": status.value}
        if run.result is not None:
            line["result"] = encode_result(run.result, self.content)
        else:
            line["state"] = encode_state(run.state, self.content)
        if run.final_error is not None:
            line["error"] = encode_error(run.final_error, self.content)
        line["telemetry"] = encode(run.telemetry, self.content)
        await self._write(share_answer(line))
