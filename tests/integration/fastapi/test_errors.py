"""Errors: before the first byte a proper HTTP status; mid-stream an in-band error event."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import Response

import l0
from l0.integrations.fastapi import L0Stream, l0_stream
from l0.testing import FakeClock

from .helpers import events

pytestmark = pytest.mark.anyio

L0S = Annotated[L0Stream, Depends(l0_stream)]


def failing(exc: BaseException, *, after: list[str] | None = None) -> Callable[[], Any]:
    async def source() -> AsyncIterator[str]:
        for token in after or []:
            yield token
        raise exc

    return source


def make_app(exc: BaseException, after: list[str] | None = None) -> FastAPI:
    app = FastAPI()

    @app.get("/chat")
    async def chat(l0s: L0S) -> Response:
        return l0s(
            failing(exc, after=after),
            retry=l0.Retry(max_retries=1, attempts=0),
            clock=FakeClock(),
        )

    return app


async def get(app: FastAPI, fmt: str = "l0") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/chat", params={"format": fmt})


async def test_rate_limit_before_first_byte_is_a_429_with_retry_after() -> None:
    r = await get(make_app(l0.RateLimitError("slow down", status_code=429, retry_after=2.5)))
    assert r.status_code == 429
    assert r.headers["retry-after"] == "3"
    assert r.headers["content-type"] == "application/json"
    err = r.json()["error"]
    assert err["code"] == "RETRIES_EXHAUSTED"
    assert err["category"] == "transient"
    assert err["retry_after"] == 2.5
    assert "slow down" in err["message"]


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (l0.ServerError("upstream 503", status_code=503), 503),
        (ConnectionRefusedError("refused"), 503),
        (l0.BadRequestError("prompt too long", status_code=400), 400),
        (l0.AuthenticationError("bad key sk-abcdef123456", status_code=401), 502),
        (KeyError("bug"), 500),
    ],
)
async def test_status_before_first_byte(exc: BaseException, status: int) -> None:
    r = await get(make_app(exc))
    assert r.status_code == status
    err = r.json()["error"]
    assert "Traceback" not in r.text
    assert "sk-abcdef" not in r.text
    if status == 500:
        assert err == {
            "code": "INTERNAL_ERROR",
            "message": "internal error",
            "type": "InternalError",
            "category": "internal",
            "retryable": False,
            "retry_after": None,
        }


@pytest.mark.parametrize("fmt", ["l0", "openai", "vercel"])
async def test_error_mid_stream_is_an_in_band_event_and_a_clean_close(fmt: str) -> None:
    exc = l0.AuthenticationError("key sk-live-0123456789 revoked", status_code=401)
    r = await get(make_app(exc, after=["Hel", "lo"]), fmt)
    assert r.status_code == 200  # the body was read to its end: a clean close
    assert "sk-live" not in r.text
    assert "Traceback" not in r.text
    evs = events(r.text)
    if fmt == "l0":
        assert [e.event for e in evs] == ["token", "token", "error"]
        err = evs[-1].json()
        assert err["category"] == "fatal"
        assert err["retryable"] is False
        assert err["code"] == "AUTHENTICATION_ERROR"
        assert "[redacted]" in err["message"]
        assert set(err) <= {
            "type",
            "message",
            "code",
            "category",
            "retryable",
            "status_code",
            "retry_after",
        }
    elif fmt == "openai":
        assert evs[-1].data == "[DONE]"
        assert evs[-2].json()["error"]["code"] == "AUTHENTICATION_ERROR"
    else:
        parts = [e.json() for e in evs[:-1]]
        assert evs[-1].data == "[DONE]"
        assert parts[-3]["type"] == "error"
        assert "[redacted]" in parts[-3]["errorText"]
        assert parts[-1] == {"type": "finish", "finishReason": "error"}


async def test_internal_error_mid_stream_hides_details() -> None:
    r = await get(make_app(RuntimeError("secret internals /etc/passwd"), after=["x"]))
    err = events(r.text)[-1].json()
    assert err["message"] == "the model provider failed"
    assert "passwd" not in r.text


async def test_bad_l0_option_is_a_clear_error_in_the_route() -> None:
    app = FastAPI()

    @app.get("/chat")
    async def chat(l0s: L0S) -> Response:
        return l0s(lambda: iter(["x"]), retry="often")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        with pytest.raises(TypeError, match="retry"):
            await client.get("/chat")
