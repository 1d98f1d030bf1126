"""Translate any exception into an :class:`~l0.errors.L0Error`, by type first.

Order of evidence:

1. An :class:`~l0.errors.L0Error` is taken as it is.
2. Programming errors in user code (``LookupError``, ``TypeError``, ``AttributeError``,
   ``NameError``, ``AssertionError``, ``ValueError`` other than decoding errors, …) map to
   ``None``: l0 re-raises them unchanged and never retries them.
3. Transport exceptions by class: builtin ``ConnectionError`` and friends, ``TimeoutError``,
   ``socket.gaierror``, ``ssl.SSLError``, ``EOFError``, anyio stream errors, and the transport
   errors of **both** ``httpx`` and ``httpx2`` (looked up in ``sys.modules``: a module that
   was never imported cannot have raised anything, so nothing is imported here).
4. Provider SDK errors by their HTTP status (``status_code``) and headers (``Retry-After``,
   ``retry-after-ms``, request id); the SDK's own connection/timeout classes by type.
5. Last resort, for untyped errors only (a bare ``Exception``/``RuntimeError``/``OSError``
   without errno): whole-word patterns on the message, e.g. ``connection reset``,
   ``timed out``, ``incomplete chunked read``. A word inside another word never matches
   ("assessment" is not "sse", "certain" is not "cert").
6. Anything else is a :class:`~l0.errors.ProviderError` (retried, counted toward attempts).
"""

from __future__ import annotations

import email.utils
import errno
import json
import re
import socket
import ssl
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from l0.errors._tree import (
    AuthenticationError,
    BadRequestError,
    ErrorCategory,
    ErrorCode,
    L0Error,
    NetworkError,
    NetworkErrorKind,
    ProviderError,
    RateLimitError,
    ServerError,
)

__all__ = [
    "categorize_error",
    "classify",
    "counts_toward_attempts",
    "error_from_status",
    "is_network_error",
    "is_retryable",
    "parse_retry_after",
    "to_l0_error",
]

_K = NetworkErrorKind

TRANSIENT_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})
_AUTH_STATUSES = frozenset({401, 403})

_PROGRAMMING_ERRORS: tuple[type[BaseException], ...] = (
    Warning,  # a warning turned into an error (-W error) is a configuration issue, not a fault
    LookupError,
    TypeError,
    AttributeError,
    NameError,
    AssertionError,
    NotImplementedError,
    ImportError,
    SyntaxError,
    ArithmeticError,
    RecursionError,
    MemoryError,
    StopIteration,
    StopAsyncIteration,
)

_ERRNO_KINDS = {
    errno.ECONNRESET: _K.CONNECTION_RESET,
    errno.ECONNREFUSED: _K.CONNECTION_REFUSED,
    errno.ECONNABORTED: _K.CONNECTION_DROPPED,
    errno.EPIPE: _K.CONNECTION_DROPPED,
    errno.ETIMEDOUT: _K.TIMEOUT,
    errno.EHOSTUNREACH: _K.CONNECTION_REFUSED,
    errno.ENETUNREACH: _K.CONNECTION_REFUSED,
    errno.ENETDOWN: _K.CONNECTION_REFUSED,
    errno.ENOTCONN: _K.CONNECTION_DROPPED,
}

# Untyped-error last resort: whole words only, checked in order.
_MESSAGE_PATTERNS: tuple[tuple[re.Pattern[str], NetworkErrorKind], ...] = tuple(
    (re.compile(rf"\b(?:{p})\b", re.IGNORECASE), kind)
    for p, kind in (
        (r"econnreset|connection reset|reset by peer", _K.CONNECTION_RESET),
        (r"econnrefused|connection refused", _K.CONNECTION_REFUSED),
        (
            r"broken pipe|connection (?:dropped|closed|lost|aborted)|server disconnected"
            r"|peer closed connection|remote end closed connection",
            _K.CONNECTION_DROPPED,
        ),
        (
            r"incomplete chunked read|incomplete read|unexpected eof|premature (?:close|end)"
            r"|unexpected end of (?:data|stream)",
            _K.INCOMPLETE,
        ),
        (
            r"enotfound|getaddrinfo|name resolution|name or service not known|dns"
            r"|host not found|unknown host|nodename nor servname",
            _K.DNS,
        ),
        (r"timed out|timeout|etimedout|deadline exceeded", _K.TIMEOUT),
        (r"ssl|tls|handshake", _K.TLS),
    )
)
# A certificate that fails verification: as the typed ssl.SSLCertVerificationError, a TLS
# network error that retrying the same host cannot fix (fatal: the next fallback).
_CERTIFICATE_WORDS = re.compile(r"\bcertificate|\bself[- _]signed", re.IGNORECASE)
_RATE_LIMIT_WORDS = re.compile(r"\b(?:rate limit(?:ed)?|too many requests)\b", re.IGNORECASE)
_OVERLOAD_WORDS = re.compile(r"\b(?:overloaded|service unavailable)\b", re.IGNORECASE)


