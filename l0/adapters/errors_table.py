"""The error-mapping table: which SDK exception becomes which l0 error.

This is data, not logic: the mapping itself lives in each adapter's ``map_error`` (and in
:mod:`l0.errors.classify` for transport errors). One parametrised test builds every SDK
exception listed here, maps it through the real adapter and checks the row; the same test
checks ``docs/adapters.md`` carries :func:`markdown_table` verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass

from l0.errors import (
    AuthenticationError,
    BadRequestError,
    ErrorCategory,
    L0Error,
    NetworkError,
    ProviderError,
    RateLimitError,
    ServerError,
)
from l0.errors.classify import counts_toward_attempts

__all__ = ["ERROR_TABLE", "ErrorRow", "markdown_row", "markdown_table"]

_T = ErrorCategory.TRANSIENT
_N = ErrorCategory.NETWORK
_F = ErrorCategory.FATAL


@dataclass(frozen=True, slots=True)
class ErrorRow:
    """One line of the table.

    Attributes:
        key: A unique id (the test builds the exception from it).
        sdk: ``openai``, ``anthropic``, ``litellm`` or ``transport``.
        exception: The exception as the SDK raises it.
        when: What causes it (status code, in-band event, transport failure).
        l0_error: The l0 error class it maps to.
        category: The l0 error category.
    """

    key: str
    sdk: str
    exception: str
    when: str
    l0_error: type[L0Error]
    category: ErrorCategory

    @property
    def retryable(self) -> bool:
        """Whether the same source is retried."""
        return self.category not in (ErrorCategory.FATAL, ErrorCategory.INTERNAL)

    @property
    def counts(self) -> bool:
        """Whether a retry counts toward ``Retry.attempts`` (all count toward max_retries)."""
        return counts_toward_attempts(self.l0_error(self.key, category=self.category))


def _row(
    key: str, exception: str, when: str, l0_error: type[L0Error], category: ErrorCategory
) -> ErrorRow:
    return ErrorRow(key, key.split(".")[0], exception, when, l0_error, category)


ERROR_TABLE: tuple[ErrorRow, ...] = (
    _row("openai.429", "openai.RateLimitError", "HTTP 429 (reads Retry-After)", RateLimitError, _T),
    _row("openai.500", "openai.InternalServerError", "HTTP 500", ServerError, _T),
    _row("openai.503", "openai.InternalServerError", "HTTP 503", ServerError, _T),
    _row("openai.401", "openai.AuthenticationError", "HTTP 401", AuthenticationError, _F),
    _row("openai.403", "openai.PermissionDeniedError", "HTTP 403", AuthenticationError, _F),
    _row("openai.400", "openai.BadRequestError", "HTTP 400", BadRequestError, _F),
    _row(
        "openai.context",
        "openai.BadRequestError",
        "HTTP 400, code context_length_exceeded",
        BadRequestError,
        _F,
    ),
    _row(
        "openai.inband",
        "openai.APIError",
        "error event in a 200 stream (server_error)",
        ServerError,
        _T,
    ),
    _row(
        "openai.connection",
        "openai.APIConnectionError",
        "connection dropped (wraps the httpx2 error)",
        NetworkError,
        _N,
    ),
    _row(
        "openai.inband_unknown",
        "openai.APIError",
        "error event in a 200 stream (unknown type)",
        ProviderError,
        ErrorCategory.PROVIDER,
    ),
    _row("openai.timeout", "openai.APITimeoutError", "request timed out", NetworkError, _N),
    _row(
        "anthropic.inband",
        "anthropic.APIStatusError",
        "error event in a 200 stream (overloaded_error)",
        ServerError,
        _T,
    ),
    _row("anthropic.529", "anthropic.OverloadedError", "HTTP 529", ServerError, _T),
    _row(
        "anthropic.429",
        "anthropic.RateLimitError",
        "HTTP 429 (reads Retry-After)",
        RateLimitError,
        _T,
    ),
    _row("anthropic.500", "anthropic.InternalServerError", "HTTP 500", ServerError, _T),
    _row("anthropic.401", "anthropic.AuthenticationError", "HTTP 401", AuthenticationError, _F),
    _row("anthropic.400", "anthropic.BadRequestError", "HTTP 400", BadRequestError, _F),
    _row(
        "litellm.429",
        "litellm.RateLimitError",
        "HTTP 429 (reads Retry-After)",
        RateLimitError,
        _T,
    ),
    _row("litellm.503", "litellm.ServiceUnavailableError", "HTTP 503", ServerError, _T),
    _row("litellm.500", "litellm.InternalServerError", "HTTP 500", ServerError, _T),
    _row("litellm.timeout", "litellm.Timeout", "request timed out", NetworkError, _N),
    _row("litellm.connection", "litellm.APIConnectionError", "connection failed", NetworkError, _N),
    _row(
        "litellm.context",
        "litellm.ContextWindowExceededError",
        "prompt too long",
        BadRequestError,
        _F,
    ),
    _row("litellm.401", "litellm.AuthenticationError", "HTTP 401", AuthenticationError, _F),
    _row(
        "litellm.midstream_drop",
        "litellm.MidStreamFallbackError",
        "stream broke or ended without finish_reason",
        NetworkError,
        _N,
    ),
    _row(
        "litellm.midstream_overloaded",
        "litellm.MidStreamFallbackError",
        "in-band overloaded error mid-stream",
        ServerError,
        _T,
    ),
    _row(
        "transport.httpx2",
        "httpx2.ReadError",
        "raw, mid-stream (the anthropic SDK lets it through)",
        NetworkError,
        _N,
    ),
    _row(
        "transport.httpx", "httpx.RemoteProtocolError", "incomplete chunked read", NetworkError, _N
    ),
)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def markdown_row(row: ErrorRow) -> str:
    """One table line."""
    retried = "yes" if row.retryable else "no (next fallback)"
    return (
        f"| `{row.exception}` | {row.when} | `{row.l0_error.__name__}` | "
        f"{row.category.value} | {retried} | {_yes(row.counts)} |"
    )


def markdown_table() -> str:
    """The table as Markdown (docs/adapters.md embeds it verbatim)."""
    lines = [
        "| SDK exception | when | l0 error | category | retried | counts toward attempts |",
        "|---|---|---|---|---|---|",
    ]
    lines += [markdown_row(row) for row in ERROR_TABLE]
    return "\n".join(lines) + "\n"
