"""Exception -> l0 error: by type and status first, whole words only as a last resort."""

from __future__ import annotations

import json
import socket
import ssl

import httpx
import httpx2
import openai
import pytest

import l0
from l0.errors import ErrorCategory, ErrorCode, NetworkErrorKind, to_l0_error

NET = ErrorCategory.NETWORK


def kind(exc: BaseException) -> NetworkErrorKind:
    err = to_l0_error(exc)
    assert isinstance(err, l0.NetworkError), err
    return err.kind


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ConnectionResetError("reset"), NetworkErrorKind.CONNECTION_RESET),
        (ConnectionRefusedError("refused"), NetworkErrorKind.CONNECTION_REFUSED),
        (BrokenPipeError(), NetworkErrorKind.CONNECTION_DROPPED),
        (ConnectionAbortedError(), NetworkErrorKind.CONNECTION_DROPPED),
        (TimeoutError(), NetworkErrorKind.TIMEOUT),
        (socket.gaierror(-2, "Name or service not known"), NetworkErrorKind.DNS),
        (ssl.SSLError(1, "bad record mac"), NetworkErrorKind.TLS),
        (EOFError(), NetworkErrorKind.INCOMPLETE),
        (json.JSONDecodeError("x", "{", 1), NetworkErrorKind.MALFORMED),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), NetworkErrorKind.MALFORMED),
    ],
)
def test_builtin_transport_errors(exc: BaseException, expected: NetworkErrorKind) -> None:
    assert kind(exc) is expected
    assert l0.is_network_error(exc)
    assert l0.is_retryable(exc)


def test_certificate_errors_are_fatal() -> None:
    err = to_l0_error(ssl.SSLCertVerificationError(1, "certificate verify failed"))
    assert err is not None and err.category is ErrorCategory.FATAL
    assert not l0.is_retryable(ssl.SSLCertVerificationError(1, "x"))


@pytest.mark.parametrize("mod", [httpx, httpx2], ids=["httpx", "httpx2"])
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ConnectError", NetworkErrorKind.CONNECTION_REFUSED),
        ("ConnectTimeout", NetworkErrorKind.TIMEOUT),
        ("ReadTimeout", NetworkErrorKind.TIMEOUT),
        ("ReadError", NetworkErrorKind.CONNECTION_DROPPED),
        ("WriteError", NetworkErrorKind.CONNECTION_DROPPED),
        ("RemoteProtocolError", NetworkErrorKind.INCOMPLETE),
        ("DecodingError", NetworkErrorKind.MALFORMED),
    ],
)
def test_httpx_and_httpx2_transport_errors(
    mod: object, name: str, expected: NetworkErrorKind
) -> None:
    exc = getattr(mod, name)("peer closed connection without sending complete message body")
    assert kind(exc) is expected


def test_connect_error_caused_by_dns_failure_is_dns() -> None:
    try:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as inner:
            raise httpx2.ConnectError("[Errno -2] Name or service not known") from inner
    except httpx2.ConnectError as exc:
        assert kind(exc) is NetworkErrorKind.DNS


