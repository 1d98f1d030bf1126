"""A :class:`~l0.integrations.fastapi.store.ResumeStore` on Redis, shared by every worker.

Each stream is a Redis stream (``XADD`` with the frame id as entry id ``<id>-0``, capped with
an exact ``MAXLEN``) plus a marker key; both expire ``ttl`` seconds after the last append.
Readers block in ``XREAD`` for new entries, so a reconnect served by another worker sees new
frames as soon as the producing worker appends them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

try:
    import redis.asyncio as aioredis
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "RedisResumeStore needs redis: pip install 'l0[all]' (or pip install redis)"
    ) from exc

from l0.integrations.fastapi.store import (
    EventsExpiredError,
    StoredFrame,
    StreamExistsError,
    StreamNotFoundError,
)

__all__ = ["RedisResumeStore"]


def _entry_id(raw: Any) -> int:
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return int(text.split("-", 1)[0])


def _frame(entry: tuple[Any, dict[Any, Any]]) -> StoredFrame:
    raw_id, fields = entry
    return StoredFrame(
        id=_entry_id(raw_id), data=bytes(fields[b"d"]), final=fields.get(b"f") == b"1"
    )


class RedisResumeStore:
    """A shared :class:`~l0.integrations.fastapi.store.ResumeStore` on Redis.

    Args:
        client: A ``redis.asyncio.Redis`` client created with ``decode_responses=False``
            (the default).
        ttl: Seconds a stream stays readable after its last append (default 300).
        max_events: Frames kept per stream (default 10 000).
        prefix: Key prefix (default ``"l0:sse:"``).
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        ttl: float = 300.0,
        max_events: int = 10_000,
        prefix: str = "l0:sse:",
    ) -> None:
        if not ttl > 0:
            raise ValueError(f"RedisResumeStore ttl must be > 0 seconds, got {ttl!r}")
        if isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < 1:
            raise ValueError(f"RedisResumeStore max_events must be an int >= 1, got {max_events!r}")
        self.client = client
        self.ttl_ms = max(1, int(ttl * 1000))
        self.max_events = max_events
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisResumeStore:
        """A store on a new client for ``url`` (``redis://host:port/db``)."""
        return cls(aioredis.Redis.from_url(url), **kwargs)

    def _keys(self, stream_id: str) -> tuple[str, str]:
        base = f"{self.prefix}{stream_id}"
        return f"{base}:log", f"{base}:meta"

    async def open(self, stream_id: str) -> None:
        """Create the stream's marker key (``SET NX``)."""
        log, meta = self._keys(stream_id)
        created = await self.client.set(meta, b"1", nx=True, px=self.ttl_ms)
        if not created:
            raise StreamExistsError(f"stream {stream_id!r} already exists")
        await self.client.delete(log)

    async def append(self, stream_id: str, frames: Sequence[StoredFrame]) -> None:
        """``XADD`` every frame and refresh both keys' TTL, in one round trip."""
        if not frames:
            return
        log, meta = self._keys(stream_id)
        pipe = self.client.pipeline(transaction=False)
        for frame in frames:
            fields: dict[Any, Any] = {b"d": frame.data, b"f": b"1" if frame.final else b"0"}
            pipe.xadd(log, fields, id=f"{frame.id}-0", maxlen=self.max_events, approximate=False)
        pipe.pexpire(log, self.ttl_ms)
        pipe.pexpire(meta, self.ttl_ms)
        await pipe.execute()

    async def read_after(self, stream_id: str, last_id: int) -> list[StoredFrame]:
        """``XRANGE`` after ``last_id``; detects unknown streams and dropped events."""
        log, meta = self._keys(stream_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.exists(meta)
        pipe.xrange(log, "-", "+", count=1)
        pipe.xrange(log, f"({last_id}-0", "+")
        exists, first, entries = await pipe.execute()
        if not exists:
            raise StreamNotFoundError(f"no stream {stream_id!r} (unknown or expired)")
        if first and last_id + 1 < _entry_id(first[0][0]):
            raise EventsExpiredError(f"events after id {last_id} were dropped")
        return [_frame(e) for e in entries]

    async def wait(self, stream_id: str, last_id: int, max_wait: float) -> bool:
        """Block in ``XREAD`` up to ``max_wait`` seconds for an entry after ``last_id``."""
        log, _ = self._keys(stream_id)
        block = max(1, int(max_wait * 1000))
        got = await self.client.xread({log: f"{last_id}-0"}, count=1, block=block)
        return bool(got)

    async def expire(self, stream_id: str) -> None:
        """Delete both keys."""
        await self.client.delete(*self._keys(stream_id))
