"""The adapter interface: how a provider stream becomes l0 :class:`~l0.types.Event` objects.

An :class:`Adapter` recognises a stream object (``detect``), opens it for one attempt
(``open`` -> :class:`AdapterStream`) and translates its SDK's exceptions (``map_error``).
The attempt loop reads ``AdapterStream.chunks`` itself and calls ``decode`` once per chunk, so
an adapter adds no async-generator layer per token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol, runtime_checkable

from l0.errors import L0Error
from l0.types import Event, ToolCall, Usage

__all__ = ["Adapter", "AdapterStream", "Decoded"]

Decoded = Event | list[Event] | None
"""What ``decode`` returns for one chunk: one event, several, or nothing (liveness only)."""


class AdapterStream:
    """One opened provider stream, read by the attempt loop.

    Subclasses implement :meth:`decode` and set :attr:`ended` when the provider signalled a
    normal end (a finish reason, ``message_stop``, ``[DONE]``). When :attr:`expects_end` is
    True and the chunks run out without it, the loop raises
    :class:`~l0.errors.TruncatedStreamError`.

    Attributes:
        chunks: The provider's async iterator of raw chunks.
        expects_end: Whether this protocol has an end marker (truncation is detectable).
        ended: Set by ``decode`` when the end marker was seen.
        finish_reason: The provider's finish/stop reason, when seen.
        usage: Token usage, when reported.
        tool_calls: Completed tool calls, in order.
        raw: Every raw chunk, only when the caller asked for them (``keep_raw``; else
            ``None``).
    """

    expects_end: bool = False
    text_fast_path: bool = True
    """When True the loop turns plain ``str`` chunks into tokens itself, without calling
    :meth:`decode`. An adapter whose protocol sends ``str`` chunks that are not plain text
    sets it to False."""

    def __init__(
        self, chunks: AsyncIterator[Any], *, source: object = None, keep_raw: bool = False
    ) -> None:
        self.source = source if source is not None else chunks
        self.ended = False
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.tool_calls: list[ToolCall] = []
        self.raw: list[Any] | None = None
        if keep_raw:
            self.raw = []
            chunks = _Recording(chunks, self.raw)
        self.chunks = chunks

    def decode(self, chunk: Any) -> Decoded:
        """Translate one raw chunk (may raise an :class:`~l0.errors.L0Error`)."""
        raise NotImplementedError

    def end(self) -> list[Event]:
        """Events still pending when the chunks run out (e.g. unfinished tool calls)."""
        return []

    async def aclose(self) -> None:
        """Close the provider stream at once (releases the HTTP connection)."""
        for target in (self.chunks, self.source):
            closer = getattr(target, "aclose", None) or getattr(target, "close", None)
            if closer is None:
                continue
            result = closer()
            if getattr(type(result), "__await__", None) is not None:
                await result
            return


class _Recording:
    """Wraps the chunk iterator to keep every raw chunk (only when asked: ``keep_raw``)."""

    __slots__ = ("_chunks", "_raw")

    def __init__(self, chunks: AsyncIterator[Any], raw: list[Any]) -> None:
        self._chunks = chunks
        self._raw = raw

    def __aiter__(self) -> _Recording:
        return self

    async def __anext__(self) -> Any:
        chunk = await self._chunks.__anext__()
        self._raw.append(chunk)
        return chunk

    async def aclose(self) -> None:
        closer = getattr(self._chunks, "aclose", None)
        if closer is not None:
            await closer()


@runtime_checkable
class Adapter(Protocol):
    """Turns one kind of provider stream into l0 events."""

    name: str
    """A short unique name (``"openai"``, ``"anthropic"``, ``"text"``, …)."""

    def detect(self, obj: object) -> bool:
        """True when ``obj`` is a stream this adapter reads (by type, never by class name)."""
        ...

    def open(self, obj: object, *, keep_raw: bool = False) -> AdapterStream:
        """Start reading ``obj`` for one attempt."""
        ...

    def map_error(self, exc: BaseException) -> L0Error | None:
        """Translate an exception of this provider's SDK (``None``: use the generic rules)."""
        ...
