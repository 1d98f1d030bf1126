"""The LiteLLM adapter through real ``litellm`` calls: its OpenAI-compatible and Anthropic
routes over cassettes, and an ``httpx`` MockTransport for a mid-stream drop."""

from __future__ import annotations

from typing import Any

import httpx
import litellm
import openai
import pytest

import l0
from l0.errors import (
    AuthenticationError,
    NetworkError,
    NetworkErrorKind,
    RateLimitError,
    ServerError,
    ZeroOutputError,
)
from l0.testing import FakeClock
from l0.types import EventType, ToolCall, Usage

from .support import MESSAGES, SSE_HEADERS, Dropping1, Scripted, chat_chunk, openai_sse, play

pytestmark = pytest.mark.anyio

OPENAI = "litellm/openai_route"
ANTHROPIC = "litellm/anthropic_route"


def acompletion(model: str = "openai/gpt-4o-mini", **kw: Any):
    return lambda: litellm.acompletion(
        model=model,
        messages=MESSAGES,
        stream=True,
        api_key="test",
        max_retries=0,
        stream_options={"include_usage": True},
        **kw,
    )


async def test_openai_route_text_usage_finish() -> None:
    with play(f"{OPENAI}/chat_text.yaml"):
        result = await l0.run(acompletion())
    assert result.text == "Hello there! How can I help?"
    assert result.finish_reason == "stop"
    assert result.usage is not None
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.total_tokens) == (
        12,
        8,
        20,
    )


def test_sync_completion_through_run_sync() -> None:
    with play(f"{OPENAI}/chat_text.yaml"):
        result = l0.run_sync(
            lambda: litellm.completion(
                model="openai/gpt-4o-mini",
                messages=MESSAGES,
                stream=True,
                api_key="test",
                max_retries=0,
                stream_options={"include_usage": True},
            )
        )
    assert (result.text, result.finish_reason) == ("Hello there! How can I help?", "stop")
    assert result.usage is not None
    assert result.usage.total_tokens == 20


async def test_openai_route_parallel_tool_calls() -> None:
    with play(f"{OPENAI}/chat_tools_parallel.yaml"):
        result = await l0.run(acompletion())
    assert result.tool_calls == [
        ToolCall(
            "call_l0_paris",
            "get_weather",
            {"city": "Paris", "unit": "c"},
            '{"city": "Paris", "unit": "c"}',
            0,
        ),
        ToolCall("call_l0_tokyo", "get_weather", {"city": "Tokyo"}, '{"city": "Tokyo"}', 1),
        ToolCall("call_l0_time", "get_time", {}, "{}", 2),
    ]
    assert result.finish_reason == "tool_calls"
    assert result.usage == Usage(input_tokens=82, output_tokens=51, total_tokens=133)


async def test_anthropic_route_text_tool_thinking_usage() -> None:
    with play(f"{ANTHROPIC}/messages_text_tool_thinking.yaml"):
        async with l0.stream(acompletion("anthropic/claude-sonnet-4-6")) as s:
            events = [ev async for ev in s]
    result = s.result
    assert result.text == "Let me check the weather in Paris."
    assert result.tool_calls == [
        ToolCall(
            "toolu_l0_01",
            "get_weather",
            {"city": "Paris", "unit": "c"},
            '{"city": "Paris", "unit": "c"}',
            0,
        )
    ]
    assert result.finish_reason == "tool_calls"  # LiteLLM's OpenAI-style name for tool_use
    assert result.usage is not None
    assert (result.usage.input_tokens, result.usage.output_tokens) == (310, 96)
    reasoning = "".join(ev.data["reasoning"] for ev in events if ev.type is EventType.PROGRESS)
    assert reasoning == "The user wants the weather; call get_weather."


async def test_429_waits_for_retry_after() -> None:
    clock = FakeClock()
    with play(f"{OPENAI}/chat_429_then_ok.yaml"):
        result = await l0.run(acompletion(), clock=clock)
    assert result.text == "Recovered fine."
    assert clock.sleeps[0] >= 2.0
    err = result.errors[0]
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 2.0
    assert isinstance(err.__cause__, litellm.RateLimitError)


