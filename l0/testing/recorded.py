"""A recording as a test source: a production incident becomes a regression test.

::

    from l0.testing import recorded_source

    async def test_the_3am_incident():
        source = recorded_source("tests/recordings/incident.jsonl")
        result = await l0.run(source, fallbacks=source.fallbacks, retry=l0.Retry(base_delay=0))
        assert result.text == source.recording.text

Each call of the factory plays the next recorded attempt of that source (the last repeats):
its chunks as the adapter decoded them (text tokens, tool calls, usage, the end marker — a
provider stream that ended without one is a truncation again, unless the run's
``detect_truncation`` is off), then its fault exactly as l0 classified it (a 429 with its
``Retry-After``, a drop, a provider error). A stall the live run's timeout cut raises that
:class:`l0.StreamTimeoutError` at the same point (or, given a :class:`~l0.testing.FakeClock`,
stalls on it, so your timeout decides). ``pytest_plugins = ["l0.testing.plugin"]`` adds the
``recorded`` fixture.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import anyio.lowlevel

from l0.errors import StreamTimeoutError
from l0.recordings.recording import AttemptRecord, Recording, read_recording
from l0.runtime.record_schema import decode_error, decode_event, decode_value
from l0.testing.clock import FakeClock
from l0.types import Attempt, Event, EventType

__all__ = ["RecordedSource", "recorded_source"]


class RecordedSource:
    """A source factory playing the recorded attempts of one source of a recording.

    Attributes:
        recording: The :class:`l0.Recording`.
        index: Which source: 0 for the run's source, ``i + 1`` for ``fallbacks[i]``.
        fallbacks: Factories for the recording's other sources (pass as ``fallbacks=``).
        calls: How many attempts called this factory.
    """

    def __init__(
        self, recording: Recording, index: int = 0, *, clock: FakeClock | None = None
    ) -> None:
        self.recording = recording
        self.index = index
        self.clock = clock
        self.attempts = [a for a in recording.attempts() if a.source == index]
        self.calls = 0
        self.fallbacks: list[RecordedSource] = []
        if index == 0:
            n = max(int(recording.options.get("sources", 1)), 1)
            self.fallbacks = [RecordedSource(recording, i, clock=clock) for i in range(1, n)]

    def __call__(self, attempt: Attempt) -> _PlayedAttempt:
        if not self.attempts:
            raise LookupError(f"source {self.index} never ran in the recording")
        att = self.attempts[min(self.calls, len(self.attempts) - 1)]
        self.calls += 1
        if att.open is None:
            raise self._fault(att)
        return _PlayedAttempt(self._play(att), bool(att.open.get("expects_end", False)))

    def _fault(self, att: AttemptRecord) -> BaseException:
        if att.fault is None:
            return LookupError(f"attempt {att.number}: the recording stops inside it")
        return decode_error(att.fault["err"])

    async def _play(self, att: AttemptRecord) -> AsyncIterator[str | Event]:
        ended = False
        for item in att.body:
            if item.__class__ is str:
                yield item
            elif item.__class__ is int:
                yield "·" * item
            elif item.get("k") == "evt":
                yield decode_event(item["e"])
            elif item.get("k") == "ev":
                changes = item.get("s") or {}
                e = item.get("e")
                for ev in [] if e is None else e if isinstance(e, list) else [e]:
                    yield decode_event(ev)
                if changes.get("ended"):
                    ended = True
                    usage = decode_value(changes.get("usage"))
                    data = {"finish_reason": changes.get("finish_reason"), "usage": usage}
                    yield Event(EventType.COMPLETE, None, data)
        terminal = (att.terminal or {}).get("k")
        if terminal == "end" or ended:
            # (Ended without its end marker: the run's own truncation check decides, as live.)
            return
        err = self._fault(att)
        if terminal == "cut" and isinstance(err, StreamTimeoutError) and self.clock is not None:
            for _ in range(64):  # stall on the fake clock: the run's own timeout cuts it
                await anyio.lowlevel.checkpoint()
                self.clock.advance(60.0)
        raise err


class _PlayedAttempt:
    """One recorded attempt as a text source; ``l0_expects_end`` when the recorded provider
    stream had an end marker (its ``COMPLETE``), so a truncation happens again."""

    __slots__ = ("_chunks", "l0_expects_end")

    def __init__(self, chunks: AsyncIterator[str | Event], expects_end: bool) -> None:
        self._chunks = chunks
        self.l0_expects_end = expects_end

    def __aiter__(self) -> AsyncIterator[str | Event]:
        return self._chunks


def recorded_source(
    recording: Recording | str | os.PathLike[str],
    *,
    key: str | None = None,
    clock: FakeClock | None = None,
) -> RecordedSource:
    """A source factory (with ``.fallbacks``) whose attempts fail exactly as recorded.

    Args:
        recording: A :class:`l0.Recording` or a path (a ``.jsonl`` file or a directory).
        key: The recording's key in a directory of recordings.
        clock: A fake clock to stall on where the live run was cut by a timeout.
    """
    if not isinstance(recording, Recording):
        recording = read_recording(recording, key)
    return RecordedSource(recording, 0, clock=clock)
