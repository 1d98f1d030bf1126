"""Where resumable streams keep their events: the :class:`ResumeStore` protocol and the
in-process :class:`MemoryResumeStore`.

A store holds, per stream id, a bounded log of encoded SSE frames with increasing integer ids.
The producing run appends; any number of readers (the first connection, reconnects, other
workers with a shared store) read the frames after the id they already have, then wait for
more. The log of a stream ends with a frame marked ``final``.

Readers also keep the producing run alive: while a reader follows a stream it *holds* it
(:meth:`ResumeStore.hold`, a lease that only ever extends), and a run whose own client left
keeps going as long as someone holds it (:meth:`ResumeStore.held`) or its grace period lasts.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import anyio

__all__ = [
    "RESUME_STORE_METHODS",
    "EventsExpiredError",
    "MemoryResumeStore",
    "ResumeStore",
    "StoredFrame",
    "StreamExistsError",
    "StreamNotFoundError",
]


@dataclass(frozen=True, slots=True)
class StoredFrame:
    """One encoded SSE frame in a stream's log.

    Attributes:
        id: The frame's event id (1, 2, 3, … per stream).
        data: The encoded frame (ends with a blank line).
        final: True for the last frame of the stream.
    """

    id: int
    data: bytes
    final: bool = False


class StreamNotFoundError(LookupError):
    """No stream with this id: it never existed here, or its TTL passed."""


class EventsExpiredError(LookupError):
    """The stream exists but the events after the requested id were dropped (bounded log)."""


class StreamExistsError(ValueError):
    """A new stream was opened with the id of a stream that still exists."""


@runtime_checkable
class ResumeStore(Protocol):
    """The buffer behind resumable streams.

    Implementations must be safe for concurrent use from one event loop (and, for shared
    stores, from several processes).
    """

    async def open(self, stream_id: str) -> None:
        """Create the log of a new stream.

        Raises:
            StreamExistsError: When ``stream_id`` is in use.
        """
        ...

    async def append(self, stream_id: str, frames: Sequence[StoredFrame]) -> None:
        """Append frames (ids increasing) and wake every waiting reader."""
        ...

    async def read_after(self, stream_id: str, last_id: int) -> list[StoredFrame]:
        """Every retained frame with an id greater than ``last_id``, in order.

        Raises:
            StreamNotFoundError: Unknown or expired stream.
            EventsExpiredError: Frames right after ``last_id`` were already dropped.
        """
        ...

    async def wait(self, stream_id: str, last_id: int, max_wait: float) -> bool:
        """Wait up to ``max_wait`` seconds for a frame after ``last_id``; True if there is one."""
        ...

    async def expire(self, stream_id: str) -> None:
        """Forget the stream now."""
        ...

    async def tail(self, stream_id: str) -> StoredFrame | None:
        """The newest frame of the stream (``None`` while it has none).

        Tells a reconnect whether its id is past the end (of a finished or a running stream).

        Raises:
            StreamNotFoundError: Unknown or expired stream.
        """
        ...

    async def hold(self, stream_id: str, seconds: float) -> None:
        """Keep the stream's producing run alive for at least ``seconds`` from now.

        A lease that only extends: a shorter hold than the one in place changes nothing.
        Unknown streams are ignored.
        """
        ...

    async def held(self, stream_id: str) -> float:
        """Seconds left on the stream's hold (0.0 when none, or for an unknown stream)."""
        ...


RESUME_STORE_METHODS = ("open", "append", "read_after", "wait", "expire", "tail", "hold", "held")
"""The methods a :class:`ResumeStore` implements."""


class _Log:
    __slots__ = ("changed", "expires_at", "frames", "held_until", "last_id")

    def __init__(self, maxlen: int, expires_at: float) -> None:
        self.frames: deque[StoredFrame] = deque(maxlen=maxlen)
        self.last_id = 0
        self.expires_at = expires_at
        self.held_until = 0.0
        self.changed = anyio.Event()


