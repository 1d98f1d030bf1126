"""Where recordings go: the :class:`Store` protocol, in memory, JSON Lines files, Redis.

A store keeps, per key (the run's ``stream_id`` unless the recorder names one), an
append-only sequence of recording lines (:mod:`l0.runtime.record_schema`). The recorder
appends whole lines a batch at a time; readers get back every complete line in order. A
writer killed mid-run leaves a readable prefix: the file store ignores a torn last line, the
Redis store has only whole entries.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = ["FileStore", "MemoryStore", "RedisStore", "Store", "parse_lines"]

_APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT
_END_LINE = '{"kind":"end"'  # a recording's last line (l0.runtime.record_schema)


@runtime_checkable
class Store(Protocol):
    """A place recordings are appended to and read from (implement it for your own)."""

    async def append(self, key: str, lines: Sequence[str]) -> None:
        """Append ``lines`` (JSON documents without newlines) to the recording ``key``."""
        ...

    async def read(self, key: str) -> list[str]:
        """Every complete line of the recording ``key``, in order (``[]`` if none)."""
        ...


def parse_lines(lines: Sequence[str], where: str) -> list[dict[str, Any]]:
    """Parse recording lines; a torn (unparseable) *last* line is dropped.

    Raises:
        ValueError: A line other than the last is not JSON (the recording is corrupt).
    """
    out: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                break  # a writer killed mid-line: the prefix is the recording
            raise ValueError(f"{where}: line {i + 1} is not JSON (corrupt recording)") from None
    return out


class MemoryStore:
    """Recordings kept in this process (tests, and replaying what just ran).

    Attributes:
        recordings: Key -> lines.
    """

    def __init__(self) -> None:
        self.recordings: dict[str, list[str]] = {}

    async def append(self, key: str, lines: Sequence[str]) -> None:
        """Append lines to ``key``."""
        self.recordings.setdefault(key, []).extend(lines)

    async def read(self, key: str) -> list[str]:
        """The lines of ``key``."""
        return list(self.recordings.get(key, ()))

    def keys(self) -> list[str]:
        """Every recorded key, oldest first."""
        return list(self.recordings)


class FileStore:
    """Append-only JSON Lines files: a directory with one ``<key>.jsonl`` per stream, or one
    file (a path ending in ``.jsonl``/``.json``/``.log``; a file holding several recordings
    reads back as its last one).

    Each append is one ``write`` on a file opened with ``O_APPEND`` (O(1), no rewrite). A
    crash leaves at most a torn last line, which reading ignores. A recording's file stays
    open from its first batch to its end line (:meth:`release` closes it; :meth:`close`
    closes every one still open, for recordings abandoned without an end line).

    Args:
        path: A directory (created if missing) or a single file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.single = self.path.suffix in (".jsonl", ".json", ".log") or self.path.is_file()
        self._fds: dict[str, int] = {}  # key -> the open file of a recording being written
        self._dir_made = False

    def file(self, key: str) -> Path:
        """The file holding ``key``."""
        if self.single:
            return self.path
        if key.replace("-", "").replace("_", "").replace(".", "").isalnum():
            safe = key  # (a stream id: nothing to replace)
        else:
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
        return self.path / f"{safe}.jsonl"

    async def append(self, key: str, lines: Sequence[str]) -> None:
        """Append lines to the file of ``key`` (one ``write`` call); after an end line the
        file is closed."""
        if not lines:
            return
        data = ("\n".join(lines) + "\n").encode()
        fd = self._fds.get(key)
        if fd is None:
            fd = self._fds[key] = self._open(key)
        os.write(fd, data)
        if lines[-1].startswith(_END_LINE):
            self.release(key)

    def _open(self, key: str) -> int:
        path = self.file(key)
        if not self.single and not self._dir_made:
            self.path.mkdir(parents=True, exist_ok=True)
            self._dir_made = True
        try:
            return os.open(path, _APPEND, 0o600)
        except FileNotFoundError:  # the directory was removed since: make it again
            if self.single:
                raise
            self.path.mkdir(parents=True, exist_ok=True)
            return os.open(path, _APPEND, 0o600)

    def release(self, key: str) -> None:
        """Close the file of ``key`` if it is open (the next append opens it again)."""
        fd = self._fds.pop(key, None)
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        """Close every file still open."""
        for key in list(self._fds):
            self.release(key)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    async def read(self, key: str) -> list[str]:
        """The complete lines of ``key`` (a torn last line included: parsing drops it)."""
        return self.read_lines(key)

    def read_lines(self, key: str) -> list[str]:
        """:meth:`read`, blocking (for code without an event loop)."""
        path = self.file(key)
        if not path.exists():
            return []
        lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if self.single:  # several recordings in one file: the last one
            starts = [i for i, line in enumerate(lines) if line.startswith('{"kind":"header"')]
            if starts:
                lines = lines[starts[-1] :]
        return lines

    def keys(self) -> list[str]:
        """Every recorded key (file names without ``.jsonl``)."""
        if self.single:
            return [self.path.stem] if self.path.exists() else []
        return sorted(p.stem for p in self.path.glob("*.jsonl"))


class RedisStore:
    """Recordings in Redis Streams: one stream key per recording (``<prefix><key>``), one
    entry per batch of lines (``XADD`` with an approximate ``MAXLEN``), an expiry refreshed
    on each append. Any worker reads any recording.

    Args:
        client: A ``redis.asyncio.Redis`` client (``redis.asyncio.from_url(url)``).
        prefix: Key prefix (default ``"l0:rec:"``).
        ttl: Seconds a recording lives after its last append (default 7 days; ``None``:
            forever).
        maxlen: Most entries kept per recording (default 100,000 batches; older are trimmed).
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "l0:rec:",
        ttl: float | None = 7 * 24 * 3600,
        maxlen: int = 100_000,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl = ttl
        self.maxlen = maxlen

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisStore:
        """A store on a new client for ``url`` (``redis://host:port/db``).

        Raises:
            ImportError: When redis-py is not installed (``pip install 'l0[all]'``).
        """
        try:
            import redis.asyncio as aioredis
        except ImportError as exc:  # pragma: no cover - only without the extra
            raise ImportError("RedisStore needs redis: pip install 'l0[all]'") from exc
        return cls(aioredis.from_url(url), **kwargs)

    async def append(self, key: str, lines: Sequence[str]) -> None:
        """``XADD`` one entry holding ``lines``; refresh the expiry."""
        name = self.prefix + key
        pipe = self.client.pipeline(transaction=False)
        pipe.xadd(name, {"l": "\n".join(lines)}, maxlen=self.maxlen, approximate=True)
        if self.ttl is not None:
            pipe.expire(name, max(1, int(self.ttl)))
        await pipe.execute()

    async def read(self, key: str) -> list[str]:
        """Every line of ``key``, in order."""
        entries = await self.client.xrange(self.prefix + key)
        out: list[str] = []
        for _id, fields in entries:
            raw = fields.get(b"l", fields.get("l", b""))
            text = raw.decode() if isinstance(raw, bytes) else str(raw)
            out.extend(text.split("\n"))
        return out

    async def keys(self) -> list[str]:
        """Every recording key under the prefix."""
        found = [k async for k in self.client.scan_iter(match=self.prefix + "*")]
        names = [k.decode() if isinstance(k, bytes) else str(k) for k in found]
        return sorted(n[len(self.prefix) :] for n in names)
