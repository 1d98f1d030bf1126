"""The three wire formats through a real FastAPI app over httpx's ASGITransport.

ASGITransport hands back the body once the app has finished, so these tests use finite
sources; live streaming and disconnects are tested over uvicorn (test_uvicorn.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import Response

import l0
from l0.integrations.fastapi import (
    L0Settings,
    L0Stream,
    l0_stream,
    l0_stream_dependency,
)
from l0.testing import FakeClock

from .helpers import events, parse_sse

pytestmark = pytest.mark.anyio

L0S = Annotated[L0Stream, Depends(l0_stream)]
ANSWER = ["The ", "quick ", "brown ", "fox."]


def flaky(drop_after: int = 2) -> Any:
    """Drops the connection after ``drop_after`` tokens on attempt 1, then answers fully."""

    async def source(attempt: l0.Attempt) -> AsyncIterator[str]:
        for n, token in enumerate(ANSWER):
            if attempt.number == 1 and n == drop_after:
                raise ConnectionResetError("peer reset")
            yield token

    return source


def make_app(settings: L0Settings | None = None) -> FastAPI:
    app = FastAPI()
    if settings is not None:
        app.dependency_overrides[l0_stream] = l0_stream_dependency(settings)

    @app.get("/chat")
    async def chat(l0s: L0S, restart: bool = False) -> Response:
        return l0s(flaky(), continuation=not restart, clock=FakeClock())

    @app.get("/pinned")
    async def pinned(l0s: L0S) -> Response:
        return l0s(lambda: iter(ANSWER), format="openai")

    @app.get("/tool")
    async def tool(l0s: L0S) -> Response:
        call = l0.ToolCall(id="call_1", name="weather", arguments={"city": "Paris"})
        return l0s(lambda: iter(["Let me check. ", l0.Event(l0.EventType.TOOL_CALL, data=call)]))

    @app.get("/fallback")
    async def fallback(l0s: L0S) -> Response:
        async def down() -> AsyncIterator[str]:
            raise l0.ServerError("overloaded", status_code=503)
            yield ""  # pragma: no cover

        return l0s(
            down,
            fallbacks=[lambda: iter(ANSWER)],
            retry=l0.Retry(max_retries=1),
            clock=FakeClock(),
        )

    @app.get("/slow")
    async def slow(l0s: L0S) -> Response:
        async def source() -> AsyncIterator[str]:
            yield "a"
            await anyio.sleep(0.12)
            yield "b"

        return l0s(source)

    return app


async def get(app: FastAPI, url: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(url, **kwargs)


async def test_l0_format_ids_and_notices_in_order() -> None:
    r = await get(make_app(), "/chat", params={"restart": "true"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["x-l0-stream-id"]
    evs = events(r.text)
    assert [e.event for e in evs] == [
        "token",
        "token",
        "retry",
        "reset",
        "token",
        "token",
        "token",
        "token",
        "done",
    ]
    assert [int(e.id or 0) for e in evs] == list(range(1, len(evs) + 1))
    retry = evs[2].json()
    assert retry["attempt"] == 2
    assert retry["reason"] == "network"
    assert retry["code"] == "NETWORK_ERROR"
    assert retry["delay"] >= 0
    assert evs[3].json() == {"discard": len("The quick ")}
    assert "".join(e.json()["text"] for e in evs[4:8]) == "".join(ANSWER)
    assert evs[-1].json() == {"finish_reason": "stop", "usage": None}


async def test_continuation_sends_no_reset_and_exact_text() -> None:
    r = await get(make_app(), "/chat")
    evs = events(r.text)
    kinds = [e.event for e in evs]
    assert "reset" not in kinds
    assert kinds.count("retry") == 1
    text = "".join(e.json()["text"] for e in evs if e.event == "token")
    assert text == "".join(ANSWER)


async def test_first_bytes_are_the_retry_hint_and_keepalive_pings_when_idle() -> None:
    app = make_app(L0Settings(keepalive=0.05, reconnect=0.05))
    r = await get(app, "/slow")
    blocks = parse_sse(r.text)
    assert blocks[0].retry == 50
    assert blocks[0].data == ""
    pings = [b for b in blocks if b.comments == ["ping"]]
    assert pings, r.text
    assert [e.json().get("text") for e in events(r.text)] == ["a", "b", None]


async def test_fallback_notice() -> None:
    r = await get(make_app(), "/fallback")
    evs = events(r.text)
    kinds = [e.event for e in evs]
    assert kinds[:2] == ["retry", "fallback"]
    assert evs[1].json()["index"] == 1
    assert evs[1].json()["code"] == "SERVER_ERROR"
    assert kinds[-1] == "done"


async def test_tool_call_in_each_format() -> None:
    app = make_app()
    r = await get(app, "/tool")
    tool = next(e for e in events(r.text) if e.event == "tool_call").json()
    assert tool == {"id": "call_1", "name": "weather", "arguments": {"city": "Paris"}}
    assert events(r.text)[-1].json()["finish_reason"] == "tool_calls"

    r = await get(app, "/tool", params={"format": "openai"})
    chunks = [e.json() for e in events(r.text) if e.data != "[DONE]"]
    calls = [
        c["choices"][0]["delta"]["tool_calls"]
        for c in chunks
        if "tool_calls" in c["choices"][0]["delta"]
    ]
    assert calls == [
        [
            {
                "index": 0,
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
            }
        ]
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"

    r = await get(app, "/tool", params={"format": "vercel"})
    parts = [e.json() for e in events(r.text) if e.data != "[DONE]"]
    assert {
        "type": "tool-input-available",
        "toolCallId": "call_1",
        "toolName": "weather",
        "input": {"city": "Paris"},
    } in parts
    assert parts[-1] == {"type": "finish", "finishReason": "tool-calls"}


async def test_openai_format_has_no_ids_and_ends_with_done() -> None:
    r = await get(make_app(), "/chat", params={"format": "openai"})
    blocks = parse_sse(r.text)
    assert all(b.id is None and b.retry is None for b in blocks)
    data = [b.data for b in blocks if b.data]
    assert data[-1] == "[DONE]"
    chunks = [httpx.Response(200, content=d).json() for d in data[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "".join(ANSWER)
    # the retry notice travels as an SSE comment, which OpenAI clients ignore
    assert any(c.startswith("l0 retry ") for b in blocks for c in b.comments)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"params": {"format": "vercel"}}, "vercel"),
        ({"headers": {"accept": "text/event-stream; format=openai"}}, "openai"),
        ({}, "l0"),
    ],
)
async def test_format_negotiation(kwargs: dict[str, Any], expected: str) -> None:
    r = await get(make_app(), "/chat", **kwargs)
    assert r.status_code == 200
    first = events(r.text)[0]
    got = "l0" if first.event else ("vercel" if '"type"' in first.data else "openai")
    assert got == expected
    assert (r.headers.get("x-vercel-ai-ui-message-stream") == "v1") == (expected == "vercel")


async def test_bad_or_disallowed_format_is_a_400() -> None:
    r = await get(make_app(), "/chat", params={"format": "xml"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "unsupported_format"
    assert "unsupported format 'xml'" in r.json()["error"]["message"]
    r = await get(make_app(L0Settings(formats=("l0",))), "/chat", params={"format": "openai"})
    assert r.status_code == 400


async def test_pinned_format_ignores_the_request() -> None:
    r = await get(make_app(), "/pinned", params={"format": "vercel"})
    assert events(r.text)[-1].data == "[DONE]"
    assert '"chat.completion.chunk"' in r.text


async def test_settings_override_sets_the_default_format() -> None:
    r = await get(make_app(L0Settings(format="vercel")), "/chat")
    assert r.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert events(r.text)[-1].data == "[DONE]"


def test_settings_validate() -> None:
    with pytest.raises(ValueError, match=r"L0Settings\.format"):
        L0Settings(format="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="keepalive"):
        L0Settings(keepalive=0)
    with pytest.raises(ValueError, match="on_event"):
        L0Settings(options={"on_event": print})
