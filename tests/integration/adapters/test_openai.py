"""The OpenAI adapter through the real ``openai`` SDK (cassettes and an httpx2 MockTransport)."""

from __future__ import annotations

import httpx2
import openai
import pytest

import l0
from l0.adapters import RefusalError
from l0.errors import (
    AuthenticationError,
    RateLimitError,
    ServerError,
    TruncatedStreamError,
    ZeroOutputError,
)
from l0.testing import FakeClock
from l0.types import EventType, ToolCall, Usage

from .support import (
    MESSAGES,
    OPENAI_TEXT_USAGE,
    SSE_HEADERS,
    Dropping2,
    Scripted,
    chat_chunk,
    openai_sse,
    play,
)

pytestmark = pytest.mark.anyio

TEXT_USAGE = OPENAI_TEXT_USAGE


def client(**kw: object) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="test", max_retries=0, **kw)  # type: ignore[arg-type]


def create(c: openai.AsyncOpenAI, **kw: object):
    return lambda: c.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        **kw,  # type: ignore[arg-type]
    )


async def test_async_client_text_usage_finish_without_adapter() -> None:
    with play("openai/chat_text.yaml"):
        result = await l0.run(create(client()))
    assert result.text == "Hello there! How can I help?"
    assert result.finish_reason == "stop"
    assert result.usage == TEXT_USAGE
    assert result.tool_calls == []


