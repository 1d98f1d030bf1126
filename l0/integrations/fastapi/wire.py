"""From an l0 run to wire events: content events, lifecycle notices and safe error payloads.

A *wire event* is a ``(kind, data)`` pair in l0's own vocabulary (``token``, ``tool_call``,
``retry``, ``fallback``, ``reset``, ``error``, ``done``); :mod:`.formats` encodes it as SSE
for the chosen format.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from l0.errors import (
    AbortedError,
    ContentError,
    ErrorCategory,
    ErrorCode,
    L0Error,
    OutputRetractedError,
    RetriesExhaustedError,
    StreamTimeoutError,
    TruncatedStreamError,
)
from l0.observability.events import EventName
from l0.redaction import redact_text
from l0.types import Event, EventType, ObservabilityEvent, Result, ToolCall, Usage

__all__ = ["CONTENT_KINDS", "NoticeRelay", "http_status", "safe_error", "to_wire"]

logger = logging.getLogger("l0.fastapi")

CONTENT_KINDS = frozenset({"token", "tool_call", "done"})
"""Kinds that carry the answer: the first of them (or a terminal error) opens the response."""

WireEvent = tuple[str, dict[str, Any]]
Publish = Callable[[str, dict[str, Any]], Awaitable[None]]


def usage_dict(usage: Usage | None) -> dict[str, Any] | None:
    """A JSON-safe usage summary."""
    if usage is None:
        return None
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }


def _tool_call(call: Any) -> dict[str, Any]:
    if isinstance(call, ToolCall):
        args = call.arguments if call.arguments is not None else call.raw_arguments
        return {"id": call.id, "name": call.name, "arguments": args}
    if isinstance(call, Mapping):
        return {k: call.get(k) for k in ("id", "name", "arguments")}
    return {"id": None, "name": None, "arguments": None}


def to_wire(event: Event) -> WireEvent | None:
    """The wire event for one l0 stream event (``None``: not sent)."""
    kind = event.type
    if kind is EventType.TOKEN:
        return "token", {"text": event.text}
    if kind is EventType.TOOL_CALL:
        return "tool_call", _tool_call(event.data)
    if kind is EventType.RESET:
        discard = event.data.get("discard", 0) if isinstance(event.data, Mapping) else 0
        return "reset", {"discard": discard}
    if kind is EventType.COMPLETE and isinstance(event.data, Result):
        result = event.data
        finish = result.finish_reason or ("tool_calls" if result.tool_calls else "stop")
        return "done", {"finish_reason": finish, "usage": usage_dict(result.usage)}
    return None


def safe_error(exc: BaseException) -> dict[str, Any]:
    """What a client may see of an error: type, message, code, category, retryability.

    Never a traceback; credentials that a provider message echoed are masked; errors that are
    not l0 errors (bugs) become a generic internal error, logged here with their traceback.
    """
    if not isinstance(exc, L0Error):
        logger.error("l0 stream failed with an internal error", exc_info=exc)
        return {
            "type": "InternalError",
            "message": "internal error",
            "code": ErrorCode.INTERNAL_ERROR.value,
            "category": ErrorCategory.INTERNAL.value,
            "retryable": False,
        }
    info = exc.to_dict()
    # The wire keeps its documented fields: a wall-clock time would make replays differ.
    del info["timestamp"], info["has_checkpoint"]
    info["message"] = redact_text(_message(exc))
    return info


_GENERIC = {
    ErrorCategory.NETWORK: "the connection to the model provider failed",
    ErrorCategory.TRANSIENT: "the model provider is temporarily unavailable",
    ErrorCategory.PROVIDER: "the model provider failed",
    ErrorCategory.MODEL: "the model failed to produce a usable answer",
    ErrorCategory.CONTENT: "the answer was rejected",
    ErrorCategory.FATAL: "the request cannot be completed",
    ErrorCategory.INTERNAL: "internal error",
}

# Errors whose messages l0 writes itself (no foreign text in them).
_OWN_MESSAGES = (
    StreamTimeoutError,
    ContentError,
    TruncatedStreamError,
    AbortedError,
    OutputRetractedError,
)


def _message(err: L0Error) -> str:
    """A message safe to show: a provider's own API message (it had an HTTP status) or one
    l0 wrote; never the text of an arbitrary exception l0 classified (a generic text for its
    category instead)."""
    if isinstance(err, RetriesExhaustedError):
        last = err.last_error
        tail = _message(last) if isinstance(last, L0Error) else _GENERIC[ErrorCategory.INTERNAL]
        return f"all attempts failed; last error: {tail}"
    if err.status_code is not None or isinstance(err, _OWN_MESSAGES):
        return err.message
    # Classified from an arbitrary exception (its text may name hosts, paths, internals).
    return _GENERIC[err.category]


def _last_l0(exc: BaseException) -> L0Error | None:
    if isinstance(exc, RetriesExhaustedError):
        last = exc.last_error
        return last if isinstance(last, L0Error) else None
    return exc if isinstance(exc, L0Error) else None


def http_status(exc: BaseException) -> int:
    """The HTTP status for an error met before the response started.

    429 for rate limits, 400 for requests the provider rejected as bad, 503 when the
    providers are unreachable or overloaded (network, timeouts, 5xx), 502 for any other
    upstream failure (auth, content), 500 for internal errors.
    """
    err = _last_l0(exc)
    if err is None:
        return 500
    if err.code is ErrorCode.RATE_LIMITED or err.status_code == 429:
        return 429
    if err.code in (ErrorCode.BAD_REQUEST, ErrorCode.CONTEXT_LENGTH_EXCEEDED):
        return 400
    if err.category in (ErrorCategory.NETWORK, ErrorCategory.TRANSIENT):
        return 503
    if err.code is ErrorCode.TOTAL_TIMEOUT:
        return 503
    if err.category is ErrorCategory.INTERNAL:
        return 500
    return 502


def retry_after(exc: BaseException) -> float | None:
    """The provider's ``Retry-After`` behind ``exc``, if any."""
    if isinstance(exc, L0Error) and exc.retry_after is not None:
        return exc.retry_after
    err = _last_l0(exc)
    return err.retry_after if err is not None else None