async def test_503_is_retried() -> None:
    with play(f"{OPENAI}/chat_503_then_ok.yaml"):
        result = await l0.run(acompletion(), clock=FakeClock())
    assert result.text == "Recovered fine."
    assert isinstance(result.errors[0], ServerError)
    assert result.errors[0].status_code == 503


async def test_clean_eof_without_finish_reason_is_retried() -> None:
    with play(f"{OPENAI}/chat_truncated_then_ok.yaml"):
        result = await l0.run(acompletion(), clock=FakeClock())
    assert result.text == "Half a sentence and the rest."
    err = result.errors[0]
    assert isinstance(err, NetworkError)  # LiteLLM's MidStreamFallbackError, by its original
    assert err.kind is NetworkErrorKind.INCOMPLETE
    assert err.checkpoint == "Half a sen"
    assert isinstance(err.__cause__, litellm.exceptions.MidStreamFallbackError)


async def test_anthropic_route_inband_overloaded_is_retried() -> None:
    with play(f"{ANTHROPIC}/inband_overloaded_then_ok.yaml"):
        result = await l0.run(acompletion("anthropic/claude-sonnet-4-6"), clock=FakeClock())
    assert result.text == "Partial answer done."
    assert isinstance(result.errors[0], ServerError)
    assert result.errors[0].checkpoint == "Partial ans"


async def test_empty_stream_is_zero_output() -> None:
    with play(f"{OPENAI}/chat_empty_then_ok.yaml"):
        result = await l0.run(acompletion(), clock=FakeClock())
    assert result.text == "Something at last."
    assert isinstance(result.errors[0], ZeroOutputError)


async def test_401_is_not_retried_but_falls_back() -> None:
    with play(f"{OPENAI}/chat_401_fallback.yaml") as cassette:
        result = await l0.run(
            acompletion(),
            fallbacks=[acompletion(api_base="https://fallback.l0.test/v1")],
            clock=FakeClock(),
        )
    assert result.text == "From the fallback."
    assert result.fallback_index == 1
    assert [type(e) for e in result.errors] == [AuthenticationError]
    assert cassette.play_count == 2


async def test_midstream_drop_continues_byte_exact() -> None:
    handler = Scripted(
        lambda: httpx.Response(
            200,
            headers=SSE_HEADERS,
            stream=Dropping1([openai_sse(chat_chunk("Hello"), chat_chunk(" wor"), done=False)]),
        ),
        lambda: httpx.Response(
            200,
            headers=SSE_HEADERS,
            content=openai_sse(chat_chunk("world! "), chat_chunk("Bye."), chat_chunk(None, "stop")),
        ),
    )
    # LiteLLM's openai/ route runs the openai SDK over a legacy httpx client.
    sdk = openai.AsyncOpenAI(
        api_key="test",
        max_retries=0,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),  # type: ignore[arg-type]
    )
    result = await l0.run(
        lambda attempt: litellm.acompletion(
            model="openai/gpt-4o-mini",
            messages=attempt.continuation_messages(MESSAGES),
            stream=True,
            client=sdk,
            max_retries=0,
        ),
        continuation=True,
        clock=FakeClock(),
    )
    assert result.text == "Hello world! Bye."
    assert isinstance(result.errors[0], NetworkError)
    # l0 holds back the last "r" (the shortest tail found nowhere else) and aligns on it.
    assert handler.bodies[1]["messages"][-1] == {"role": "assistant", "content": "Hello wo"}


@pytest.mark.parametrize(
    ("cassette", "text", "error"),
    [
        ("429_then_ok.yaml", "Recovered fine.", RateLimitError),
        ("500_then_ok.yaml", "Recovered fine.", ServerError),
        ("529_then_ok.yaml", "Recovered fine.", ServerError),
        ("truncated_then_ok.yaml", "Half a sentence and the rest.", NetworkError),
        ("empty_then_ok.yaml", "Something at last.", ZeroOutputError),
    ],
)
async def test_anthropic_route_faults_are_retried(
    cassette: str, text: str, error: type[Exception]
) -> None:
    clock = FakeClock()
    with play(f"{ANTHROPIC}/{cassette}"):
        result = await l0.run(acompletion("anthropic/claude-sonnet-4-6"), clock=clock)
    assert result.text == text
    assert isinstance(result.errors[0], error)
    if error is RateLimitError:
        assert clock.sleeps[0] >= 2.0
