"""Replay: re-drive a recorded run through the real attempt loop, with no network.

The recorded source side is played back (each attempt's chunks, its faults at the same
points); everything else — retry decisions, continuation and overlap removal, guardrails,
drift, the events — runs for real. Without behaviour overrides the clock is the recorded one
(its readings and jitter draws are played back in order), so the replay equals the recording
byte for byte (:meth:`Recording.canonical`). With overrides (``retry=``, ``timeout=``,
``guardrails=``, ``continuation=``, …) time is virtual and follows the recorded arrival
times: a 30 s stall replays instantly, and the answer shows what *would* have happened.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.lowlevel

from l0.adapters.base import AdapterStream, Decoded
from l0.errors import AbortedError, ErrorCategory, L0Error, StreamTimeoutError
from l0.recordings.recording import AttemptRecord, Recording, load_recording
from l0.runtime.options import DEFAULT_TIMEOUT
from l0.runtime.record_schema import decode_error, decode_event, decode_value
from l0.runtime.record_stores import MemoryStore
from l0.runtime.recording import Recorder
from l0.testing.clock import FakeClock
from l0.types import (
    CheckIntervals,
    Continuation,
    Event,
    ObservabilityEvent,
    Result,
    Retry,
    Timeout,
)

__all__ = ["OVERRIDES", "ReplayDivergedError", "ReplayResult", "replay"]

OVERRIDES = frozenset(
    {
        "retry",
        "timeout",
        "guardrails",
        "drift",
        "continuation",
        "check_intervals",
        "detect_zero_output",
        "detect_truncation",
        "on_event",
    }
)
"""The options :func:`replay` accepts; all but ``on_event`` change behaviour."""

_HANG_LIMIT = 3600.0  # virtual seconds a replayed stall may last before replay gives up


class ReplayDivergedError(L0Error):
    """The replay needs what the recording does not have: the live run stopped reading a
    stream here (or never opened this source), and the replay went further."""

    default_category = ErrorCategory.INTERNAL


class _ReplayCutError(Exception):
    """The live run stopped reading after the end marker; replay stops the same way."""

    _l0_replay_cut = True


@dataclass
class ReplayResult:
    """What a replay produced.

    Attributes:
        result: The :class:`l0.Result`, when the replayed run completed.
        error: The final error, when it failed.
        events: Every stream event the replay yielded (tokens, resets, …, ``COMPLETE``).
        lifecycle: Every lifecycle event, in order.
        recording: The replay's own recording.
        original: The recording replayed.
        exact: True when replayed without behaviour overrides (recorded clock).
        identical: Whether the replay equals the original byte for byte (``None`` with
            overrides, or for a metadata-only recording).
        first_difference: With ``identical`` False, ``(index, original item, replayed
            item)`` of the first canonical item that differs.
    """

    result: Result | None
    error: BaseException | None
    events: list[Event]
    lifecycle: list[ObservabilityEvent]
    recording: Recording
    original: Recording
    exact: bool
    identical: bool | None = None
    first_difference: tuple[int, str | None, str | None] | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str | None:
        """The final text (``None`` when the replayed run failed)."""
        return self.result.text if self.result is not None else None

    @property
    def status(self) -> str:
        """The replayed run's status."""
        return self.recording.status

    @property
    def diverged(self) -> ReplayDivergedError | None:
        """Why the replay could not say what would have happened, or ``None``.

        Set when the replay needed what the recording does not have (more attempts of a
        source than were recorded, a fallback that never ran, tokens after the point where
        the live run stopped reading). The run's final error may wrap it (e.g. a
        ``RetriesExhaustedError`` whose last error it is); this finds it either way.
        """
        seen: list[BaseException] = [self.error] if self.error is not None else []
        while seen:
            err = seen.pop()
            if isinstance(err, ReplayDivergedError):
                return err
            seen.extend(getattr(err, "errors", None) or ())
            linked = (getattr(err, "last_error", None), err.__cause__)
            seen.extend(e for e in linked if isinstance(e, BaseException))
        return None