def classify(exc: BaseException) -> L0Error | None:
    """Map ``exc`` to an :class:`L0Error` (``None`` for programming errors)."""
    if isinstance(exc, L0Error):
        return exc
    for mapper in _MAPPERS:
        mapped = mapper(exc)
        if mapped is not None:
            return mapped
    if _is_programming_error(exc):
        return None
    return _from_message(exc)


def _is_programming_error(exc: BaseException) -> bool:
    if isinstance(exc, (UnicodeDecodeError, json.JSONDecodeError)):
        return False
    return isinstance(exc, (*_PROGRAMMING_ERRORS, ValueError))


def _network(exc: BaseException, kind: NetworkErrorKind, **kw: Any) -> NetworkError:
    code = ErrorCode.MALFORMED_CHUNK if kind is _K.MALFORMED else None
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    err = NetworkError(message, kind=kind, code=code, **kw)
    err.__cause__ = exc
    return err


def _from_builtin(exc: BaseException) -> L0Error | None:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _network(exc, _K.TLS, category=ErrorCategory.FATAL)
    if isinstance(exc, ssl.SSLError):
        return _network(exc, _K.TLS)
    if isinstance(exc, socket.gaierror):
        return _network(exc, _K.DNS)
    if isinstance(exc, ConnectionResetError):
        return _network(exc, _K.CONNECTION_RESET)
    if isinstance(exc, ConnectionRefusedError):
        return _network(exc, _K.CONNECTION_REFUSED)
    if isinstance(exc, ConnectionError):
        return _network(exc, _K.CONNECTION_DROPPED)
    if isinstance(exc, TimeoutError):
        return _network(exc, _K.TIMEOUT)
    if isinstance(exc, EOFError):
        return _network(exc, _K.INCOMPLETE)
    if isinstance(exc, (UnicodeDecodeError, json.JSONDecodeError)):
        return _network(exc, _K.MALFORMED)
    if isinstance(exc, OSError) and exc.errno in _ERRNO_KINDS:
        return _network(exc, _ERRNO_KINDS[exc.errno])
    return None


def _from_stdlib_modules(exc: BaseException) -> L0Error | None:
    http_client = sys.modules.get("http.client")
    if http_client is not None and isinstance(
        exc, (http_client.IncompleteRead, http_client.RemoteDisconnected)
    ):
        return _network(exc, _K.INCOMPLETE)
    anyio = sys.modules.get("anyio")
    if anyio is not None:
        if isinstance(exc, (anyio.BrokenResourceError, anyio.EndOfStream)):
            return _network(exc, _K.CONNECTION_DROPPED)
        if isinstance(exc, anyio.IncompleteRead):
            return _network(exc, _K.INCOMPLETE)
    return None


def _httpx_kind(mod: Any, exc: BaseException) -> NetworkErrorKind | None:
    """The network kind of an ``httpx``/``httpx2`` transport exception, else ``None``."""
    if isinstance(exc, mod.TimeoutException):
        return _K.TIMEOUT
    if isinstance(exc, mod.ConnectError):
        return _cause_kind(exc) or _K.CONNECTION_REFUSED
    if isinstance(exc, mod.RemoteProtocolError):
        return _K.INCOMPLETE
    if isinstance(exc, mod.DecodingError):
        return _K.MALFORMED
    if isinstance(exc, mod.ProtocolError):
        return _K.MALFORMED
    if isinstance(exc, (mod.ReadError, mod.WriteError, mod.CloseError)):
        return _cause_kind(exc) or _K.CONNECTION_DROPPED
    if isinstance(exc, mod.TransportError):
        return _cause_kind(exc) or _K.CONNECTION_DROPPED
    if isinstance(exc, mod.StreamClosed):
        return _K.CONNECTION_DROPPED
    return None


def _from_httpx(exc: BaseException) -> L0Error | None:
    for name in ("httpx2", "httpx"):
        mod = sys.modules.get(name)
        if mod is None:
            continue
        if isinstance(exc, mod.HTTPStatusError):
            resp = exc.response
            return _attach(
                error_from_status(
                    resp.status_code,
                    f"HTTP {resp.status_code} from {exc.request.url}",
                    headers=resp.headers,
                ),
                exc,
            )
        kind = _httpx_kind(mod, exc)
        if kind is not None:
            return _network(exc, kind)
    return None


def _cause_kind(exc: BaseException) -> NetworkErrorKind | None:
    """The kind of the first builtin transport error in ``exc``'s cause chain."""
    seen = 0
    cur = exc.__cause__ or exc.__context__
    while cur is not None and seen < 8:
        mapped = _from_builtin(cur)
        if isinstance(mapped, NetworkError):
            return mapped.kind
        cur = cur.__cause__ or cur.__context__
        seen += 1
    return None


def _from_sdk(exc: BaseException) -> L0Error | None:
    """OpenAI/Anthropic-style SDK errors (same Stainless base), by class then status."""
    for name in ("openai", "anthropic"):
        mod = sys.modules.get(name)
        if mod is None:
            continue
        if isinstance(exc, mod.APITimeoutError):
            return _network(exc, _K.TIMEOUT)
        if isinstance(exc, mod.APIConnectionError):
            return _network(exc, _cause_kind(exc) or _K.CONNECTION_DROPPED)
        if isinstance(exc, mod.APIResponseValidationError):
            return _network(exc, _K.MALFORMED)
    return _from_status_attribute(exc)


