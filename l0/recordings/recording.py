"""A recording read back: its header, attempts, lifecycle events and outcome."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from l0.runtime.record_schema import FORMAT, RESULT_REF, VERSION, resolve_end, unpack_floats
from l0.runtime.record_stores import FileStore, RedisStore, Store, parse_lines

__all__ = ["AttemptRecord", "Recording", "load_recording", "read_recording"]


@dataclass
class AttemptRecord:
    """One recorded attempt, as replay plays it.

    Attributes:
        number: The attempt's number in the run (1-based).
        source: 0 for the source, ``i + 1`` for ``fallbacks[i]``.
        t: When it started (the run's clock).
        open: The ``open`` item (adapter name, ``expects_end``, ``fast``), ``None`` when the
            factory failed.
        body: The chunks read, in order (tokens, decoded events, gaps).
        terminal: How reading ended: an ``end``, ``raise`` or ``cut`` item (``None``: the
            recording stops inside this attempt).
        pending: The adapter's end-of-stream events (``endp`` item), if reached.
        fault: The ``fault`` item (the classified error), if the attempt failed.
    """

    number: int
    source: int
    t: float
    open: dict[str, Any] | None = None
    body: list[Any] = field(default_factory=list)
    terminal: dict[str, Any] | None = None
    pending: dict[str, Any] | None = None
    fault: dict[str, Any] | None = None
    sleep_before: float | None = None


@dataclass
class Recording:
    """A parsed recording (:func:`load_recording`, or ``ReplayResult.recording``).

    Attributes:
        header: The header line (options, ``stream_id``, ``content``, version).
        items: Every item of every batch, in order.
        reads: The run's clock readings, in order.
        draws: The run's jitter draws, in order.
        end: The last line (status, result or error, telemetry); ``None`` for a recording
            whose writer died before the run ended.
        lines: The raw lines.
    """

    header: dict[str, Any]
    items: list[Any]
    reads: list[float]
    draws: list[float]
    end: dict[str, Any] | None
    lines: list[str]

    @classmethod
    def from_lines(cls, lines: Sequence[str], where: str = "recording") -> Recording:
        """Parse recording lines (a torn last line is ignored).

        Raises:
            ValueError: Not an l0 recording, a newer schema version, or corrupt lines.
        """
        docs = parse_lines(lines, where)
        if not docs or docs[0].get("kind") != "header" or docs[0].get("format") != FORMAT:
            raise ValueError(f"{where} is not an l0 recording (no {FORMAT!r} header line)")
        header = docs[0]
        if int(header.get("version", 0)) > VERSION:
            raise ValueError(
                f"{where} has schema version {header.get('version')}; this l0 reads up to "
                f"{VERSION}: upgrade l0"
            )
        items: list[Any] = []
        reads: list[float] = []
        draws: list[float] = []
        end = None
        for doc in docs[1:]:
            if doc.get("kind") == "batch":
                items.extend(doc.get("items", ()))
                reads.extend(unpack_floats(doc.get("c", [])))
                draws.extend(doc.get("r", ()))
            elif doc.get("kind") == "end":
                end = resolve_end(doc)
        if end is not None and "result" in end:
            for item in items:  # a COMPLETE event's result is written once, on the end line
                if item.__class__ is dict and item.get("k") == "life":
                    data = item.get("d")
                    if isinstance(data, dict) and data.get("result") == RESULT_REF:
                        data["result"] = end["result"]
        return cls(header, items, reads, draws, end, list(lines))

    # -- views ---------------------------------------------------------------------------------

    @property
    def stream_id(self) -> str:
        """The recorded run's id."""
        return str(self.header.get("stream_id", ""))

    @property
    def options(self) -> dict[str, Any]:
        """The recorded options."""
        return dict(self.header.get("options", {}))

    @property
    def status(self) -> str:
        """``completed``, ``errored``, ``aborted``, or ``incomplete`` (writer died)."""
        return str(self.end.get("status")) if self.end else "incomplete"

    @property
    def text(self) -> str | None:
        """The final answer text (``None`` if the run did not complete or metadata-only)."""
        result = (self.end or {}).get("result")
        text = result.get("text") if isinstance(result, Mapping) else None
        return text if isinstance(text, str) else None

    @property
    def error(self) -> dict[str, Any] | None:
        """The final error, as recorded."""
        err = (self.end or {}).get("error")
        return dict(err) if isinstance(err, Mapping) else None

    @property
    def telemetry(self) -> dict[str, Any]:
        """The recorded telemetry (``{}`` if the writer died)."""
        return dict((self.end or {}).get("telemetry") or {})

    def lifecycle(self) -> list[dict[str, Any]]:
        """The lifecycle events: ``{"k": "life", "n": name, "a": attempt, "s": seq, "ts",
        "d": data}``."""
        return [i for i in self.items if isinstance(i, dict) and i.get("k") == "life"]

    def attempts(self) -> list[AttemptRecord]:
        """The attempts, in order."""
        out: list[AttemptRecord] = []
        current: AttemptRecord | None = None
        sleep: float | None = None
        for item in self.items:
            if not isinstance(item, dict):
                if current is not None:
                    current.body.append(item)
                continue
            k = item.get("k")
            if k == "att":
                current = AttemptRecord(int(item["n"]), int(item["src"]), float(item.get("t", 0)))
                current.sleep_before = sleep
                sleep = None
                out.append(current)
            elif k == "sleep":
                sleep = float(item["d"])
            elif current is None or k == "life":
                continue
            elif k == "open":
                current.open = item
            elif k in ("end", "raise", "cut") and current.terminal is None:
                current.terminal = item
            elif k == "endp":
                current.pending = item
            elif k == "fault":
                current.fault = item
            elif k in ("ev", "evt", "gap"):
                current.body.append(item)
        return out

    def canonical(self) -> list[str]:
        """What replay must reproduce exactly, one JSON text per item: every item but gap
        markers, without source arrival times (``t``), then the clock readings, the jitter
        draws and the outcome. Two runs are byte-for-byte equal when these are equal."""
        out: list[str] = []
        dump = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode
        for item in self.items:
            if isinstance(item, dict):
                if item.get("k") == "gap":
                    continue
                item = {k: v for k, v in item.items() if k != "t"}
            out.append(dump(item))
        out.append(dump({"c": self.reads}))
        out.append(dump({"r": self.draws}))
        out.append(dump(self.end))
        return out


async def load_recording(
    source: Recording | str | os.PathLike[str] | Store, key: str | None = None
) -> Recording:
    """Read a recording: a path (a ``.jsonl`` file, or a directory with ``key`` or exactly
    one recording), a ``redis://host:port/db/KEY`` URL (or ``?key=KEY``), or a store and
    its key.

    Raises:
        FileNotFoundError, KeyError: Nothing recorded there.
        ValueError: Not a recording; a directory with several and no ``key``.
    """
    if isinstance(source, Recording):
        return source
    if isinstance(source, str) and source.startswith(("redis://", "rediss://", "unix://")):
        url, key = _redis_key(source, key)
        store = RedisStore.from_url(url)
        try:
            lines = await store.read(key)
        finally:
            await store.client.aclose()
        if not lines:
            raise KeyError(f"no recording {key!r} at {url}")
        return Recording.from_lines(lines, f"{url} {key}")
    if isinstance(source, (str, os.PathLike)):
        store_, key = _file_store(Path(source), key)
        return Recording.from_lines(await store_.read(key), str(source))
    if key is None:
        raise ValueError("load_recording(store, key): name the recording's key")
    lines = await source.read(key)
    if not lines:
        raise KeyError(f"no recording {key!r} in {type(source).__name__}")
    return Recording.from_lines(lines, key)


def read_recording(path: str | os.PathLike[str], key: str | None = None) -> Recording:
    """:func:`load_recording` for a file or directory, blocking (no event loop needed)."""
    store, key = _file_store(Path(path), key)
    return Recording.from_lines(store.read_lines(key), str(path))


def _file_store(path: Path, key: str | None) -> tuple[FileStore, str]:
    if not path.exists():
        raise FileNotFoundError(f"no recording at {path}")
    store = FileStore(path)
    if not store.single and key is None:
        keys = store.keys()
        if len(keys) != 1:
            raise ValueError(
                f"{path} holds {len(keys)} recordings; name one: {', '.join(keys[:5]) or '(none)'}"
            )
        key = keys[0]
    return store, key or ""


def _redis_key(url: str, key: str | None) -> tuple[str, str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if key is None and "key" in query:
        key = query["key"][0]
    segments = [s for s in parts.path.split("/") if s]
    db = "0"
    if segments and segments[0].isdigit():
        db = segments.pop(0)
    if key is None and segments:
        key = "/".join(segments)
    if not key:
        raise ValueError(f"{url}: name the recording, e.g. redis://localhost:6379/0/<stream_id>")
    return f"{parts.scheme}://{parts.netloc}/{db}", key