class _ExactClock:
    """The recorded clock: readings and cut waits played back in order."""

    def __init__(self, rec: Recording, cuts: dict[int, BaseException]) -> None:
        self._reads = rec.reads
        self._i = 0
        self._cuts = cuts
        self._sleeps = 0
        self.last = rec.reads[0] if rec.reads else 0.0
        self.overrun = 0
        # The machine's event-loop lag the live run measured, played back at its end.
        self.recorded_loop_lag: tuple[float, int] | None = None
        for item in rec.items:
            if isinstance(item, dict) and item.get("n") == "LOOP_LAG":
                data = item.get("d") or {}
                self.recorded_loop_lag = (float(data.get("lag", 0.0)), int(data.get("count", 1)))

    def now(self) -> float:
        i = self._i
        if i < len(self._reads):
            self._i = i + 1
            self.last = self._reads[i]
            return self.last
        self.overrun += 1
        return self.last

    def timer_now(self) -> float:
        # Deadlines never fire by themselves: recorded timeouts are re-raised where they hit.
        return -math.inf

    async def sleep(self, seconds: float) -> None:
        k = self._sleeps
        self._sleeps += 1
        cut = self._cuts.get(k)
        if cut is not None:
            raise cut
        await anyio.lowlevel.checkpoint()


class _VirtualClock(FakeClock):
    """Virtual time that follows the recorded arrival times (replay with overrides)."""

    def timer_now(self) -> float:
        return self.time

    def move_to(self, t: float) -> None:
        if t > self.time:
            self.advance(t - self.time)


class _Player:
    """Plays a recording's source side: one factory per recorded source."""

    def __init__(self, rec: Recording, exact: bool, clock: Any) -> None:
        self.rec = rec
        self.exact = exact
        self.clock = clock
        self.by_source: dict[int, list[AttemptRecord]] = {}
        attempts = rec.attempts()
        for att in attempts:
            self.by_source.setdefault(att.source, []).append(att)
        self.used: dict[int, int] = {}
        # The consumer left the live run in the middle of its last attempt (status aborted,
        # reading cut, no fault): the replay's consumer leaves once that attempt's last
        # recorded chunk has been read (:meth:`consumer_left`).
        last = attempts[-1] if attempts else None
        self.left_in: AttemptRecord | None = (
            last
            if last is not None
            and rec.status == "aborted"
            and (last.terminal or {}).get("k") == "cut"
            and last.fault is None
            and last.open is not None
            else None
        )
        self.drained: AttemptRecord | None = None  # the attempt whose last chunk was read

    def consumer_left(self) -> bool:
        """Whether the live run's consumer had left at this point (see ``left_in``)."""
        return self.left_in is not None and self.drained is self.left_in

    def factory(self, index: int) -> Callable[[], Any]:
        def source() -> Any:
            played = self.by_source.get(index)
            if not played:
                raise ReplayDivergedError(f"{_name(index)} never ran in the recording")
            n = self.used.get(index, 0)
            self.used[index] = n + 1
            if n >= len(played):
                raise ReplayDivergedError(
                    f"{_name(index)} made {len(played)} attempt(s) in the recording; the "
                    f"replay wants attempt {n + 1}, which the recording does not have"
                )
            att = played[n]
            if not self.exact and isinstance(self.clock, _VirtualClock):
                self._offset = self.clock.time - att.t
            if att.open is None:
                return self._fail_open(att)
            return _Played(att, self)

        return source

    _offset = 0.0

    def at(self, t: Any) -> None:
        """Virtual time follows a recorded arrival time (replay with overrides)."""
        if not self.exact and isinstance(self.clock, _VirtualClock) and t is not None:
            self.clock.move_to(float(t) + self._offset)

    def fault(self, att: AttemptRecord) -> BaseException:
        if att.fault is None:
            return ReplayDivergedError(
                f"attempt {att.number}: the recording stops here (its writer died)"
            )
        return decode_error(att.fault["err"])

    def _fail_open(self, att: AttemptRecord) -> Any:
        terminal = att.terminal or {}
        if terminal.get("k") == "cut":
            return self.cut(att)
        raise self.fault(att)

    async def cut(self, att: AttemptRecord, *, post_end: bool = False) -> Any:
        """The live run stopped reading here: what the replay does when it gets here."""
        if post_end:
            raise _ReplayCutError("the live run stopped reading after the end marker")
        err = self.fault(att)
        if self.exact and isinstance(err, (StreamTimeoutError, AbortedError)):
            setattr(err, "_l0_replay_cut", True)  # noqa: B010 - a marker on a foreign object
            raise err
        if not self.exact and isinstance(err, StreamTimeoutError):
            # A stall: let the replay's own deadlines decide (the watchdog cuts us).
            self.at((att.terminal or {}).get("t"))
            waited = 0.0
            step = 1.0
            while waited < _HANG_LIMIT:
                await anyio.lowlevel.checkpoint()
                self.clock.advance(step)
                waited += step
                step = min(step * 2, 600.0)
            await anyio.lowlevel.checkpoint()
            raise ReplayDivergedError(
                f"attempt {att.number} stalled here and the live run cut it ({err}); the "
                f"replay's timeouts let it wait over {_HANG_LIMIT:g} s"
            )
        raise ReplayDivergedError(
            f"attempt {att.number}: the live run stopped reading here ({type(err).__name__}: "
            f"{err}); the replay read further, which the recording does not have"
        )