def _from_status_attribute(exc: BaseException) -> L0Error | None:
    status = getattr(exc, "status_code", None)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return None
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    message = getattr(exc, "message", None) or str(exc) or f"HTTP {status}"
    err = error_from_status(
        status,
        str(message),
        headers=headers if isinstance(headers, Mapping) else None,
        provider_code=getattr(exc, "code", None),
        request_id=getattr(exc, "request_id", None),
    )
    return _attach(err, exc)


def _attach(err: L0Error, exc: BaseException) -> L0Error:
    err.__cause__ = exc
    return err


def _from_message(exc: BaseException) -> L0Error:
    """Last resort for untyped errors: whole-word message patterns."""
    text = str(exc)
    if _CERTIFICATE_WORDS.search(text):
        return _network(exc, _K.TLS, category=ErrorCategory.FATAL)
    for pattern, kind in _MESSAGE_PATTERNS:
        if pattern.search(text):
            return _network(exc, kind)
    if _RATE_LIMIT_WORDS.search(text):
        return _attach(RateLimitError(text), exc)
    if _OVERLOAD_WORDS.search(text):
        return _attach(ServerError(text), exc)
    return _attach(ProviderError(f"{type(exc).__name__}: {text}" if text else repr(exc)), exc)


_MAPPERS: tuple[Callable[[BaseException], L0Error | None], ...] = (
    _from_builtin,
    _from_stdlib_modules,
    _from_httpx,
    _from_sdk,
)


def error_from_status(
    status: int,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    provider_code: object = None,
    request_id: object = None,
    now: float | None = None,
) -> ProviderError:
    """Build the :class:`ProviderError` subclass for an HTTP ``status``.

    408/409/425/429/5xx/529 are transient (429 as :class:`RateLimitError`); 401/403 are
    :class:`AuthenticationError`; other 4xx are :class:`BadRequestError` (fatal).
    ``Retry-After``/``retry-after-ms`` and the request id are read from ``headers``.
    """
    retry_after = parse_retry_after(headers, now=now) if headers is not None else None
    if request_id is None and headers is not None:
        request_id = headers.get("x-request-id") or headers.get("request-id")
    kw: dict[str, Any] = {
        "status_code": status,
        "retry_after": retry_after,
        "request_id": str(request_id) if request_id else None,
    }
    if status == 429:
        return RateLimitError(message, **kw)
    if status in TRANSIENT_STATUSES or status >= 500:
        return ServerError(message, **kw)
    if status in _AUTH_STATUSES:
        return AuthenticationError(message, **kw)
    if provider_code == "context_length_exceeded":
        return BadRequestError(message, code=ErrorCode.CONTEXT_LENGTH_EXCEEDED, **kw)
    if 400 <= status < 500:
        return BadRequestError(message, **kw)
    return ProviderError(message, **kw)


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date).

    Returns ``None`` when neither header is present or parseable; never negative.
    """
    if not headers:
        return None
    raw_ms = _header(headers, "retry-after-ms")
    if raw_ms is not None:
        try:
            return max(float(raw_ms) / 1000.0, 0.0)
        except ValueError:
            pass
    raw = _header(headers, "retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None and not hasattr(headers, "get_list"):
        # Plain dicts are case-sensitive; httpx/httpx2 Headers are not.
        lowered = {k.lower(): v for k, v in headers.items()}
        value = lowered.get(name)
    return value


def to_l0_error(exc: BaseException) -> L0Error | None:
    """Translate any exception into an :class:`L0Error`.

    Returns ``exc`` itself when it already is one, and ``None`` for programming errors in
    user code (``KeyError``, ``TypeError``, ``AttributeError``, …), which l0 never retries and
    re-raises unchanged. See the module docstring for the rules.
    """
    return classify(exc)


def categorize_error(exc: BaseException) -> ErrorCategory:
    """The :class:`ErrorCategory` of any exception (``INTERNAL`` for programming errors)."""
    mapped = classify(exc)
    return mapped.category if mapped is not None else ErrorCategory.INTERNAL


def is_network_error(exc: BaseException) -> bool:
    """True when ``exc`` is a transport failure (reset, refused, DNS, TLS, EOF, …)."""
    return categorize_error(exc) is ErrorCategory.NETWORK


def is_retryable(exc: BaseException) -> bool:
    """True when retrying the same source may succeed."""
    mapped = classify(exc)
    return mapped is not None and mapped.retryable


_COUNTED = frozenset({ErrorCategory.MODEL, ErrorCategory.CONTENT, ErrorCategory.PROVIDER})


def counts_toward_attempts(err: L0Error) -> bool:
    """True for model, content and provider errors (they count toward ``Retry.attempts``;
    network and transient errors count only toward ``Retry.max_retries``)."""
    return err.category in _COUNTED
