"""The fallback adapter: iterables of ``str`` and :class:`~l0.types.Event`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from l0.adapters.base import AdapterStream, Decoded
from l0.errors import InvalidStreamError, L0Error
from l0.types import Event, EventType, ToolCall, Usage

__all__ = ["TEXT_ADAPTER", "TextAdapter", "TextStream"]


class _SyncChunks:
    """An async iterator over a sync iterable (read inline: for in-memory sources)."""

    __slots__ = ("_it",)

    def __init__(self, iterable: Iterable[Any]) -> None:
        self._it: Iterator[Any] = iter(iterable)

    def __aiter__(self) -> _SyncChunks:
        return self

    async def __anext__(self) -> Any:
        try:
            return next(self._it)
        except StopIteration:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        close = getattr(self._it, "close", None)
        if close is not None:
            close()


class TextStream(AdapterStream):
    """Reads ``str`` chunks as tokens and passes :class:`Event` objects through.

    An ``Event`` source may end with a ``COMPLETE`` event whose ``data`` carries
    ``finish_reason`` and ``usage``; it marks a normal end and is not re-yielded.
    """

    def decode(self, chunk: Any) -> Decoded:
        if isinstance(chunk, str):
            return Event(EventType.TOKEN, chunk) if chunk else None
        if isinstance(chunk, Event):
            if chunk.type is EventType.COMPLETE:
                self._complete(chunk.data)
                return None
            if chunk.type is EventType.TOOL_CALL and isinstance(chunk.data, ToolCall):
                self.tool_calls.append(chunk.data)
            return chunk
        raise InvalidStreamError(
            f"a text source yielded {type(chunk).__name__}; expected str or l0.Event "
            "(pass adapter= for provider chunks)"
        )

    def _complete(self, data: Any) -> None:
        self.ended = True
        if isinstance(data, dict):
            reason = data.get("finish_reason")
            self.finish_reason = str(reason) if reason is not None else self.finish_reason
            usage = data.get("usage")
            if isinstance(usage, Usage):
                self.usage = usage


class TextAdapter:
    """Adapter for async/sync iterables of ``str`` or ``Event`` (lowest priority)."""

    name = "text"

    def detect(self, obj: object) -> bool:
        if isinstance(obj, type):
            return False
        return hasattr(obj, "__aiter__") or (
            hasattr(obj, "__iter__") and not isinstance(obj, (str, bytes, dict))
        )

    def open(self, obj: object, *, keep_raw: bool = False) -> AdapterStream:
        if hasattr(obj, "__aiter__"):
            chunks: AsyncIterator[Any] = obj.__aiter__()
        elif hasattr(obj, "__iter__") and not isinstance(obj, (str, bytes)):
            chunks = _SyncChunks(obj)
        else:
            raise InvalidStreamError(f"cannot stream from {type(obj).__name__}")
        return TextStream(chunks, source=obj, keep_raw=keep_raw)

    def map_error(self, exc: BaseException) -> L0Error | None:
        return None


TEXT_ADAPTER = TextAdapter()
