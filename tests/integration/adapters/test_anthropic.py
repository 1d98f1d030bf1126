"""The Anthropic adapter through the real ``anthropic`` SDK (cassettes and an httpx2
MockTransport)."""

from __future__ import annotations

import anthropic
import httpx2
import pytest

import l0
from l0.errors import (
    AuthenticationError,
    NetworkError,
    RateLimitError,
    ServerError,
    TruncatedStreamError,
    ZeroOutputError,
)
from l0.testing import FakeClock
from l0.types import EventType, ToolCall, Usage

from .support import MESSAGES, SSE_HEADERS, Dropping2, Scripted, anthropic_text, play

pytestmark = pytest.mark.anyio

FULL_TOOL = ToolCall(
    "toolu_l0_01",
    "get_weather",
    {"city": "Paris", "unit": "c"},
    '{"city": "Paris", "unit": "c"}',
    0,
)
FULL_USAGE = Usage(
    input_tokens=310,
    output_tokens=96,
    total_tokens=406,
    details={"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
)


def client(**kw: object) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(api_key="test", max_retries=0, **kw)  # type: ignore[arg-type]


def create(c: anthropic.AsyncAnthropic):
    return lambda: c.messages.create(
        model="claude-sonnet-4-6", max_tokens=256, messages=MESSAGES, stream=True
    )


async def test_text_tool_use_thinking_usage_without_adapter() -> None:
    with play("anthropic/messages_text_tool_thinking.yaml"):
        async with l0.stream(create(client())) as s:
            events = [ev async for ev in s]
    result = s.result
    assert result.text == "Let me check the weather in Paris."
    assert result.tool_calls == [FULL_TOOL]
    assert result.finish_reason == "tool_use"
    assert result.usage == FULL_USAGE
    thinking = [ev.data for ev in events if ev.type is EventType.PROGRESS]
    assert thinking == [
        {"thinking": "The user wants the weather; "},
        {"thinking": "call get_weather."},
    ]
    assert [ev.data for ev in events if ev.type is EventType.TOOL_CALL] == [FULL_TOOL]


async def test_messages_stream_manager() -> None:
    c = client()
    with play("anthropic/messages_text_tool_thinking.yaml"):
        result = await l0.run(
            lambda: c.messages.stream(model="claude-sonnet-4-6", max_tokens=256, messages=MESSAGES)
        )
    assert (result.text, result.tool_calls, result.finish_reason, result.usage) == (
        "Let me check the weather in Paris.",
        [FULL_TOOL],
        "tool_use",
        FULL_USAGE,
    )


def test_sync_client_through_run_sync() -> None:
    c = anthropic.Anthropic(api_key="test", max_retries=0)
    with play("anthropic/messages_text_tool_thinking.yaml"):
        result = l0.run_sync(
            lambda: c.messages.create(
                model="claude-sonnet-4-6", max_tokens=256, messages=MESSAGES, stream=True
            )
        )
    assert (result.text, result.tool_calls, result.usage) == (
        "Let me check the weather in Paris.",
        [FULL_TOOL],
        FULL_USAGE,
    )


async def test_inband_overloaded_error_is_retried() -> None:
    with play("anthropic/inband_overloaded_then_ok.yaml"):
        result = await l0.run(create(client()), clock=FakeClock())
    assert result.text == "Partial answer done."
    err = result.errors[0]
    assert isinstance(err, ServerError)
    assert err.status_code == 529
    assert isinstance(err.__cause__, anthropic.APIStatusError)
    assert err.__cause__.status_code == 200


async def test_inband_overloaded_continues_byte_exact() -> None:
    c = client()
    with play("anthropic/inband_overloaded_then_ok.yaml"):
        result = await l0.run(
            lambda attempt: c.messages.create(
                model="claude-sonnet-4-6",
                max_tokens=256,
                messages=attempt.continuation_messages(MESSAGES),  # type: ignore[arg-type]
                stream=True,
            ),
            continuation=True,
            clock=FakeClock(),
        )
    # "Partial ans" was delivered; the retry restates "Partial answer" in full.
    assert result.text == "Partial answer done."


async def test_429_waits_for_retry_after() -> None:
    clock = FakeClock()
    with play("anthropic/429_then_ok.yaml"):
        result = await l0.run(create(client()), clock=clock)
    assert result.text == "Recovered fine."
    assert clock.sleeps[0] >= 2.0
    err = result.errors[0]
    assert isinstance(err, RateLimitError)
    assert (err.retry_after, err.request_id) == (2.0, "req_l0_a429")


@pytest.mark.parametrize("status", [500, 529])
async def test_server_errors_are_retried(status: int) -> None:
    with play(f"anthropic/{status}_then_ok.yaml"):
        result = await l0.run(create(client()), clock=FakeClock())
    assert result.text == "Recovered fine."
    assert isinstance(result.errors[0], ServerError)
    assert result.errors[0].status_code == status


async def test_cut_without_message_stop_is_truncation() -> None:
    with play("anthropic/truncated_then_ok.yaml"):
        result = await l0.run(create(client()), clock=FakeClock())
    assert result.text == "Half a sentence and the rest."
    assert isinstance(result.errors[0], TruncatedStreamError)


async def test_empty_stream_is_zero_output() -> None:
    with play("anthropic/empty_then_ok.yaml"):
        result = await l0.run(create(client()), clock=FakeClock())
    assert result.text == "Something at last."
    assert isinstance(result.errors[0], ZeroOutputError)


async def test_401_is_not_retried_but_falls_back() -> None:
    fallback = client(base_url="https://fallback.l0.test")
    with play("anthropic/401_fallback.yaml") as cassette:
        result = await l0.run(create(client()), fallbacks=[create(fallback)], clock=FakeClock())
    assert result.text == "From the fallback."
    assert result.fallback_index == 1
    assert [type(e) for e in result.errors] == [AuthenticationError]
    assert cassette.play_count == 2


async def test_midstream_drop_continues_byte_exact() -> None:
    handler = Scripted(
        lambda: httpx2.Response(
            200,
            headers=SSE_HEADERS,
            stream=Dropping2([anthropic_text("Once upon", " a ti", stop=False)]),
        ),
        lambda: httpx2.Response(
            200, headers=SSE_HEADERS, content=anthropic_text("a time, the end.")
        ),
    )
    c = client(http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)))
    result = await l0.run(
        lambda attempt: c.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=256,
            messages=attempt.continuation_messages(MESSAGES),  # type: ignore[arg-type]
            stream=True,
        ),
        continuation=True,
        clock=FakeClock(),
    )
    assert result.text == "Once upon a time, the end."
    assert isinstance(result.errors[0], NetworkError)  # the SDK let the raw httpx2 error through
    # l0 held back "i" (found nowhere else) and aligned the resumed text on it
    assert handler.bodies[1]["messages"][-1] == {"role": "assistant", "content": "Once upon a t"}
