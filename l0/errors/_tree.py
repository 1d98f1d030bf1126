"""The l0 error classes and categories (the tree is drawn in :mod:`l0.errors`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from enum import Enum
from typing import Any, ClassVar

from l0.redaction import redact_text

__all__ = [
    "AbortedError",
    "AuthenticationError",
    "BadRequestError",
    "CircuitOpenError",
    "ContentError",
    "DriftError",
    "ErrorCategory",
    "ErrorCode",
    "GuardrailViolationError",
    "InvalidStreamError",
    "L0Error",
    "MalformedChunkError",
    "NetworkError",
    "NetworkErrorKind",
    "ProviderError",
    "RateLimitError",
    "RefusalError",
    "RetriesExhaustedError",
    "RetryBudgetExhaustedError",
    "ServerError",
    "StreamTimeoutError",
    "StructuredOutputError",
    "TruncatedStreamError",
    "ZeroOutputError",
]


class ErrorCategory(str, Enum):
    """What kind of failure an error is; drives the retry decision."""

    NETWORK = "network"
    """The transport failed: retried, not counted toward ``Retry.attempts``."""
    TRANSIENT = "transient"
    """Rate limits, overload, 5xx, stalls: retried, not counted toward ``Retry.attempts``."""
    MODEL = "model"
    """The model failed to produce a usable stream: retried and counted."""
    CONTENT = "content"
    """The output broke a guardrail, drifted or was empty: retried and counted."""
    PROVIDER = "provider"
    """An unclassified provider-side failure: retried and counted."""
    FATAL = "fatal"
    """Retrying the same source cannot help (auth, bad request, abort): next fallback."""
    INTERNAL = "internal"
    """A bug or misuse (l0's or the caller's): never retried, the run stops."""


class ErrorCode(str, Enum):
    """Stable machine-readable codes carried by :attr:`L0Error.code`."""

    NETWORK_ERROR = "NETWORK_ERROR"
    MALFORMED_CHUNK = "MALFORMED_CHUNK"
    TRUNCATED_STREAM = "TRUNCATED_STREAM"
    INITIAL_TOKEN_TIMEOUT = "INITIAL_TOKEN_TIMEOUT"
    INTER_TOKEN_TIMEOUT = "INTER_TOKEN_TIMEOUT"
    TOTAL_TIMEOUT = "TOTAL_TIMEOUT"
    RATE_LIMITED = "RATE_LIMITED"
    SERVER_ERROR = "SERVER_ERROR"
    PROVIDER_ERROR = "PROVIDER_ERROR"
    AUTHENTICATION_ERROR = "AUTHENTICATION_ERROR"
    BAD_REQUEST = "BAD_REQUEST"
    CONTEXT_LENGTH_EXCEEDED = "CONTEXT_LENGTH_EXCEEDED"
    MODEL_ERROR = "MODEL_ERROR"
    REFUSAL = "REFUSAL"
    ZERO_OUTPUT = "ZERO_OUTPUT"
    GUARDRAIL_VIOLATION = "GUARDRAIL_VIOLATION"
    FATAL_GUARDRAIL_VIOLATION = "FATAL_GUARDRAIL_VIOLATION"
    DRIFT_DETECTED = "DRIFT_DETECTED"
    STRUCTURED_OUTPUT_INVALID = "STRUCTURED_OUTPUT_INVALID"
    STREAM_ABORTED = "STREAM_ABORTED"
    OUTPUT_RETRACTED = "OUTPUT_RETRACTED"
    RETRIES_EXHAUSTED = "RETRIES_EXHAUSTED"
    RETRY_BUDGET_EXHAUSTED = "RETRY_BUDGET_EXHAUSTED"
    CIRCUIT_OPEN = "CIRCUIT_OPEN"
    INVALID_STREAM = "INVALID_STREAM"
    ADAPTER_NOT_FOUND = "ADAPTER_NOT_FOUND"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class NetworkErrorKind(str, Enum):
    """Finer kinds of network failure; ``Retry.error_delays`` keys on these values."""

    CONNECTION_DROPPED = "connection_dropped"
    CONNECTION_RESET = "connection_reset"
    CONNECTION_REFUSED = "connection_refused"
    TIMEOUT = "timeout"
    DNS = "dns"
    TLS = "tls"
    INCOMPLETE = "incomplete"
    MALFORMED = "malformed"
    UNKNOWN = "unknown"


class L0Error(Exception):
    """Root of every error l0 raises.

    Attributes:
        code: A stable :class:`ErrorCode`.
        category: The :class:`ErrorCategory` that drives retries.
        retry_after: Seconds the provider asked to wait before retrying, if it said.
        status_code: The HTTP status behind the error, if any.
        request_id: The provider's request id, if it sent one.
        checkpoint: The text delivered to the consumer before the error (set by the
            runtime on every error met after text was delivered; empty otherwise).
        timestamp: When the error was created (seconds since the epoch, ``time.time()``).
    """

    default_code: ErrorCode = ErrorCode.INTERNAL_ERROR
    default_category: ErrorCategory = ErrorCategory.INTERNAL

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | None = None,
        category: ErrorCategory | None = None,
        retry_after: float | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        checkpoint: str = "",
    ) -> None:
        # Provider messages may echo a credential back: l0 never passes one on.
        message = redact_text(message)
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.category = category or self.default_category
        self.retry_after = retry_after
        self.status_code = status_code
        self.request_id = request_id
        self.checkpoint = checkpoint
        self.timestamp = time.time()

    @property
    def has_checkpoint(self) -> bool:
        """True when text had been delivered before the error (:attr:`checkpoint`)."""
        return bool(self.checkpoint)

    @property
    def retryable(self) -> bool:
        """True unless the category forbids retrying the same source."""
        return self.category not in (ErrorCategory.FATAL, ErrorCategory.INTERNAL)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe summary (no traceback, no request body)."""
        out: dict[str, Any] = {
            "type": type(self).__name__,
            "message": self.message,
            "code": self.code.value,
            "category": self.category.value,
            "retryable": self.retryable,
            "timestamp": self.timestamp,
            "has_checkpoint": self.has_checkpoint,
        }
        if self.status_code is not None:
            out["status_code"] = self.status_code
        if self.retry_after is not None:
            out["retry_after"] = self.retry_after
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code.value})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles as its class, message and attributes, whatever its ``__init__`` takes
        (across processes: multiprocessing, task queues)."""
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[L0Error], args: tuple[Any, ...], state: dict[str, Any]) -> L0Error:
    """An unpickled :class:`L0Error` (see :meth:`L0Error.__reduce__`)."""
    exc = cls.__new__(cls)
    Exception.__init__(exc, *args)
    exc.__dict__.update(state)
    return exc


class NetworkError(L0Error):
    """The connection failed or the stream broke in transit.

    Attributes:
        kind: The :class:`NetworkErrorKind`, used for per-kind retry delays.
    """

    default_code = ErrorCode.NETWORK_ERROR
    default_category = ErrorCategory.NETWORK

    def __init__(
        self,
        message: str,
        *,
        kind: NetworkErrorKind = NetworkErrorKind.UNKNOWN,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.kind = kind


class TruncatedStreamError(NetworkError):
    """The stream ended without a finish reason or end marker (a silent cut)."""

    default_code = ErrorCode.TRUNCATED_STREAM

    def __init__(self, message: str = "stream ended without a finish reason", **kwargs: Any):
        kwargs.setdefault("kind", NetworkErrorKind.INCOMPLETE)
        super().__init__(message, **kwargs)


class MalformedChunkError(NetworkError):
    """A provider chunk arrived whole but its shape is not one the protocol allows (a choice
    whose ``delta`` is a string, ``choices`` that is an object, a field of the wrong type).

    Treated like a dropped connection: category ``network``, retried (continuing from the
    checkpoint when continuation is on), then the next fallback.

    Attributes:
        chunk: The offending chunk as text, credentials masked, at most
            :data:`MAX_CHUNK_TEXT` characters (``""`` when none was given).
    """

    default_code = ErrorCode.MALFORMED_CHUNK

    def __init__(self, message: str, *, chunk: object = None, **kwargs: Any) -> None:
        kwargs.setdefault("kind", NetworkErrorKind.MALFORMED)
        super().__init__(message, **kwargs)
        self.chunk = chunk_text(chunk)


MAX_CHUNK_TEXT = 2000
"""Longest chunk text a :class:`MalformedChunkError` keeps."""


def chunk_text(chunk: object) -> str:
    """``chunk`` as bounded, redacted text (``repr`` of anything; never raises)."""
    if chunk is None:
        return ""
    try:
        text = chunk if isinstance(chunk, str) else repr(chunk)
    except Exception:  # a hostile __repr__, or nesting too deep to print
        text = f"<{type(chunk).__name__}>"
    if len(text) > MAX_CHUNK_TEXT:
        text = text[:MAX_CHUNK_TEXT] + "…"
    return redact_text(text)


class StreamTimeoutError(L0Error, TimeoutError):
    """A deadline passed: no first token, a stall between tokens, or the overall limit.

    Attributes:
        kind: ``"initial_token"``, ``"inter_token"`` or ``"total"``.
        timeout: The configured limit in seconds.
        elapsed: Seconds actually waited.
    """

    default_code = ErrorCode.INTER_TOKEN_TIMEOUT
    default_category = ErrorCategory.TRANSIENT

    _CODES: ClassVar[dict[str, ErrorCode]] = {
        "initial_token": ErrorCode.INITIAL_TOKEN_TIMEOUT,
        "inter_token": ErrorCode.INTER_TOKEN_TIMEOUT,
        "total": ErrorCode.TOTAL_TIMEOUT,
    }

    def __init__(self, kind: str, timeout: float, elapsed: float, **kwargs: Any) -> None:
        if kind not in self._CODES:
            raise ValueError(f"unknown timeout kind {kind!r}")
        kwargs.setdefault("code", self._CODES[kind])
        if kind == "total":
            # The overall deadline ends the run: nothing can be retried past it.
            kwargs.setdefault("category", ErrorCategory.FATAL)
        message = f"{kind.replace('_', '-')} timeout: {elapsed:.3f}s waited, limit {timeout:g}s"
        super().__init__(message, **kwargs)
        self.kind = kind
        self.timeout = timeout
        self.elapsed = elapsed


class ProviderError(L0Error):
    """The provider answered with an error (HTTP status or an in-band error event)."""

    default_code = ErrorCode.PROVIDER_ERROR
    default_category = ErrorCategory.PROVIDER


class RateLimitError(ProviderError):
    """429 Too Many Requests; honours ``retry_after``."""

    default_code = ErrorCode.RATE_LIMITED
    default_category = ErrorCategory.TRANSIENT


class ServerError(ProviderError):
    """5xx, 529 or an in-band overloaded/server error."""

    default_code = ErrorCode.SERVER_ERROR
    default_category = ErrorCategory.TRANSIENT


class AuthenticationError(ProviderError):
    """401/403: the credentials are wrong for this source."""

    default_code = ErrorCode.AUTHENTICATION_ERROR
    default_category = ErrorCategory.FATAL


class BadRequestError(ProviderError):
    """400/404/413/422 or a context-window overflow: the same request cannot succeed."""

    default_code = ErrorCode.BAD_REQUEST
    default_category = ErrorCategory.FATAL


class CircuitOpenError(ProviderError):
    """A :class:`l0.CircuitBreaker` refused to call a source whose circuit is open.

    Category ``fatal``: the source is not called, and the run moves to the next fallback.

    Attributes:
        key: The breaker key of the refused source.
        retry_after: Seconds until the circuit lets a trial call through (also in
            :attr:`retry_in`).
    """

    default_code = ErrorCode.CIRCUIT_OPEN
    default_category = ErrorCategory.FATAL

    def __init__(self, key: str, retry_in: float, **kwargs: Any) -> None:
        kwargs.setdefault("retry_after", retry_in)
        super().__init__(
            f"circuit open for {key!r}: source not called (trial in {retry_in:.3g}s)", **kwargs
        )
        self.key = key
        self.retry_in = retry_in


class ContentError(L0Error):
    """The stream worked but its content is unusable."""

    default_code = ErrorCode.MODEL_ERROR
    default_category = ErrorCategory.CONTENT


class ZeroOutputError(ContentError):
    """The stream ended with no content (empty or whitespace only)."""

    default_code = ErrorCode.ZERO_OUTPUT

    def __init__(self, message: str = "stream produced no output", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class GuardrailViolationError(ContentError):
    """A guardrail rule failed; ``violations`` lists what it found.

    A fatal violation has category ``fatal`` (the stream stops at once and the source is not
    retried); a recoverable one has category ``content`` (retried, counted).
    """

    default_code = ErrorCode.GUARDRAIL_VIOLATION

    def __init__(self, message: str, *, violations: Sequence[Any] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.violations = list(violations)


class DriftError(ContentError):
    """The output drifted from its expected course."""

    default_code = ErrorCode.DRIFT_DETECTED

    def __init__(self, message: str, *, types: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.types = tuple(types)


class RefusalError(ContentError):
    """The model refused to answer (e.g. an OpenAI ``refusal``); ``refusal`` holds its text.

    Category ``fatal``: asking the same model the same question again rarely changes a
    refusal, so l0 moves to the next fallback instead of retrying.
    """

    default_code = ErrorCode.REFUSAL
    default_category = ErrorCategory.FATAL

    def __init__(self, refusal: str, **kwargs: Any) -> None:
        super().__init__(f"the model refused: {refusal}", **kwargs)
        self.refusal = refusal


class StructuredOutputError(L0Error):
    """The output could not be parsed and validated against the requested schema.

    Attributes:
        raw: The raw text of the last attempt.
        corrections: Every auto-correction tried.
        validation_errors: The validator's errors (pydantic ``errors()`` dicts).
    """

    default_code = ErrorCode.STRUCTURED_OUTPUT_INVALID
    default_category = ErrorCategory.CONTENT

    def __init__(
        self,
        message: str,
        *,
        raw: str = "",
        corrections: Sequence[str] = (),
        validation_errors: Sequence[Any] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.raw = raw
        self.corrections = list(corrections)
        self.validation_errors = list(validation_errors)


class AbortedError(L0Error):
    """The caller aborted the stream; nothing further is attempted."""

    default_code = ErrorCode.STREAM_ABORTED
    default_category = ErrorCategory.FATAL

    def __init__(self, message: str = "stream aborted", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class OutputRetractedError(L0Error):
    """l0 restarted the answer after part of it was sent, on a surface that cannot take text
    back (an OpenAI-format or Vercel SSE stream, a LangChain ``stream()``): the stream ends
    here instead of gluing a second answer onto the first.

    The message's advice follows the cause: ``release="checked"`` (the default when a rule
    can reject text) for a guardrail rejection; continuation for a failure of a source that
    can continue (a chat model, not a whole chain); and always a reset-aware surface
    (``invoke``/``ainvoke``, ``l0.run``, the ``l0`` SSE format), which never raises it.

    Attributes:
        cause: The error that made l0 restart (a guardrail violation, a drop it could not
            continue, …).
        shown: Characters of the abandoned answer already sent.
    """

    default_code = ErrorCode.OUTPUT_RETRACTED
    default_category = ErrorCategory.FATAL

    def __init__(self, cause: BaseException | None = None, shown: int = 0, **kwargs: Any) -> None:
        why = f" (after {type(cause).__name__})" if cause is not None else ""
        super().__init__(
            f"the answer restarted after {shown} character(s) were sent and this stream cannot "
            f"take them back{why}; {self.advice(cause)}",
            **kwargs,
        )
        self.cause = cause
        self.shown = shown

    @staticmethod
    def advice(cause: BaseException | None) -> str:
        """What avoids the error, for a restart caused by ``cause``."""
        surfaces = (
            "or read a reset-aware surface (invoke/ainvoke, l0.run, the l0 SSE format), "
            "which returns only the final answer"
        )
        if isinstance(cause, GuardrailViolationError):
            return (
                "release='checked' holds text back until every rule has passed over it "
                f"(the default when a rule can reject text), {surfaces}"
            )
        if isinstance(cause, ContentError):
            return (
                "a content check rejected text already sent (release='checked' holds back "
                f"only for guardrail rules); {surfaces}"
            )
        if cause is not None:
            return (
                "continuation=True resumes from the sent text instead of restarting, when the "
                f"source can continue (a chat model, not a whole chain); {surfaces}"
            )
        return (
            "release='checked' avoids it for guardrail rejections and continuation for "
            f"failures of a source that can continue; {surfaces}"
        )


class RetriesExhaustedError(L0Error):
    """Every retry on every source failed.

    Its category and code describe the last error; ``errors`` holds every error met.
    """

    default_code = ErrorCode.RETRIES_EXHAUSTED

    def __init__(self, message: str, *, errors: Sequence[BaseException], **kwargs: Any) -> None:
        last = errors[-1] if errors else None
        if isinstance(last, L0Error):
            kwargs.setdefault("category", last.category)
            kwargs.setdefault("status_code", last.status_code)
            kwargs.setdefault("retry_after", last.retry_after)
        super().__init__(message, **kwargs)
        self.errors = list(errors)

    @property
    def last_error(self) -> BaseException | None:
        """The error that ended the run."""
        return self.errors[-1] if self.errors else None


class RetryBudgetExhaustedError(RetriesExhaustedError):
    """A retry was due but the :class:`l0.RetryBudget` of its key refused it (a brownout:
    too many retries already), and no fallback was left.

    Its category is the last error's; ``errors`` holds every error met.

    Attributes:
        key: The budget key whose bucket was below half.
    """

    default_code = ErrorCode.RETRY_BUDGET_EXHAUSTED

    def __init__(self, key: str, *, errors: Sequence[BaseException], **kwargs: Any) -> None:
        super().__init__(
            f"retry budget for {key!r} exhausted: retry refused after {len(errors)} error(s)",
            errors=errors,
            **kwargs,
        )
        self.key = key


class InvalidStreamError(L0Error):
    """A source returned something l0 cannot read, or no adapter matched it."""

    default_code = ErrorCode.INVALID_STREAM
    default_category = ErrorCategory.INTERNAL