def _name(index: int) -> str:
    return "source" if index == 0 else f"fallbacks[{index - 1}]"


class _Played:
    """The object a replayed factory returns (opened by :class:`ReplayAdapter`)."""

    def __init__(self, att: AttemptRecord, player: _Player) -> None:
        self.att = att
        self.player = player


class _Chunk:
    __slots__ = ("item",)

    def __init__(self, item: dict[str, Any]) -> None:
        self.item = item


class ReplayAdapter:
    """Opens replayed attempts; reports the recorded adapter's name."""

    def __init__(self) -> None:
        self.name = "replay"

    def detect(self, obj: object) -> bool:
        return isinstance(obj, _Played)

    def open(self, obj: object, *, keep_raw: bool = False) -> AdapterStream:
        assert isinstance(obj, _Played)
        assert obj.att.open is not None
        self.name = str(obj.att.open.get("adapter", "replay"))
        return _PlayedStream(obj)

    def map_error(self, exc: BaseException) -> L0Error | None:
        # Faults were recorded as l0 classified them: raised as they are.
        return exc if isinstance(exc, L0Error) else None


class _PlayedStream(AdapterStream):
    def __init__(self, played: _Played) -> None:
        super().__init__(self._chunks())
        self.att = played.att
        self.player = played.player
        opened = played.att.open or {}
        self.expects_end = bool(opened.get("expects_end", False))
        self.text_fast_path = bool(opened.get("fast", True))

    async def _chunks(self) -> AsyncIterator[Any]:
        player = self.player
        last = len(self.att.body) - 1
        for i, item in enumerate(self.att.body):
            if i == last:
                player.drained = self.att
            if item.__class__ is str:
                yield item
            elif item.__class__ is int:
                yield "·" * item
            else:
                k = item.get("k")
                if k == "gap":
                    player.at(item.get("t"))
                elif k == "evt":
                    yield decode_event(item["e"])
                else:
                    yield _Chunk(item)
        terminal = self.att.terminal or {}
        player.at(terminal.get("t"))
        kind = terminal.get("k")
        if kind == "end":
            return
        if kind == "raise":
            raise player.fault(self.att)
        await player.cut(self.att, post_end=self.ended)

    def _apply(self, changes: dict[str, Any] | None) -> None:
        if not changes:
            return
        if "ended" in changes:
            self.ended = bool(changes["ended"])
        if "finish_reason" in changes:
            self.finish_reason = changes["finish_reason"]
        if "usage" in changes:
            self.usage = decode_value(changes["usage"])
        if "tool_calls" in changes:
            self.tool_calls = list(decode_value(changes["tool_calls"]) or [])
        if "expects_end" in changes:
            self.expects_end = bool(changes["expects_end"])

    def decode(self, chunk: Any) -> Decoded:
        if isinstance(chunk, Event):
            return chunk  # a token event passed through (the text adapter's rule)
        item = chunk.item
        self._apply(item.get("s"))
        self.player.at(item.get("t"))
        e = item.get("e")
        if e is None:
            return None
        if isinstance(e, list):
            return [decode_event(x) for x in e]
        return decode_event(e)

    def end(self) -> list[Event]:
        pending = self.att.pending
        if pending is None:
            return []
        self._apply(pending.get("s"))
        return [decode_event(x) for x in pending.get("e", ())]

    async def aclose(self) -> None:
        return None


