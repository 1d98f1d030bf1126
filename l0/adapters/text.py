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

    The first chunk of any other type picks a decoder by that type (an adapter implementing
    :class:`~l0.adapters.base.ChunkAdapter`, e.g. OpenAI for ``ChatCompletionChunk``); from
    then on every chunk goes to it, and its end marker, finish reason and usage are this
    stream's.
    """

    _delegate: AdapterStream | None = None

    def decode(self, chunk: Any) -> Decoded:
        delegate = self._delegate
        if delegate is not None:
            return delegate.decode(chunk)
        if isinstance(chunk, str):
            return Event(EventType.TOKEN, chunk) if chunk else None
        if isinstance(chunk, Event):
            if chunk.type is EventType.COMPLETE:
                self._complete(chunk.data)
                return None
            if chunk.type is EventType.TOOL_CALL and isinstance(chunk.data, ToolCall):
                self.tool_calls.append(chunk.data)
            return chunk
        return self._delegate_to(chunk).decode(chunk)

    def _delegate_to(self, chunk: Any) -> AdapterStream:
        from l0.adapters.registry import chunk_adapter

        adapter = chunk_adapter(chunk)
        if adapter is None:
            raise InvalidStreamError(
                f"a text source yielded {type(chunk).__name__}; expected str, l0.Event or a "
                "provider chunk type an adapter decodes (pass adapter= otherwise)"
            )
        delegate = adapter.open_chunks(self.chunks, source=self.source)
        delegate.tool_calls = self.tool_calls
        self._delegate = delegate
        return delegate

    # The end marker, finish reason and usage belong to the delegate once there is one.
    @property
    def expects_end(self) -> bool:  # type: ignore[override]
        return self._delegate.expects_end if self._delegate is not None else False

    @property
    def ended(self) -> bool:
        return self._delegate.ended if self._delegate is not None else self._ended

    @ended.setter
    def ended(self, value: bool) -> None:
        self._ended = value

    @property
    def finish_reason(self) -> str | None:
        d = self._delegate
        return d.finish_reason if d is not None else self._finish_reason

    @finish_reason.setter
    def finish_reason(self, value: str | None) -> None:
        self._finish_reason = value

    @property
    def usage(self) -> Usage | None:
        return self._delegate.usage if self._delegate is not None else self._usage

    @usage.setter
    def usage(self, value: Usage | None) -> None:
        self._usage = value

    def end(self) -> list[Event]:
        return self._delegate.end() if self._delegate is not None else []

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
        """A plain iterable may re-raise a provider SDK's exception: ask the provider
        adapters (each maps only its own SDK's types), else use the generic rules."""
        from l0.adapters.registry import registered_adapters

        for adapter in registered_adapters():
            if adapter is not self:
                mapped = adapter.map_error(exc)
                if mapped is not None:
                    return mapped
        return None


TEXT_ADAPTER = TextAdapter()