class NoticeRelay:
    """An ``on_event`` handler turning retry/fallback lifecycle events into wire events.

    The core awaits ``on_event`` handlers inline, in order, in the task that iterates the
    stream; publishing from here therefore interleaves notices with tokens exactly as they
    happened (a ``retry`` notice always precedes the ``reset`` and the tokens of the new
    attempt), and a notice is sent during the backoff wait, not after it.
    """

    __slots__ = ("_code", "l0_passive", "publish", "user")

    def __init__(self, user: Callable[[ObservabilityEvent], Any] | None = None) -> None:
        self.user = user
        self.publish: Publish | None = None
        self._code: str | None = None
        self.l0_passive = user is None or bool(getattr(user, "l0_passive", False))
        """Passive (see :class:`~l0.runtime.events.Emitter`) unless the user's handler is not:
        the relay itself needs no ``CHECKPOINT_SAVED``, which would take every few tokens
        off the loop's fast path."""

    async def __call__(self, event: ObservabilityEvent) -> None:
        name = event.name
        if name == EventName.ERROR.value:
            self._code = event.data.get("code")
        elif name == EventName.RETRY_ATTEMPT.value and self.publish is not None:
            data = event.data
            await self.publish(
                "retry",
                {
                    "attempt": event.attempt + 1,
                    "retry": data.get("retry"),
                    "reason": data.get("category"),
                    "code": self._code,
                    "delay": data.get("delay"),
                },
            )
        elif name == EventName.FALLBACK_START.value and self.publish is not None:
            data = event.data
            await self.publish(
                "fallback",
                {"index": data.get("to_index"), "reason": data.get("reason"), "code": self._code},
            )
        if self.user is not None:
            result = self.user(event)
            if isinstance(result, Awaitable):
                await result