def _sleep_cuts(rec: Recording) -> dict[int, BaseException]:
    """Backoff waits the live run's total deadline cut: wait index -> the error."""
    cuts: dict[int, BaseException] = {}
    index = -1
    pending: int | None = None
    for item in rec.items:
        if not isinstance(item, dict):
            continue
        k = item.get("k")
        if k == "sleep":
            index += 1
        elif k == "scut":
            pending = index
        elif k == "fault" and pending is not None:
            err = decode_error(item["err"])
            setattr(err, "_l0_replay_cut", True)  # noqa: B010 - a marker on a foreign object
            cuts[pending] = err
            pending = None
    return cuts


def _retry(data: dict[str, Any], random: Callable[[], float]) -> Retry:
    fields = dict(data)
    if fields.get("retry_on") == "callable":
        raise ValueError(
            "the recording's retry policy used a retry_on predicate, which a recording cannot "
            "hold: pass retry=l0.Retry(...) to l0.replay"
        )
    fields["random"] = random
    known = {f.name for f in dataclasses.fields(Retry)}
    return Retry(**{k: v for k, v in fields.items() if k in known})


def _guardrails(identity: Any) -> Any:
    if not identity:
        return ()
    import l0.guardrails as g

    rules = []
    for rule in identity:
        factory = getattr(g, f"{rule.get('name')}_rule", None)
        made = factory() if callable(factory) else None
        if made is None or repr(made) != rule.get("repr"):
            raise ValueError(
                f"the recording used guardrail rule {rule.get('repr')!r}, which replay cannot "
                "rebuild by itself: pass guardrails=[...] to l0.replay"
            )
        rules.append(made)
    return rules


def _drift(identity: Any) -> Any:
    if identity is None:
        return None
    from l0.drift import DriftDetector
    from l0.runtime.recording import _detector_repr

    made = DriftDetector()
    if identity.get("type") != "DriftDetector" or identity.get("repr") != _detector_repr(made):
        raise ValueError(
            f"the recording used drift detector {identity.get('repr')!r}, which replay cannot "
            "rebuild by itself: pass drift=... to l0.replay"
        )
    return made


