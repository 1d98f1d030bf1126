"""A :class:`~l0.integrations.fastapi.store.ResumeStore` on Redis, shared by every worker.

Each stream is a Redis stream (``XADD`` with the frame id as entry id ``<id>-0``, capped with
an exact ``MAXLEN``) plus a marker key; both expire ``ttl`` seconds after the last append.
Readers block in ``XREAD`` for new entries, so a reconnect served by another worker sees new
frames as soon as the producing worker appends them. A third key holds the stream for its
readers (:meth:`RedisResumeStore.hold`): a TTL that a Lua script only ever extends.

Connections: :meth:`RedisResumeStore.from_url` makes two *blocking* pools: when every
connection is busy a call waits (up to ``pool_timeout``) for one instead of failing at once.
``max_connections`` serve the commands that answer at once (appends, replays, opens: one
connection per call in flight); ``max_readers`` serve readers blocked in ``XREAD`` (one per
reader following a stream live, for at most :data:`MAX_BLOCK` seconds at a time), so readers
waiting for events can never starve the producers that would append them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio

try:
    import redis.asyncio as aioredis
    from redis.exceptions import ConnectionError as RedisConnectionError
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


# Extend the hold key's TTL to ARGV[1] ms unless it already lasts longer (atomic, one trip).
_HOLD = """
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 1
"""

DEFAULT_MAX_CONNECTIONS = 100
"""Default size of the command pool :meth:`RedisResumeStore.from_url` makes."""

DEFAULT_MAX_READERS = 1000
"""Default size of the pool for readers blocked in ``XREAD``."""

MAX_BLOCK = 1.0
"""Longest single ``XREAD BLOCK`` (seconds): a wait longer than this is several blocks, so a
reader gives its connection back at least this often (and stays under redis-py's default
5 s socket timeout)."""

DEFAULT_POOL_TIMEOUT = 10.0
"""Default seconds a call waits for a free pooled connection before failing."""


class _Turns:
    """First come, first served in front of a client's connection pool.

    redis-py's blocking pool lets a newcomer take a released connection ahead of the callers
    already waiting, so under contention some wait past their timeout while others pass.
    Here callers queue in arrival order (a FIFO semaphore as large as the pool) and the pool
    itself never has to wait.
    """

    def __init__(self, client: aioredis.Redis) -> None:
        pool = client.connection_pool
        size = getattr(pool, "max_connections", None)
        self.size = size if isinstance(size, int) and 0 < size < 2**31 - 1 else None
        timeout = getattr(pool, "timeout", None)  # a BlockingConnectionPool's wait limit
        self.timeout: float | None = timeout if isinstance(timeout, (int, float)) else None
        self._slots: anyio.Semaphore | None = None

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if self.size is None:
            yield
            return
        if self._slots is None:
            self._slots = anyio.Semaphore(self.size, fast_acquire=True)
        slots = self._slots
        with anyio.move_on_after(self.timeout) as waited:
            await slots.acquire()
        if waited.cancelled_caught:
            raise RedisConnectionError(
                f"No connection available: waited {self.timeout} s (pool of {self.size})"
            )
        try:
            yield
        finally:
            slots.release()


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

    Build it with :meth:`from_url` (blocking pools sized for your concurrency), or pass
    clients you configured yourself.

    Args:
        client: A ``redis.asyncio.Redis`` client created with ``decode_responses=False``
            (the default), for the commands that answer at once. Give it a
            ``redis.asyncio.BlockingConnectionPool`` (as :meth:`from_url` does): the default
            pool raises ``MaxConnectionsError`` as soon as its connections are all busy.
        ttl: Seconds a stream stays readable after its last append (default 300).
        max_events: Frames kept per stream (default 10 000).
        prefix: Key prefix (default ``"l0:sse:"``).
        readers: The client readers block on in ``XREAD`` (default ``client``). A separate
            pool keeps waiting readers from taking every connection producers need.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        ttl: float = 300.0,
        max_events: int = 10_000,
        prefix: str = "l0:sse:",
        readers: aioredis.Redis | None = None,
    ) -> None:
        if not ttl > 0:
            raise ValueError(f"RedisResumeStore ttl must be > 0 seconds, got {ttl!r}")
        if isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < 1:
            raise ValueError(f"RedisResumeStore max_events must be an int >= 1, got {max_events!r}")
        self.client = client
        self.readers = readers if readers is not None else client
        self._turns = _Turns(client)
        self._reader_turns = _Turns(self.readers) if readers is not None else self._turns
        self.ttl_ms = max(1, int(ttl * 1000))
        self.max_events = max_events
        self.prefix = prefix

        self._hold = client.register_script(_HOLD)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_readers: int = DEFAULT_MAX_READERS,
        pool_timeout: float | None = DEFAULT_POOL_TIMEOUT,
        ttl: float = 300.0,
        max_events: int = 10_000,
        prefix: str = "l0:sse:",
    ) -> RedisResumeStore:
        """A store for ``url`` (``redis://host:port/db``) on two blocking connection pools.

        Args:
            url: The Redis URL.
            max_connections: Connections for commands that answer at once (default 100):
                each append, replay, open or hold borrows one for a round trip, so a few serve
                many streams (500 concurrent streams ran on 50). More of them lower the wait
                under load.
            max_readers: Connections for readers following a stream live (default 1000): one
                per reader blocked in ``XREAD`` (a reconnect that caught up). Readers beyond it
                take turns (each block lasts at most :data:`MAX_BLOCK` seconds). The Redis
                server's ``maxclients`` (10 000 by default) bounds the sum over all workers.
            pool_timeout: Seconds a call waits for a free connection before it fails with
                ``redis.ConnectionError`` (default 10; ``None`` waits forever). A failure
                before a response started is a 503 with ``Retry-After``; after, an in-band
                error event.
            ttl: See the class.
            max_events: See the class.
            prefix: See the class.
        """
        for name, value in (("max_connections", max_connections), ("max_readers", max_readers)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {value!r}")
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value!r}")
        if pool_timeout is not None and not pool_timeout > 0:
            raise ValueError(f"pool_timeout must be > 0 seconds or None, got {pool_timeout!r}")

        def client(size: int) -> aioredis.Redis:
            pool = aioredis.BlockingConnectionPool.from_url(
                url, max_connections=size, timeout=pool_timeout
            )
            return aioredis.Redis.from_pool(pool)  # the client owns (and closes) the pool

        return cls(
            client(max_connections),
            ttl=ttl,
            max_events=max_events,
            prefix=prefix,
            readers=client(max_readers),
        )

    async def aclose(self) -> None:
        """Close the clients and their connection pools."""
        await self.client.aclose()
        if self.readers is not self.client:
            await self.readers.aclose()

    def _keys(self, stream_id: str) -> tuple[str, str]:
        base = f"{self.prefix}{stream_id}"
        return f"{base}:log", f"{base}:meta"

    async def open(self, stream_id: str) -> None:
        """Create the stream's marker key (``SET NX``)."""
        log, meta = self._keys(stream_id)
        async with self._turns.turn():
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
        async with self._turns.turn():
            await pipe.execute()

    async def read_after(self, stream_id: str, last_id: int) -> list[StoredFrame]:
        """``XRANGE`` after ``last_id``; detects unknown streams and dropped events."""
        log, meta = self._keys(stream_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.exists(meta)
        pipe.xrange(log, "-", "+", count=1)
        pipe.xrange(log, f"({last_id}-0", "+")
        async with self._turns.turn():
            exists, first, entries = await pipe.execute()
        if not exists:
            raise StreamNotFoundError(f"no stream {stream_id!r} (unknown or expired)")
        if first and last_id + 1 < _entry_id(first[0][0]):
            raise EventsExpiredError(f"events after id {last_id} were dropped")
        return [_frame(e) for e in entries]

    async def wait(self, stream_id: str, last_id: int, max_wait: float) -> bool:
        """Block in ``XREAD`` up to ``max_wait`` seconds (in blocks of at most
        :data:`MAX_BLOCK`) for an entry after ``last_id``."""
        log, _ = self._keys(stream_id)
        streams: dict[Any, Any] = {log: f"{last_id}-0"}
        deadline = time.monotonic() + max_wait
        while True:
            left = deadline - time.monotonic()
            block = max(1, int(min(left, MAX_BLOCK) * 1000))
            async with self._reader_turns.turn():
                got = await self.readers.xread(streams, count=1, block=block)
            if got:
                return True
            if left <= MAX_BLOCK:
                return False

    async def expire(self, stream_id: str) -> None:
        """Delete the stream's keys."""
        async with self._turns.turn():
            await self.client.delete(*self._keys(stream_id), self._hold_key(stream_id))

    def _hold_key(self, stream_id: str) -> str:
        return f"{self.prefix}{stream_id}:hold"

    async def tail(self, stream_id: str) -> StoredFrame | None:
        """``XREVRANGE … COUNT 1``: the newest frame."""
        log, meta = self._keys(stream_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.exists(meta)
        pipe.xrevrange(log, "+", "-", count=1)
        async with self._turns.turn():
            exists, last = await pipe.execute()
        if not exists:
            raise StreamNotFoundError(f"no stream {stream_id!r} (unknown or expired)")
        return _frame(last[0]) if last else None

    async def hold(self, stream_id: str, seconds: float) -> None:
        """Extend the hold key's TTL to ``seconds`` (never shortens it)."""
        async with self._turns.turn():
            await self._hold(keys=[self._hold_key(stream_id)], args=[max(1, int(seconds * 1000))])

    async def held(self, stream_id: str) -> float:
        """The hold key's remaining TTL, in seconds."""
        async with self._turns.turn():
            left = await self.client.pttl(self._hold_key(stream_id))
        return max(0, int(left)) / 1000.0
