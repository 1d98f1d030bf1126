"""The fallback adapter: iterables of ``str`` and :class:`~l0.types.Event`.

A stream this adapter opened may turn out to carry provider chunks (a LangChain
``astream()`` generator is a plain async generator, so only its chunks tell). At the first
chunk that is neither ``str`` nor ``Event``, :class:`TextStream` asks the registered adapters
that define an optional ``decodes(chunk) -> bool`` method and hands decoding over to the
first that accepts it. The registry hands the text adapter its list of peers
(:func:`use_registry`), so this module does not import the registry back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any, cast

from l0.adapters.base import Adapter, AdapterStream, Decoded
from l0.adapters.threaded import ThreadedIterator
from l0.adapters.tool_calls import reason_or_none
from l0.errors import InvalidStreamError, L0Error
from l0.types import Attempt, Event, EventType, ToolCall, Usage

__all__ = ["TEXT_ADAPTER", "TextAdapter", "TextStream", "use_registry"]

_peers: Callable[[], Sequence[Adapter]] = tuple


def use_registry(adapters: Callable[[], Sequence[Adapter]]) -> None:
    """Set where the text adapter finds the other adapters (called by the registry)."""
    global _peers
    _peers = adapters


_IN_MEMORY: tuple[type, ...] = (list, tuple, type(iter([])), type(iter(())))
"""Sync sources read inline: plain in-memory sequences (and iterators over them) never block.
Every other sync iterable is read in a worker thread (:mod:`l0.adapters.threaded`)."""


class _SyncChunks:
    """An async iterator over an in-memory sequence (read inline: it cannot block)."""

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

    _delegate: AdapterStream | None = None

    def decode(self, chunk: Any) -> Decoded:
        delegate = self._delegate
        if delegate is not None:
            decoded = delegate.decode(chunk)
            if delegate.ended:  # the loop watches this stream's end marker
                self.ended = True
            return decoded
        if isinstance(chunk, str):
            return Event(EventType.TOKEN, chunk) if chunk else None
        if isinstance(chunk, Event):
            if chunk.type is EventType.COMPLETE:
                self._complete(chunk.data)
                return None
            if chunk.type is EventType.TOOL_CALL and isinstance(chunk.data, ToolCall):
                self.tool_calls.append(chunk.data)
            return chunk
        self._delegate = _chunk_decoder(chunk, self)
        return self.decode(chunk)

    def end(self) -> list[Event]:
        delegate = self._delegate
        if delegate is None:
            return []
        events = delegate.end()
        # The loop reads the outcome from this stream: take the delegate's.
        self.expects_end = delegate.expects_end
        self.ended = delegate.ended
        self.finish_reason = delegate.finish_reason
        self.usage = delegate.usage
        self.tool_calls = delegate.tool_calls
        return events

    def _complete(self, data: Any) -> None:
        self.ended = True
        if isinstance(data, dict):
            reason = reason_or_none(data.get("finish_reason"))
            self.finish_reason = reason if reason is not None else self.finish_reason
            usage = data.get("usage")
            if isinstance(usage, Usage):
                self.usage = usage


def _chunk_decoder(chunk: Any, stream: TextStream) -> AdapterStream:
    """The stream of the first adapter whose ``decodes`` accepts ``chunk``."""
    for adapter in _peers():
        decodes = getattr(adapter, "decodes", None)
        if decodes is not None and decodes(chunk):
            return adapter.open(stream.chunks, keep_raw=False)
    if isinstance(chunk, Attempt):
        raise InvalidStreamError(
            "the source yielded the l0.Attempt it was called with: a factory whose first "
            "parameter is required receives the l0.Attempt; if it needs another argument, "
            "pass a factory that supplies it (source=lambda: gen(prompt))"
        )
    raise InvalidStreamError(
        f"a text source yielded {type(chunk).__name__}; expected str or l0.Event "
        "(pass adapter= for provider chunks)"
    )


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
        elif isinstance(obj, _IN_MEMORY):
            chunks = _SyncChunks(cast(Iterable[Any], obj))
        elif hasattr(obj, "__iter__") and not isinstance(obj, (str, bytes)):
            chunks = ThreadedIterator(obj)  # may block: read in a worker thread
        else:
            raise InvalidStreamError(f"cannot stream from {type(obj).__name__}")
        stream = TextStream(chunks, source=obj, keep_raw=keep_raw)
        # A source whose protocol has an end marker (its ``COMPLETE`` event) says so with a
        # true ``l0_expects_end``: ending without one is then a truncation, as for a provider.
        stream.expects_end = bool(getattr(obj, "l0_expects_end", False))
        return stream

    def map_error(self, exc: BaseException) -> L0Error | None:
        """A plain iterable may re-raise a provider SDK's exception: ask the provider
        adapters (each maps only its own SDK's types), else use the generic rules."""
        for adapter in _peers():
            if adapter is not self:
                mapped = adapter.map_error(exc)
                if mapped is not None:
                    return mapped
        return None


TEXT_ADAPTER = TextAdapter()