def _check_overrides(overrides: dict[str, Any]) -> None:
    for name in overrides:
        if name not in OVERRIDES:
            close = difflib.get_close_matches(name, sorted(OVERRIDES), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TypeError(
                f"l0.replay() got an unknown override {name!r}{hint} (replay accepts: "
                f"{', '.join(sorted(OVERRIDES))})"
            )


async def replay(recording: Any, key: str | None = None, **overrides: Any) -> ReplayResult:
    """Replay a recorded run with no network (docs/replay.md).

    Args:
        recording: A :class:`Recording`, a path, a ``redis://…/KEY`` URL, or a store (then
            ``key`` names the recording).
        key: The recording's key in a store or a directory of recordings.
        **overrides: ``retry``, ``timeout``, ``guardrails``, ``drift``, ``continuation``,
            ``check_intervals``, ``detect_zero_output``, ``detect_truncation`` (what would
            have happened with these), and ``on_event`` (observe the replay).

    Returns:
        The :class:`ReplayResult`. Without overrides, ``identical`` says whether the replay
        equals the recording byte for byte.

    Raises:
        TypeError: An unknown override (the closest valid one is named).
        ValueError: Not a recording, or an option replay cannot rebuild (named, with the
            override to pass).
    """
    _check_overrides(overrides)
    rec = await load_recording(recording, key)
    opts = rec.options
    exact = not (set(overrides) - {"on_event"})
    draws = list(rec.draws)

    def random() -> float:
        return draws.pop(0) if draws else 0.5

    clock: Any = (
        _ExactClock(rec, _sleep_cuts(rec))
        if exact
        else _VirtualClock(rec.reads[0] if rec.reads else 0.0)
    )
    player = _Player(rec, exact, clock)
    n_sources = max(int(opts.get("sources", 1)), 1)
    factories = [player.factory(i) for i in range(n_sources)]
    store = MemoryStore()
    recorder = Recorder(
        store,
        key=rec.stream_id,
        content=bool(rec.header.get("content", True)),
        flush_every=int(rec.header.get("flush_every", 512)),
        gap=float(rec.header.get("gap", 0.25)),
    )
    lifecycle: list[ObservabilityEvent] = []
    user_on_event = overrides.get("on_event")

    async def observe(event: ObservabilityEvent) -> None:
        lifecycle.append(event)
        if user_on_event is not None:
            result = user_on_event(event)
            if hasattr(result, "__await__"):
                await result

    # A listener turns on CHECKPOINT_SAVED: the replay's observer does when the live run had
    # listeners of its own (recordings without the flag predate passive recording).
    observe.l0_passive = not rec.header.get("checkpoints", True)  # type: ignore[attr-defined]

    cont = opts.get("continuation")
    run_opts: dict[str, Any] = {
        "fallbacks": factories[1:],
        "retry": overrides.get("retry") or _retry(opts["retry"], random),
        "timeout": overrides.get("timeout")
        or (DEFAULT_TIMEOUT if opts.get("timeout_sampled") else Timeout(**opts["timeout"])),
        "continuation": overrides.get("continuation", Continuation(**cont) if cont else False),
        "check_intervals": overrides.get("check_intervals")
        or CheckIntervals(**opts["check_intervals"]),
        "detect_zero_output": overrides.get("detect_zero_output", opts["detect_zero_output"]),
        "detect_truncation": overrides.get("detect_truncation", opts["detect_truncation"]),
        "guardrails": overrides["guardrails"]
        if "guardrails" in overrides
        else _guardrails(opts.get("guardrails")),
        "drift": overrides["drift"] if "drift" in overrides else _drift(opts.get("drift")),
        "context": decode_value(opts.get("context")) or None,
        "adapter": ReplayAdapter(),
        "clock": clock,
        "stream_id": rec.stream_id,
        "record": recorder,
        "on_event": observe,
    }
    if "retry" in overrides and overrides["retry"].random is None:
        run_opts["retry"] = dataclasses.replace(overrides["retry"], random=random)
    from l0.core import stream

    events: list[Event] = []
    result: Result | None = None
    error: BaseException | None = None
    try:
        left = False
        async with stream(factories[0], **run_opts) as s:
            async for ev in s:
                events.append(ev)
                if exact and player.consumer_left():
                    left = True  # where the live run's consumer left: no result, no error
                    break
        if not left:
            result = s.result
    except Exception as exc:
        error = exc
    replayed = Recording.from_lines(await store.read(rec.stream_id), "replay")
    out = ReplayResult(
        result=result,
        error=error,
        events=events,
        lifecycle=lifecycle,
        recording=replayed,
        original=rec,
        exact=exact,
        overrides=dict(overrides),
    )
    if exact and rec.header.get("content", True):
        a, b = rec.canonical(), replayed.canonical()
        out.identical = a == b
        if a != b:
            i = next((j for j, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
            if i is None:
                i = min(len(a), len(b))
            out.first_difference = (i, a[i] if i < len(a) else None, b[i] if i < len(b) else None)
    return out