def test_sync_client_through_run_sync() -> None:
    c = openai.OpenAI(api_key="test", max_retries=0)
    with play("openai/chat_text.yaml"):
        result = l0.run_sync(
            lambda: c.chat.completions.create(
                model="gpt-4o-mini",
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    assert (result.text, result.finish_reason, result.usage) == (
        "Hello there! How can I help?",
        "stop",
        TEXT_USAGE,
    )


async def test_parallel_tool_calls_assembled_by_index() -> None:
    events = []
    with play("openai/chat_tools_parallel.yaml"):
        async with l0.stream(create(client())) as s:
            events = [ev async for ev in s]
    result = s.result
    expected = [
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
    assert result.tool_calls == expected
    assert [ev.data for ev in events if ev.type is EventType.TOOL_CALL] == expected
    assert result.finish_reason == "tool_calls"
    assert result.usage == Usage(input_tokens=82, output_tokens=51, total_tokens=133)
    assert result.text == ""


async def test_stream_manager_is_entered_and_read() -> None:
    c = client()
    with play("openai/chat_text.yaml"):
        result = await l0.run(
            lambda: c.chat.completions.stream(
                model="gpt-4o-mini", messages=MESSAGES, stream_options={"include_usage": True}
            )
        )
    assert (result.text, result.finish_reason, result.usage) == (
        "Hello there! How can I help?",
        "stop",
        TEXT_USAGE,
    )


async def test_plain_async_generator_of_chunks_is_detected_by_chunk_type() -> None:
    c = client()

    async def chunks():
        async for chunk in await create(c)():
            yield chunk

    with play("openai/chat_text.yaml"):
        result = await l0.run(chunks, clock=FakeClock())
    assert (result.text, result.finish_reason, result.usage) == (
        "Hello there! How can I help?",
        "stop",
        TEXT_USAGE,
    )


async def test_responses_api_text() -> None:
    c = client()
    with play("openai/responses_text.yaml"):
        result = await l0.run(
            lambda: c.responses.create(model="gpt-4.1-mini", input="Say hello", stream=True)
        )
    assert result.text == "Hello from Responses."
    assert result.finish_reason == "completed"
    assert result.usage is not None
    assert (result.usage.input_tokens, result.usage.output_tokens) == (14, 5)
    assert result.usage.total_tokens == 19


async def test_responses_api_function_call() -> None:
    c = client()
    with play("openai/responses_function_call.yaml"):
        result = await l0.run(
            lambda: c.responses.create(model="gpt-4.1-mini", input="Weather?", stream=True)
        )
    assert result.tool_calls == [
        ToolCall("call_l0_resp", "get_weather", {"city": "Paris"}, '{"city":"Paris"}', 0)
    ]
    assert result.finish_reason == "completed"
    assert result.usage == Usage(
        input_tokens=40,
        output_tokens=17,
        total_tokens=57,
        details={
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
    )


async def test_reasoning_deltas_are_progress_not_text() -> None:
    with play("openai/chat_reasoning.yaml"):
        async with l0.stream(create(client())) as s:
            events = [ev async for ev in s]
    progress = [ev.data for ev in events if ev.type is EventType.PROGRESS]
    assert progress == [{"reasoning": "The user greets; "}, {"reasoning": "greet back."}]
    assert s.result.text == "Hi!"


async def test_refusal_is_a_fatal_refusal_error() -> None:
    with play("openai/chat_refusal.yaml"), pytest.raises(RefusalError) as info:
        await l0.run(create(client()), clock=FakeClock())
    assert info.value.refusal == "I'm sorry, I can't help with that."
    assert not info.value.retryable


async def test_429_waits_for_retry_after() -> None:
    clock = FakeClock()
    with play("openai/chat_429_then_ok.yaml"):
        result = await l0.run(create(client()), clock=clock)
    assert result.text == "Recovered fine."
    assert clock.sleeps
    assert clock.sleeps[0] >= 2.0
    err = result.errors[0]
    assert isinstance(err, RateLimitError)
    assert (err.retry_after, err.status_code, err.request_id) == (2.0, 429, "req_l0_429")
    assert isinstance(err.__cause__, openai.RateLimitError)


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retried(status: int) -> None:
    with play(f"openai/chat_{status}_then_ok.yaml"):
        result = await l0.run(create(client()), clock=FakeClock())
    assert result.text == "Recovered fine."
    assert isinstance(result.errors[0], ServerError)
    assert result.errors[0].status_code == status
    assert result.state.network_retry_count == 1  # transient: not counted toward attempts


async def test_cut_without_finish_reason_is_truncation_and_retried() -> None:
    with play("openai/chat_truncated_then_ok.yaml"):
        result = await l0.run(create(client()), clock=FakeClock())
    assert result.text == "Half a sentence and the rest."
    assert isinstance(result.errors[0], TruncatedStreamError)


async def test_cut_without_finish_reason_raises_truncation_when_out_of_retries() -> None:
    with play("openai/chat_truncated.yaml"), pytest.raises(TruncatedStreamError):
        await l0.run(create(client()), retry=l0.Retry(max_retries=0), clock=FakeClock())


async def test_empty_stream_is_zero_output_and_retried() -> None:
    with play("openai/chat_empty_then_ok.yaml"):
        result = await l0.run(create(client()), clock=FakeClock())
    assert result.text == "Something at last."
    assert isinstance(result.errors[0], ZeroOutputError)


async def test_401_is_not_retried_but_falls_back() -> None:
    primary = client()
    fallback = client(base_url="https://fallback.l0.test/v1")
    with play("openai/chat_401_fallback.yaml") as cassette:
        result = await l0.run(create(primary), fallbacks=[create(fallback)], clock=FakeClock())
    assert result.text == "From the fallback."
    assert result.fallback_index == 1
    assert [type(e) for e in result.errors] == [AuthenticationError]
    assert cassette.play_count == 2  # one call to the primary, no retry


async def test_401_without_fallback_raises_after_one_call() -> None:
    with (
        play("openai/chat_401_fallback.yaml", all_played=False) as cassette,
        pytest.raises(AuthenticationError) as info,
    ):
        await l0.run(create(client()), clock=FakeClock())
    assert cassette.play_count == 1
    assert isinstance(info.value.__cause__, openai.AuthenticationError)


async def test_midstream_drop_continues_byte_exact() -> None:
    handler = Scripted(
        lambda: httpx2.Response(
            200,
            headers=SSE_HEADERS,
            stream=Dropping2([openai_sse(chat_chunk("Hello"), chat_chunk(" wor"), done=False)]),
        ),
        # The continuation restates "wor" before going on.
        lambda: httpx2.Response(
            200,
            headers=SSE_HEADERS,
            content=openai_sse(chat_chunk("world! "), chat_chunk("Bye."), chat_chunk(None, "stop")),
        ),
    )
    c = client(http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)))
    result = await l0.run(
        lambda attempt: c.chat.completions.create(
            model="gpt-4o-mini", messages=attempt.continuation_messages(MESSAGES), stream=True
        ),
        continuation=True,
        clock=FakeClock(),
    )
    assert result.text == "Hello world! Bye."
    assert result.state.network_retry_count == 1
    # l0 holds back the last "r" (the shortest tail found nowhere else) and aligns on it.
    assert handler.bodies[1]["messages"][-1] == {"role": "assistant", "content": "Hello wo"}
