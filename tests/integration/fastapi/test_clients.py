"""Real clients against the example app: the OpenAI SDK (OpenAI-compatible SSE) and the
Vercel AI SDK UI message stream protocol (checked against its documented part schema)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import httpx2
import openai
import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import Response

import l0
from l0.integrations.fastapi import L0Stream, l0_stream

from .helpers import events, load_example

pytestmark = pytest.mark.anyio


def openai_client(app: Any) -> openai.AsyncOpenAI:
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app))
    return openai.AsyncOpenAI(
        base_url="http://l0.test/v1", api_key="test", http_client=http, max_retries=0
    )


async def test_openai_sdk_reads_the_l0_endpoint() -> None:
    example = load_example()
    client = openai_client(example.create_app(token_delay=0.0))
    async with client:
        stream = await client.chat.completions.create(
            model="demo-model",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
        )
        chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    # the simulated provider dropped mid-answer; l0 continued; the SDK saw one clean answer
    assert text == example.ANSWER
    assert {c.model for c in chunks} == {"demo-model"}
    assert chunks[-1].choices[0].finish_reason == "stop"


async def test_openai_sdk_sees_an_upstream_failure_as_an_http_error() -> None:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(l0s: Annotated[L0Stream, Depends(l0_stream)]) -> Response:
        async def limited() -> AsyncIterator[str]:
            raise l0.RateLimitError("rate limited", status_code=429, retry_after=1.0)
            yield ""  # pragma: no cover

        return l0s(limited, format="openai", retry=l0.Retry(max_retries=0))

    client = openai_client(app)
    async with client:
        with pytest.raises(openai.RateLimitError) as info:
            await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}], stream=True
            )
    assert info.value.response.headers["retry-after"] == "1"
    assert info.value.code == "RATE_LIMITED"
    assert "rate limited" in info.value.message


# The AI SDK UI message chunk schema (vercel/ai packages/ai/src/ui-message-stream/
# ui-message-chunks.ts, documented in content/docs/04-ai-sdk-ui/50-stream-protocol.mdx):
# every part is a strict object: required keys, optional keys, nothing else.
UI_PARTS: dict[str, tuple[set[str], set[str]]] = {
    "start": (set(), {"messageId", "messageMetadata"}),
    "start-step": (set(), set()),
    "text-start": ({"id"}, {"providerMetadata"}),
    "text-delta": ({"id", "delta"}, {"providerMetadata"}),
    "text-end": ({"id"}, {"providerMetadata"}),
    "tool-input-available": (
        {"toolCallId", "toolName", "input"},
        {"providerExecuted", "providerMetadata", "dynamic", "title", "_meta"},
    ),
    "error": ({"errorText"}, set()),
    "finish-step": (set(), set()),
    "finish": (set(), {"finishReason", "messageMetadata"}),
}
DATA_PART = ({"data"}, {"id", "transient"})
FINISH_REASONS = {"stop", "length", "content-filter", "tool-calls", "error", "other"}


def check_ui_part(part: dict[str, Any]) -> None:
    kind = part["type"]
    required, optional = DATA_PART if kind.startswith("data-") else UI_PARTS[kind]
    keys = set(part) - {"type"}
    assert required <= keys, f"{kind} misses {required - keys}"
    assert keys <= required | optional, f"{kind} has unknown keys {keys - required - optional}"
    if kind == "finish" and "finishReason" in part:
        assert part["finishReason"] in FINISH_REASONS


async def test_vercel_ui_message_stream_follows_the_protocol() -> None:
    example = load_example()
    app = example.create_app(token_delay=0.0)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.post("/api/chat", json={"messages": []})
    assert r.status_code == 200
    assert r.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert r.headers["content-type"].startswith("text/event-stream")
    evs = events(r.text)
    assert evs[-1].data == "[DONE]"
    parts = [e.json() for e in evs[:-1]]
    for part in parts:
        check_ui_part(part)
    kinds = [p["type"] for p in parts]
    assert kinds[:3] == ["start", "start-step", "text-start"]
    assert kinds[-3:] == ["text-end", "finish-step", "finish"]
    assert "data-l0-retry" in kinds  # the simulated drop, as a transient data part
    deltas = [p for p in parts if p["type"] == "text-delta"]
    assert {p["id"] for p in deltas} == {parts[2]["id"]}
    assert "".join(p["delta"] for p in deltas) == example.ANSWER
