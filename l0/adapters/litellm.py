"""The LiteLLM adapter: ``litellm.acompletion``/``completion(..., stream=True)`` streams.

Reads the ``CustomStreamWrapper`` LiteLLM returns (async, or sync in a worker thread) and any
async iterable of ``ModelResponseStream`` chunks. LiteLLM translates every provider into
OpenAI-shaped deltas, so decoding is the chat-completion decoder's (text, tool calls by
index, ``reasoning_content`` as ``PROGRESS``, finish reason, usage).

Exceptions map by LiteLLM's own classes first (``MidStreamFallbackError`` by its original
exception, with the partial text in ``checkpoint``; ``ContextWindowExceededError``,
``Timeout``, ``APIConnectionError``), then by status code.

This module never imports ``litellm`` at import time: detection looks at ``sys.modules``.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from l0.adapters._chat import ChatChunkStream
from l0.adapters._common import ThreadedIterator, attach, loaded
from l0.adapters.base import AdapterStream
from l0.adapters.registry import register_adapter
from l0.errors import (
    BadRequestError,
    ErrorCode,
    L0Error,
    NetworkError,
    NetworkErrorKind,
    ServerError,
    to_l0_error,
)
from l0.errors.classify import error_from_status

__all__ = ["LITELLM_ADAPTER", "LiteLLMAdapter", "LiteLLMStream", "map_litellm_error"]


def _field(delta: Any, name: str) -> Any:
    """``getattr(delta, name, None)`` without its cost on a LiteLLM ``Delta``.

    A ``Delta`` deletes the optional fields it was not given, so a plain ``getattr`` with a
    default goes through pydantic's ``__getattr__`` and a raised ``AttributeError`` on every
    chunk; the value lives in ``__dict__`` (declared fields) or the pydantic extras.
    """
    attrs = getattr(delta, "__dict__", None)
    if attrs is None:
        return getattr(delta, name, None)
    value = attrs.get(name)
    if value is None:
        extra = getattr(delta, "__pydantic_extra__", None)
        if extra:
            value = extra.get(name)
    return value


class LiteLLMStream(ChatChunkStream):
    """Decodes LiteLLM ``ModelResponseStream`` chunks."""

    def plain(self, delta: Any) -> bool:
        # LiteLLM deltas keep their fields as pydantic extras; read the two that matter.
        return _field(delta, "reasoning_content") is None and _field(delta, "refusal") is None

    def reasoning(self, delta: Any) -> str | None:
        text = _field(delta, "reasoning_content")
        return text if isinstance(text, str) else None


def _streaming_classes() -> tuple[type, type] | None:
    if loaded("litellm") is None:
        return None
    from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper
    from litellm.types.utils import ModelResponseStream

    return CustomStreamWrapper, ModelResponseStream


def _is_sync(wrapper: Any) -> bool:
    """True for the wrapper ``litellm.completion`` (not ``acompletion``) returns."""
    stream = getattr(wrapper, "completion_stream", None)
    if stream is not None:
        return not hasattr(stream, "__aiter__")
    make_call = getattr(wrapper, "make_call", None)
    while isinstance(make_call, functools.partial):
        make_call = make_call.func
    return make_call is not None and not inspect.iscoroutinefunction(make_call)


class LiteLLMAdapter:
    """Adapter for LiteLLM streaming responses (see the module docstring)."""

    name = "litellm"

    def detect(self, obj: object) -> bool:
        """True for a LiteLLM ``CustomStreamWrapper``."""
        classes = _streaming_classes()
        return classes is not None and isinstance(obj, classes[0])

    def decodes(self, chunk: object) -> bool:
        """True for a ``ModelResponseStream`` chunk."""
        classes = _streaming_classes()
        return classes is not None and isinstance(chunk, classes[1])

    def open(self, obj: object, *, keep_raw: bool = False) -> AdapterStream:
        """Read ``obj``; a sync wrapper is read in a worker thread."""
        chunks: Any = ThreadedIterator(obj) if _is_sync(obj) else obj
        return LiteLLMStream(chunks, source=obj, keep_raw=keep_raw)

    def map_error(self, exc: BaseException) -> L0Error | None:
        """Map LiteLLM exceptions (see :func:`map_litellm_error`)."""
        return map_litellm_error(exc)


def _headers(exc: BaseException) -> Any:
    headers = getattr(exc, "litellm_response_headers", None)
    if headers:
        return headers
    return getattr(getattr(exc, "response", None), "headers", None)


def map_litellm_error(exc: BaseException) -> L0Error | None:
    """Translate a LiteLLM exception into an l0 error (``None``: not LiteLLM's).

    * ``MidStreamFallbackError``: the mapping of its original exception (a transport failure
      becomes an ``incomplete`` NetworkError), ``checkpoint`` = the text generated so far;
    * ``ContextWindowExceededError``: BadRequestError ``CONTEXT_LENGTH_EXCEEDED`` (fatal);
    * ``Timeout``: NetworkError ``timeout``; ``APIConnectionError``: NetworkError;
    * anything else with a status code: by status (``RateLimitError`` 429 with
      ``Retry-After``, ``ServiceUnavailableError`` 503, ``AuthenticationError`` 401, …).
    """
    mod = loaded("litellm.exceptions")
    if mod is None or not isinstance(exc, _litellm_base(mod)):
        return None
    if isinstance(exc, mod.MidStreamFallbackError):
        return _mid_stream(exc, mod)
    message = str(getattr(exc, "message", None) or exc)
    if isinstance(exc, mod.ContextWindowExceededError):
        err: L0Error = BadRequestError(
            message, code=ErrorCode.CONTEXT_LENGTH_EXCEEDED, status_code=400
        )
    elif isinstance(exc, mod.Timeout):
        err = NetworkError(message, kind=NetworkErrorKind.TIMEOUT)
    elif isinstance(exc, mod.APIConnectionError):
        err = NetworkError(message, kind=NetworkErrorKind.CONNECTION_DROPPED)
    else:
        status = getattr(exc, "status_code", None)
        if not isinstance(status, int):
            return None
        err = error_from_status(status, message, headers=_headers(exc))
    return attach(err, exc)


def _litellm_base(mod: Any) -> tuple[type, ...]:
    # Every LiteLLM API exception subclasses an ``openai`` exception; these are LiteLLM's own.
    return (
        mod.AuthenticationError,
        mod.NotFoundError,
        mod.BadRequestError,
        mod.UnprocessableEntityError,
        mod.Timeout,
        mod.PermissionDeniedError,
        mod.RateLimitError,
        mod.ServiceUnavailableError,
        mod.BadGatewayError,
        mod.InternalServerError,
        mod.APIError,
        mod.APIConnectionError,
        mod.APIResponseValidationError,
    )


def _mid_stream(exc: Any, mod: Any) -> L0Error:
    original = exc.original_exception
    inner: L0Error | None = None
    if original is not None and original is not exc:
        inner = map_litellm_error(original) or to_l0_error(original)
    if inner is None:
        inner = error_from_status(int(exc.status_code or 503), str(exc.message))
    if isinstance(inner, NetworkError) and inner.kind is NetworkErrorKind.CONNECTION_DROPPED:
        inner.kind = NetworkErrorKind.INCOMPLETE
    if isinstance(inner, ServerError) and inner.status_code is None:
        inner.status_code = exc.status_code
    inner.checkpoint = exc.generated_content or ""
    return attach(inner, exc)


LITELLM_ADAPTER = LiteLLMAdapter()
# Before the OpenAI adapter: LiteLLM exceptions subclass ``openai``'s, and LiteLLM's own
# classes (ContextWindowExceededError, MidStreamFallbackError) say more than the status.
register_adapter(LITELLM_ADAPTER, priority=1)