def _read(log: _Log, last_id: int) -> list[StoredFrame]:
    frames = log.frames
    if not frames or last_id >= log.last_id:
        return []
    first = frames[0].id
    if last_id + 1 < first:
        raise EventsExpiredError(f"events after id {last_id} were dropped (oldest kept: {first})")
    return list(frames)[last_id + 1 - first :]


class MemoryResumeStore:
    """An in-process :class:`ResumeStore`: bounded per stream, with a TTL.

    Only the worker that runs a stream can resume it; use
    :class:`~l0.integrations.fastapi.RedisResumeStore` behind several workers.

    Args:
        ttl: Seconds a stream stays readable after its last append (default 300).
        max_events: Frames kept per stream; older ones are dropped (default 10 000).
        max_streams: Streams kept; the least recently written is dropped first (default 1000).
        now: Time source (monotonic seconds), injectable for tests.
    """

    def __init__(
        self,
        *,
        ttl: float = 300.0,
        max_events: int = 10_000,
        max_streams: int = 1000,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if not ttl > 0:
            raise ValueError(f"MemoryResumeStore ttl must be > 0 seconds, got {ttl!r}")
        for name, value in (("max_events", max_events), ("max_streams", max_streams)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"MemoryResumeStore {name} must be an int >= 1, got {value!r}")
        self.ttl = ttl
        self.max_events = max_events
        self.max_streams = max_streams
        self._now = now
        self._logs: OrderedDict[str, _Log] = OrderedDict()

    def _get(self, stream_id: str) -> _Log:
        log = self._logs.get(stream_id)
        if log is None or log.expires_at <= self._now():
            if log is not None:
                del self._logs[stream_id]
            raise StreamNotFoundError(f"no stream {stream_id!r} (unknown or expired)")
        return log

    def _sweep(self) -> None:
        now = self._now()
        for key in [k for k, log in self._logs.items() if log.expires_at <= now]:
            del self._logs[key]
        while len(self._logs) >= self.max_streams:
            self._logs.popitem(last=False)

    async def open(self, stream_id: str) -> None:
        """Create the log of a new stream (see :meth:`ResumeStore.open`)."""
        self._sweep()
        if stream_id in self._logs:
            raise StreamExistsError(f"stream {stream_id!r} already exists")
        self._logs[stream_id] = _Log(self.max_events, self._now() + self.ttl)

    async def append(self, stream_id: str, frames: Sequence[StoredFrame]) -> None:
        """Append frames and wake readers (see :meth:`ResumeStore.append`)."""
        log = self._get(stream_id)
        log.frames.extend(frames)
        if frames:
            log.last_id = frames[-1].id
        log.expires_at = self._now() + self.ttl
        self._logs.move_to_end(stream_id)
        changed, log.changed = log.changed, anyio.Event()
        changed.set()

    async def read_after(self, stream_id: str, last_id: int) -> list[StoredFrame]:
        """Frames after ``last_id`` (see :meth:`ResumeStore.read_after`)."""
        return _read(self._get(stream_id), last_id)

    async def wait(self, stream_id: str, last_id: int, max_wait: float) -> bool:
        """Wait for a frame after ``last_id`` (see :meth:`ResumeStore.wait`)."""
        log = self._get(stream_id)
        if log.last_id > last_id:
            return True
        with anyio.move_on_after(max_wait):
            await log.changed.wait()
        return log.last_id > last_id

    async def expire(self, stream_id: str) -> None:
        """Forget the stream now."""
        self._logs.pop(stream_id, None)

    async def tail(self, stream_id: str) -> StoredFrame | None:
        """The newest frame (see :meth:`ResumeStore.tail`)."""
        frames = self._get(stream_id).frames
        return frames[-1] if frames else None

    async def hold(self, stream_id: str, seconds: float) -> None:
        """Extend the stream's hold (see :meth:`ResumeStore.hold`)."""
        log = self._logs.get(stream_id)
        if log is not None:
            log.held_until = max(log.held_until, self._now() + seconds)

    async def held(self, stream_id: str) -> float:
        """Seconds left on the hold (see :meth:`ResumeStore.held`)."""
        log = self._logs.get(stream_id)
        return 0.0 if log is None else max(0.0, log.held_until - self._now())
