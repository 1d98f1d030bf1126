"""Playback: a recording's source side, played back to the real attempt loop.

:class:`_Player` hands :func:`~l0.recordings.player.replay` one factory per recorded source;
each call returns the next recorded attempt, which :class:`ReplayAdapter` opens as a
:class:`_PlayedStream` yielding the recorded chunks and ending as the attempt did (normally, with
its recorded fault, or cut where the live run stopped reading). The clocks are here too:
:class:`_ExactClock` plays back the recorded readings and the backoff waits the live run's
deadline cut (:func:`_sleep_cuts`); :class:`_VirtualClock` follows the recorded arrival times
when replaying with overrides. Where the replay needs what the recording does not have, it
raises :class:`ReplayDivergedError`.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio.lowlevel

from l0.adapters.base import AdapterStream, Decoded
from l0.errors import AbortedError, ErrorCategory, L0Error, StreamTimeoutError
from l0.recordings.recording import AttemptRecord, Recording
from l0.runtime.record_schema import decode_error, decode_event, decode_value
from l0.testing.clock import FakeClock
from l0.types import Event

__all__ = ["ReplayAdapter", "ReplayDivergedError"]

_PAST = 1e-9  # seconds past a deadline the replayed clock moves to
_TURNS = 16  # loop turns a due deadline gets before time moves on
_HANG_LIMIT = 3600.0  # virtual seconds a replayed stall may last before replay gives up


# Both errors go by l0.recordings.player (set there): recordings name them by that module.
class ReplayDivergedError(L0Error):
    """The replay needs what the recording does not have: the live run stopped reading a
    stream here (or never opened this source), and the replay went further."""

    default_category = ErrorCategory.INTERNAL


class _ReplayCutError(Exception):
    """The live run stopped reading after the end marker; replay stops the same way."""

    _l0_replay_cut = True


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

    def next_deadline(self) -> float | None:
        """The nearest deadline of the watchdogs watching this clock (``None``: none)."""
        best: float | None = None
        for listener in self._listeners:
            deadline = getattr(getattr(listener, "__self__", None), "next_deadline", None)
            d = deadline() if deadline is not None else None
            if d is not None and (best is None or d[0] < best):
                best = d[0]
        return best


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
            clock = self.clock
            start = clock.time
            idle = 0
            while clock.time - start < _HANG_LIMIT:
                await anyio.lowlevel.checkpoint()
                due = clock.next_deadline() if isinstance(clock, _VirtualClock) else None
                if due is None:
                    clock.advance(_HANG_LIMIT)  # nothing would ever cut it
                elif due > clock.time:
                    # Straight to the deadline (a hair past it: float sums), so the replay's
                    # timeout reports the wait its limit allows, not a coarse step's.
                    clock.advance(due - clock.time + _PAST)
                    idle = 0
                else:  # due: the watchdog cuts within a few loop turns
                    idle += 1
                    clock.advance(0.0 if idle < _TURNS else 1.0)
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
