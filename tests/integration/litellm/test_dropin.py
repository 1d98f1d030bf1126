"""``l0_litellm.acompletion`` / ``completion`` as drop-ins for LiteLLM's: the same consumer
code over both, the same chunks' text, tool calls, usage and finish reason."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import anyio
import litellm
import pytest

import l0
from l0.chaos import DEFAULT_ANSWER, ChaosServer, split_tokens
from l0.errors import L0Error
from l0.integrations import litellm as l0_litellm
from l0.testing import FakeClock
from tests.integration.adapters.support import MESSAGES, play

from .conftest import openai_kwargs

pytestmark = pytest.mark.anyio


async def consume(response: Any) -> dict[str, Any]:
    """Consumer code written for ``litellm.acompletion(stream=True)``, unchanged."""
    text, tools, usage, finish, ids = "", {}, None, None, set()
    async for chunk in response:
        ids.add(chunk.id)
        if getattr(chunk, "usage", None) is not None:
            usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        text += choice.delta.content or ""
        for call in choice.delta.tool_calls or ():
            entry = tools.setdefault(call.index, {"id": None, "name": "", "args": ""})
            entry["id"] = call.id or entry["id"]
            entry["name"] += call.function.name or ""
            entry["args"] += call.function.arguments or ""
        finish = choice.finish_reason or finish
    return {"text": text, "tools": tools, "usage": usage, "finish": finish, "ids": len(ids)}


def consume_sync(response: Iterable[Any]) -> str:
    return "".join((c.choices[0].delta.content or "") for c in response if c.choices)


CASSETTE_KW = {
    "model": "openai/gpt-4o-mini",
    "messages": MESSAGES,
    "api_key": "test",
    "max_retries": 0,
    "stream": True,
    "stream_options": {"include_usage": True},
}


@pytest.mark.parametrize("cassette", ["chat_text.yaml", "chat_tools_parallel.yaml"])
async def test_same_consumer_same_result_on_a_healthy_stream(cassette: str) -> None:
    with play(f"litellm/openai_route/{cassette}"):
        plain = await consume(await litellm.acompletion(**CASSETTE_KW))
    with play(f"litellm/openai_route/{cassette}"):
        reliable = await consume(await l0_litellm.acompletion(**CASSETTE_KW))
    assert reliable == plain
    assert plain["usage"] is not None and plain["finish"] is not None


@pytest.mark.parametrize(
    "plan",
    [
        "drop_after_tokens=9",
        "stall_after_tokens=4",
        "malformed_after_tokens=6",
        "inband_error=5",
        "truncate_after_tokens=12",
        "status=429,retry_after=0.2; drop_after_tokens=3",
        "drop_after_tokens=3; drop_after_tokens=11",
    ],
)
async def test_faulted_streams_give_the_exact_text_once(plan: str) -> None:
    async with ChaosServer(plan, restate=6) as server:
        response = await l0_litellm.acompletion(
            **openai_kwargs(server),
            stream=True,
            retry=l0.Retry(backoff="fixed", base_delay=0.0),
            timeout=l0.Timeout(inter_token=0.2),
        )
        got = await consume(response)
    assert got["text"] == DEFAULT_ANSWER
    assert got["finish"] == "stop"
    assert got["ids"] == 1
    assert response.result is not None and response.result.errors


async def test_non_streaming_returns_a_model_response_after_recovery() -> None:
    async with ChaosServer("drop_after_tokens=5") as server:
        response = await l0_litellm.acompletion(**openai_kwargs(server), clock=FakeClock())
    assert isinstance(response, litellm.ModelResponse)
    assert response.choices[0].message.content == DEFAULT_ANSWER
    assert response.choices[0].finish_reason == "stop"
    assert response.usage.completion_tokens > 0


def test_sync_completion_streams_and_returns() -> None:
    with ChaosServer("drop_after_tokens=5; ok; drop_after_tokens=2") as server:
        kwargs = {**openai_kwargs(server), "clock": FakeClock()}
        chunks = list(l0_litellm.completion(**kwargs, stream=True))
        assert consume_sync(chunks) == DEFAULT_ANSWER
        assert len({c.id for c in chunks}) == 1
        response = l0_litellm.completion(**kwargs)
    assert response.choices[0].message.content == DEFAULT_ANSWER


async def test_a_failure_before_the_stream_raises_at_await_like_litellm() -> None:
    async with ChaosServer("status=401") as server:
        with pytest.raises(L0Error):
            await l0_litellm.acompletion(**openai_kwargs(server), stream=True)


async def test_closing_early_stops_the_upstream() -> None:
    ended = anyio.Event()
    async with ChaosServer("ok,slow=0.01", on_request=lambda _: ended.set()) as server:
        response = await l0_litellm.acompletion(**openai_kwargs(server), stream=True)
        async for _ in response:
            break
        await response.aclose()
        with anyio.move_on_after(2):
            await ended.wait()
    assert server.requests[0].outcome == "client_gone"
    assert len(server.requests[0].tokens) < len(split_tokens(DEFAULT_ANSWER))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fallback": ["openai/b"]}, "did you mean 'fallbacks'"),
        ({"retries": 3}, "did you mean 'retry'"),
        ({"timeouts": 3}, "did you mean 'timeout'"),
        ({"guardrail": []}, "did you mean 'guardrails'"),
        ({"on_retries": print}, "did you mean 'on_retry'"),
    ],
)
async def test_misspelt_l0_options_name_the_closest(kwargs: dict[str, Any], message: str) -> None:
    base = {"model": "openai/x", "messages": MESSAGES, "stream": True}
    with pytest.raises(TypeError, match=message):
        await l0_litellm.acompletion(**base, **kwargs)
    with pytest.raises(TypeError, match=message):
        l0_litellm.completion(**base, **kwargs)
    with pytest.raises(TypeError, match=message):
        l0_litellm.stream(**base, **kwargs)


async def test_breaker_is_an_l0_option_keyed_by_model() -> None:
    breaker = l0.CircuitBreaker(failure_threshold=1)
    async with ChaosServer("status=503") as server:
        kwargs = {**openai_kwargs(server, "openai/primary"), "clock": FakeClock()}
        got = await consume(
            await l0_litellm.acompletion(
                **kwargs,
                stream=True,
                fallbacks=["openai/backup"],
                breaker=breaker,
                retry=l0.Retry(attempts=0, max_retries=0),
            )
        )
        assert got["text"] == DEFAULT_ANSWER
        assert await breaker.state("openai/primary") is l0.breaker.CircuitState.OPEN
