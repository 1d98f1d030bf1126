"""What a new user trips on: ``response_class=EventSourceResponse`` on an ``l0s`` route,
returning ``l0s`` uncalled, and an OpenAI client that does not ask for a stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import httpx2
import openai
import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import Response
from fastapi.sse import EventSourceResponse
from pydantic import BaseModel

import l0
from l0.integrations.fastapi import (
    L0Settings,
    L0Stream,
    L0StreamResponse,
    MemoryResumeStore,
    Resume,
    l0_stream,
    l0_stream_dependency,
)

from .helpers import events, load_example

pytestmark = pytest.mark.anyio

L0S = Annotated[L0Stream, Depends(l0_stream)]
TOKENS = ["Hello", ", ", "world", "."]


def openai_client(app: Any) -> openai.AsyncOpenAI:
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app))
    return openai.AsyncOpenAI(
        base_url="http://l0.test/v1", api_key="test", http_client=http, max_retries=0
    )


@pytest.mark.parametrize("response_class", [EventSourceResponse, L0StreamResponse])
async def test_response_class_event_source_fails_loudly_naming_the_fix(
    response_class: type[Response],
) -> None:
    app = FastAPI()

    @app.get("/chat", response_class=response_class)
    async def chat(l0s: L0S) -> Response:
        return l0s(lambda: iter(TOKENS))

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        with pytest.raises(TypeError, match="response_class") as info:
            await client.get("/chat")
    message = str(info.value)
    assert "'/chat'" in message
    assert "chat()" in message
    assert "Remove response_class" in message


async def test_response_class_on_a_generator_endpoint_is_left_alone() -> None:
    """FastAPI's own SSE generator routes (which may take l0s) are not ours to refuse."""
    app = FastAPI()

    @app.get("/gen", response_class=EventSourceResponse)
    async def gen(l0s: L0S) -> AsyncIterator[str]:
        yield "one"

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/gen")
    assert r.status_code == 200
    assert [e.data for e in events(r.text)] == ['"one"']


async def test_returning_l0s_uncalled_is_a_clear_error() -> None:
    app = FastAPI()

    @app.get("/chat")
    async def chat(l0s: L0S):  # type: ignore[no-untyped-def]  # as in the quick start
        return l0s  # forgot to call it

    @app.get("/typed")
    async def typed(l0s: L0S) -> Response:
        return l0s  # type: ignore[return-value]

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for path in ("/chat", "/typed"):
            with pytest.raises(TypeError, match=r"return l0s\(source, \.\.\.\)"):
                await client.get(path)


class ChatIn(BaseModel):
    model: str = "m"
    messages: list[dict[str, Any]] = []
    stream: bool = False


def completions_app(source: Any, **options: Any) -> FastAPI:
    settings = L0Settings(resume=Resume(store=MemoryResumeStore()))
    app = FastAPI()
    app.dependency_overrides[l0_stream] = l0_stream_dependency(settings)

    @app.post("/v1/chat/completions")
    async def completions(body: ChatIn, l0s: L0S) -> Response:
        return l0s(source, format="openai", model=body.model, **options)

    @app.post("/v1/bodiless/chat/completions")
    async def bodiless(l0s: L0S) -> Response:  # the route never reads the body itself
        return l0s(source, format="openai", **options)

    return app


MESSAGES: list[Any] = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("path", ["/v1", "/v1/bodiless"])
async def test_openai_sdk_without_stream_gets_a_chat_completion(path: str) -> None:
    example = load_example()
    app = completions_app(example.simulated_model(delay=0.0), continuation=True)
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app))
    client = openai.AsyncOpenAI(
        base_url=f"http://l0.test{path}", api_key="test", http_client=http, max_retries=0
    )
    async with client:
        completion = await client.chat.completions.create(model="demo", messages=MESSAGES)
    assert isinstance(completion, openai.types.chat.ChatCompletion)
    assert completion.object == "chat.completion"
    # the simulated provider dropped mid-answer; l0 continued: one exact answer
    assert completion.choices[0].message.content == example.ANSWER
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == ("demo" if path == "/v1" else "l0")


async def test_openai_sdk_with_stream_still_streams() -> None:
    app = completions_app(lambda: iter(TOKENS))
    async with openai_client(app) as client:
        stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(TOKENS)


async def test_non_streaming_completion_carries_tool_calls_and_usage() -> None:
    async def source() -> AsyncIterator[Any]:
        yield l0.Event(
            l0.EventType.TOOL_CALL,
            data=l0.ToolCall(id="call_1", name="weather", arguments={"city": "Paris"}),
        )
        usage = l0.Usage(input_tokens=5, output_tokens=7, total_tokens=12)
        yield l0.Event(l0.EventType.COMPLETE, data={"finish_reason": "tool_calls", "usage": usage})

    app = completions_app(source)
    async with openai_client(app) as client:
        completion = await client.chat.completions.create(model="m", messages=MESSAGES)
    message = completion.choices[0].message
    assert message.content is None
    assert message.tool_calls is not None
    call = message.tool_calls[0]
    assert call.type == "function"
    assert (call.id, call.function.name) == ("call_1", "weather")
    assert call.function.arguments.replace(" ", "") == '{"city":"Paris"}'
    assert completion.choices[0].finish_reason == "tool_calls"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 7)


async def test_non_streaming_failure_is_the_sdk_s_http_error() -> None:
    async def limited() -> AsyncIterator[str]:
        raise l0.RateLimitError("rate limited", status_code=429, retry_after=2.0)
        yield ""  # pragma: no cover

    app = completions_app(limited, retry=l0.Retry(max_retries=0))
    async with openai_client(app) as client:
        with pytest.raises(openai.RateLimitError) as info:
            await client.chat.completions.create(model="m", messages=MESSAGES)
    assert info.value.response.headers["retry-after"] == "2"
    assert info.value.code == "RATE_LIMITED"