def _status_error(status: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    request = httpx2.Request("POST", "https://api.example.test/v1/chat/completions")
    response = httpx2.Response(status, headers=headers or {}, request=request, json={"error": {}})
    cls = {429: openai.RateLimitError, 401: openai.AuthenticationError}.get(
        status, openai.APIStatusError
    )
    return cls(f"Error code: {status}", response=response, body=None)


@pytest.mark.parametrize(
    ("status", "category", "code"),
    [
        (429, ErrorCategory.TRANSIENT, ErrorCode.RATE_LIMITED),
        (500, ErrorCategory.TRANSIENT, ErrorCode.SERVER_ERROR),
        (503, ErrorCategory.TRANSIENT, ErrorCode.SERVER_ERROR),
        (529, ErrorCategory.TRANSIENT, ErrorCode.SERVER_ERROR),
        (408, ErrorCategory.TRANSIENT, ErrorCode.SERVER_ERROR),
        (401, ErrorCategory.FATAL, ErrorCode.AUTHENTICATION_ERROR),
        (403, ErrorCategory.FATAL, ErrorCode.AUTHENTICATION_ERROR),
        (400, ErrorCategory.FATAL, ErrorCode.BAD_REQUEST),
        (404, ErrorCategory.FATAL, ErrorCode.BAD_REQUEST),
        (422, ErrorCategory.FATAL, ErrorCode.BAD_REQUEST),
    ],
)
def test_sdk_status_errors_by_status(status: int, category: ErrorCategory, code: ErrorCode) -> None:
    exc = _status_error(status, {"retry-after": "2", "x-request-id": "req_1"})
    err = to_l0_error(exc)
    assert err is not None
    assert (err.category, err.code, err.status_code) == (category, code, status)
    assert err.retry_after == 2.0
    assert err.request_id == "req_1"
    assert err.__cause__ is exc


def test_sdk_connection_and_timeout_errors() -> None:
    request = httpx2.Request("POST", "https://api.example.test/v1")
    assert kind(openai.APITimeoutError(request=request)) is NetworkErrorKind.TIMEOUT
    try:
        try:
            raise ConnectionResetError("reset")
        except ConnectionResetError as inner:
            raise openai.APIConnectionError(request=request) from inner
    except openai.APIConnectionError as exc:
        assert kind(exc) is NetworkErrorKind.CONNECTION_RESET


def test_httpx_status_error_uses_the_response() -> None:
    request = httpx.Request("GET", "https://x.test")
    response = httpx.Response(503, headers={"retry-after-ms": "1500"}, request=request)
    err = to_l0_error(httpx.HTTPStatusError("boom", request=request, response=response))
    assert err is not None and err.code is ErrorCode.SERVER_ERROR and err.retry_after == 1.5


@pytest.mark.parametrize(
    "exc",
    [
        KeyError("choices"),
        TypeError("x"),
        AttributeError("y"),
        ValueError("z"),
        IndexError(0),
        NameError("n"),
        DeprecationWarning("old"),
    ],
)
def test_programming_errors_are_never_retried(exc: BaseException) -> None:
    assert to_l0_error(exc) is None
    assert l0.categorize_error(exc) is ErrorCategory.INTERNAL
    assert not l0.is_retryable(exc)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Connection reset by peer", NetworkErrorKind.CONNECTION_RESET),
        ("upstream: incomplete chunked read", NetworkErrorKind.INCOMPLETE),
        ("the request timed out", NetworkErrorKind.TIMEOUT),
        ("getaddrinfo failed", NetworkErrorKind.DNS),
        ("Broken pipe", NetworkErrorKind.CONNECTION_DROPPED),
    ],
)
def test_untyped_errors_match_whole_words(message: str, expected: NetworkErrorKind) -> None:
    assert kind(RuntimeError(message)) is expected


@pytest.mark.parametrize(
    "message",
    [
        "The assessment failed",
        "I am certain of it",
        "addressed elsewhere",
        "timeouts_total metric",
        "sslv",
    ],
)
def test_words_inside_words_never_match(message: str) -> None:
    err = to_l0_error(RuntimeError(message))
    assert err is not None
    assert err.category is ErrorCategory.PROVIDER


def test_untyped_rate_limit_and_overload_words() -> None:
    assert to_l0_error(RuntimeError("Rate limit reached")).code is ErrorCode.RATE_LIMITED  # type: ignore[union-attr]
    assert to_l0_error(RuntimeError("Overloaded")).code is ErrorCode.SERVER_ERROR  # type: ignore[union-attr]


def test_l0_errors_pass_through_and_serialise_safely() -> None:
    err = l0.RateLimitError("slow down", status_code=429, retry_after=3.0)
    assert to_l0_error(err) is err
    assert err.to_dict() == {
        "type": "RateLimitError",
        "message": "slow down",
        "code": "RATE_LIMITED",
        "category": "transient",
        "retryable": True,
        "status_code": 429,
        "retry_after": 3.0,
        "timestamp": err.timestamp,
        "has_checkpoint": False,
    }
    assert isinstance(l0.StreamTimeoutError("inter_token", 1.0, 1.2), TimeoutError)
