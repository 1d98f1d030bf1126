"""One parametrised test over the error-mapping table: every row's SDK exception, built as
the SDK builds it, maps through the real adapter to the row's l0 error, and the row is in
docs/adapters.md exactly as generated."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anthropic
import httpx
import httpx2
import litellm
import openai
import pytest

from l0.adapters import get_adapter
from l0.adapters.errors_table import ERROR_TABLE, ErrorRow, markdown_row, markdown_table
from l0.errors import to_l0_error
from l0.runtime.retry import counts_toward_attempts

DOC = Path(__file__).resolve().parents[3] / "docs" / "adapters.md"
OA_URL = "https://api.openai.com/v1/chat/completions"
AN_URL = "https://api.anthropic.com/v1/messages"


def _resp2(status: int, url: str, headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.Response(status, headers=headers, request=httpx2.Request("POST", url))


def _resp1(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=httpx.Request("POST", OA_URL))


def _openai_status(cls: type[openai.APIStatusError], status: int, code: str | None = None):
    body = {"message": "boom", "type": "x", "code": code}
    headers = {"retry-after": "3", "x-request-id": "req_1"} if status == 429 else {}
    return cls("boom", response=_resp2(status, OA_URL, headers), body=body)


def _anthropic_status(cls: type[anthropic.APIStatusError], status: int, kind: str):
    body = {"type": "error", "error": {"type": kind, "message": "boom"}}
    headers = {"retry-after": "3"} if status == 429 else {}
    return cls("boom", response=_resp2(status, AN_URL, headers), body=body)


def _openai_connection() -> BaseException:
    exc = openai.APIConnectionError(request=httpx2.Request("POST", OA_URL))
    exc.__cause__ = httpx2.ReadError("connection reset")
    return exc


def _midstream(original: Exception) -> BaseException:
    return litellm.exceptions.MidStreamFallbackError(
        "mid-stream",
        model="gpt",
        llm_provider="openai",
        original_exception=original,
        generated_content="partial",
    )


LL = {"llm_provider": "openai", "model": "gpt-4o-mini"}
FACTORIES: dict[str, Callable[[], BaseException]] = {
    "openai.429": lambda: _openai_status(openai.RateLimitError, 429, "rate_limit_exceeded"),
    "openai.500": lambda: _openai_status(openai.InternalServerError, 500),
    "openai.503": lambda: _openai_status(openai.InternalServerError, 503),
    "openai.401": lambda: _openai_status(openai.AuthenticationError, 401, "invalid_api_key"),
    "openai.403": lambda: _openai_status(openai.PermissionDeniedError, 403),
    "openai.400": lambda: _openai_status(openai.BadRequestError, 400),
    "openai.context": lambda: _openai_status(
        openai.BadRequestError, 400, "context_length_exceeded"
    ),
    "openai.inband": lambda: openai.APIError(
        "The server had an error",
        httpx2.Request("POST", OA_URL),
        body={"message": "The server had an error", "type": "server_error", "code": None},
    ),
    "openai.connection": _openai_connection,
    "openai.inband_unknown": lambda: openai.APIError(
        "odd", httpx2.Request("POST", OA_URL), body={"message": "odd", "type": "weird_error"}
    ),
    "openai.timeout": lambda: openai.APITimeoutError(httpx2.Request("POST", OA_URL)),
    "anthropic.inband": lambda: _anthropic_status(
        anthropic.APIStatusError, 200, "overloaded_error"
    ),
    "anthropic.529": lambda: _anthropic_status(anthropic.OverloadedError, 529, "overloaded_error"),
    "anthropic.429": lambda: _anthropic_status(anthropic.RateLimitError, 429, "rate_limit_error"),
    "anthropic.500": lambda: _anthropic_status(anthropic.InternalServerError, 500, "api_error"),
    "anthropic.401": lambda: _anthropic_status(
        anthropic.AuthenticationError, 401, "authentication_error"
    ),
    "anthropic.400": lambda: _anthropic_status(
        anthropic.BadRequestError, 400, "invalid_request_error"
    ),
    "litellm.429": lambda: litellm.RateLimitError(
        "slow down", response=_resp1(429, {"retry-after": "3"}), **LL
    ),
    "litellm.503": lambda: litellm.ServiceUnavailableError("down", **LL),
    "litellm.500": lambda: litellm.InternalServerError("oops", **LL),
    "litellm.timeout": lambda: litellm.Timeout("timed out", **LL),
    "litellm.connection": lambda: litellm.APIConnectionError("refused", **LL),
    "litellm.context": lambda: litellm.ContextWindowExceededError("too long", **LL),
    "litellm.401": lambda: litellm.AuthenticationError("bad key", **LL),
    "litellm.midstream_drop": lambda: _midstream(litellm.APIConnectionError("reset", **LL)),
    "litellm.midstream_overloaded": lambda: _midstream(
        litellm.InternalServerError("Overloaded", **LL)
    ),
    "transport.httpx2": lambda: httpx2.ReadError("connection reset"),
    "transport.httpx": lambda: httpx.RemoteProtocolError("incomplete chunked read"),
}


def test_every_row_has_a_factory() -> None:
    assert {row.key for row in ERROR_TABLE} == set(FACTORIES)


@pytest.mark.parametrize("row", ERROR_TABLE, ids=lambda row: row.key)
def test_error_mapping_row(row: ErrorRow) -> None:
    exc = FACTORIES[row.key]()
    # As the attempt loop does: the adapter first, then l0's generic rules.
    mapped = None if row.sdk == "transport" else get_adapter(row.sdk).map_error(exc)
    err = mapped or to_l0_error(exc)
    assert type(err) is row.l0_error
    assert err is not None
    assert err.category is row.category
    assert err.retryable is row.retryable
    assert counts_toward_attempts(err) is row.counts
    assert err.__cause__ is exc
    if row.key.endswith(".429"):
        assert err.retry_after == 3.0
    if row.key.endswith(".context"):
        assert err.code.value == "CONTEXT_LENGTH_EXCEEDED"
    # The documented table is generated from the same rows.
    assert markdown_row(row) in markdown_table()
    assert markdown_table() in DOC.read_text()
