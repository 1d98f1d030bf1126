"""Pieces every provider adapter shares: tool-call assembly, sync-stream bridging (a worker
thread per attempt), lazy stream managers, usage building and the refusal error.

Nothing here imports a provider SDK.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from l0.adapters.base import AdapterStream
from l0.adapters.threaded import ThreadedIterator
from l0.adapters.tool_calls import (
    ToolCallAssembler,
    index_or_none,
    parse_arguments,
    reason_or_none,
    text_or_none,
)
from l0.errors import (
    AuthenticationError,
    BadRequestError,
    ErrorCode,
    L0Error,
    ProviderError,
    RateLimitError,
    RefusalError,
    ServerError,
)
from l0.types import Usage

__all__ = [
    "EnteredStream",
    "RefusalError",
    "SDKAdapter",
    "StreamKinds",
    "ThreadedChunks",
    "ThreadedIterator",
    "ToolCallAssembler",
    "attach",
    "inband_error",
    "index_or_none",
    "loaded",
    "parse_arguments",
    "reason_or_none",
    "text_or_none",
    "usage_of",
]

_END = object()


def loaded(name: str) -> ModuleType | None:
    """The module ``name`` when it was already imported (an SDK never imported cannot have
    produced the object being detected, so detection never imports one)."""
    return sys.modules.get(name)


ThreadedChunks = ThreadedIterator
"""The one sync-stream bridge (SDK sync streams, LiteLLM's sync wrapper, LangChain's sync
``stream()``): :class:`l0.adapters.threaded.ThreadedIterator`."""


class EnteredStream:
    """An async iterator over an SDK stream manager (``async with client....stream()``):
    enters it on the first read (inside the attempt's deadlines) and exits it on close."""

    __slots__ = ("_anext", "_entered", "_manager")

    def __init__(self, manager: Any) -> None:
        self._manager = manager
        self._anext: Any = None
        self._entered = False

    def __aiter__(self) -> EnteredStream:
        return self

    async def __anext__(self) -> Any:
        anext = self._anext
        if anext is None:
            stream = await self._manager.__aenter__()
            self._entered = True
            anext = self._anext = stream.__anext__
        return await anext()

    async def aclose(self) -> None:
        """Exit the manager (closes the response) if it was entered."""
        if self._entered:
            self._entered = False
            await self._manager.__aexit__(None, None, None)


def _details(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    dump = getattr(obj, "model_dump", None)
    if dump is not None:
        # Unvalidated SDK objects may hold any JSON: dump it as it is, without warnings.
        return {k: v for k, v in dump(warnings=False).items() if v is not None}
    return dict(obj) if isinstance(obj, dict) else {}


def usage_of(
    input_tokens: int | None,
    output_tokens: int | None,
    total_tokens: int | None = None,
    **details: Any,
) -> Usage:
    """Build a :class:`Usage`; ``total`` defaults to input + output; empty details dropped."""
    if total_tokens is None and input_tokens is not None and output_tokens is not None:
        total_tokens = input_tokens + output_tokens
    kept = {}
    for key, value in details.items():
        flat = _details(value) if hasattr(value, "model_dump") else value
        if flat is not None and flat != {}:
            kept[key] = flat
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=total_tokens,
        details=kept,
    )


# Error kinds a provider reports inside a 200 stream (OpenAI ``error.code``/``error.type``,
# Anthropic ``error.type``) -> (l0 error class, the HTTP status the same error has outside a
# stream). Unknown kinds become a ProviderError (retried, counted toward attempts).
_INBAND: dict[str, tuple[type[ProviderError], int | None]] = {
    "overloaded_error": (ServerError, 529),
    "overloaded": (ServerError, 529),
    "api_error": (ServerError, 500),
    "server_error": (ServerError, 500),
    "internal_error": (ServerError, 500),
    "service_unavailable": (ServerError, 503),
    "rate_limit_error": (RateLimitError, 429),
    "rate_limit_exceeded": (RateLimitError, 429),
    "authentication_error": (AuthenticationError, 401),
    "invalid_api_key": (AuthenticationError, 401),
    "permission_error": (AuthenticationError, 403),
    "invalid_request_error": (BadRequestError, 400),
    "not_found_error": (BadRequestError, 404),
    "request_too_large": (BadRequestError, 413),
    "context_length_exceeded": (BadRequestError, 400),
}


def inband_error(
    kinds: tuple[object, ...],
    message: object,
    *,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> ProviderError:
    """The l0 error for an error event inside a stream; the first known kind wins.

    ``message`` is whatever the event carried (a provider may send a non-string).
    """
    if not isinstance(message, str):
        message = repr(message)
    for kind in kinds:
        if isinstance(kind, str) and kind in _INBAND:
            cls, status = _INBAND[kind]
            code = ErrorCode.CONTEXT_LENGTH_EXCEEDED if kind == "context_length_exceeded" else None
            return cls(
                message,
                code=code,
                status_code=status,
                request_id=request_id,
                retry_after=retry_after,
            )
    return ProviderError(message, request_id=request_id, retry_after=retry_after)


def attach(err: L0Error, exc: BaseException) -> L0Error:
    """Set ``exc`` as the cause of ``err`` and return ``err``."""
    err.__cause__ = exc
    return err


@dataclass(frozen=True)
class StreamKinds:
    """An SDK's stream classes, grouped by how l0 reads them."""

    async_streams: tuple[type, ...]
    sync_streams: tuple[type, ...]
    async_managers: tuple[type, ...]
    sync_managers: tuple[type, ...]
    chunks: tuple[type, ...]
    """Loose chunk types a plain iterable may yield (the text adapter's hand-over)."""

    @property
    def streams(self) -> tuple[type, ...]:
        """Every stream and manager class."""
        return self.async_streams + self.sync_streams + self.async_managers + self.sync_managers

    def chunks_of(self, obj: Any) -> Any:
        """The async iterator to read ``obj`` through: managers are entered on the first
        read, sync streams are read in a worker thread, anything else is read as it is."""
        if isinstance(obj, self.async_managers):
            return EnteredStream(obj)
        if isinstance(obj, self.sync_managers):
            return ThreadedIterator(obj, enter=True)
        if isinstance(obj, self.sync_streams):
            return ThreadedIterator(obj)
        return obj


class SDKAdapter:
    """Detection and opening shared by the SDK adapters; subclasses set :attr:`name`,
    :attr:`module`, :attr:`stream_class` and implement :meth:`load` and ``map_error``."""

    name: str
    module: str
    """The SDK's top-level module: nothing is detected until it was imported."""
    stream_class: type[AdapterStream]

    def __init__(self) -> None:
        self._kinds: StreamKinds | None = None

    def load(self) -> StreamKinds:
        """Import the SDK's stream classes (called once the SDK is in ``sys.modules``)."""
        raise NotImplementedError

    def kinds(self) -> StreamKinds | None:
        """The SDK's classes, or ``None`` while the SDK was never imported."""
        if self._kinds is None and loaded(self.module) is not None:
            self._kinds = self.load()
        return self._kinds

    def detect(self, obj: object) -> bool:
        """True for one of the SDK's streams or stream managers."""
        kinds = self.kinds()
        return kinds is not None and isinstance(obj, kinds.streams)

    def decodes(self, chunk: object) -> bool:
        """True for a loose chunk of the SDK (a plain iterable of them needs no adapter=)."""
        kinds = self.kinds()
        return kinds is not None and isinstance(chunk, kinds.chunks)

    def open(self, obj: object, *, keep_raw: bool = False) -> AdapterStream:
        """Read ``obj``: managers are entered on the first read, sync streams in a thread."""
        kinds = self.kinds()
        chunks: Any = kinds.chunks_of(obj) if kinds is not None else obj
        return self.stream_class(chunks, source=obj, keep_raw=keep_raw)
