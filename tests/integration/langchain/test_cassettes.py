"""Real ChatOpenAI / ChatAnthropic over hand-authored cassettes (vcrpy, record mode none)."""

from __future__ import annotations

from pathlib import Path

import pytest
import vcr
from langchain_anthropic import ChatAnthropic
from langchain_core.messages import AIMessageChunk
from langchain_openai import ChatOpenAI

from l0.integrations.langchain import L0Runnable
from l0.testing import FakeClock

CASSETTES = Path(__file__).parents[3] / "cassettes"
REPLAY = vcr.VCR(record_mode="none", filter_headers=["authorization", "x-api-key"])
WEATHER = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object"}},
}

pytestmark = pytest.mark.anyio


def _openai() -> ChatOpenAI:
    return ChatOpenAI(model="gpt-4o-mini", api_key="sk-test", max_retries=0)  # type: ignore[arg-type]


def _anthropic() -> ChatAnthropic:
    return ChatAnthropic(model="claude-test", api_key="sk-ant-test", max_retries=0)  # type: ignore[call-arg,arg-type]


def _merge(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    return merged


async def test_openai_text_stream_with_usage() -> None:
    with REPLAY.use_cassette(str(CASSETTES / "openai/langchain_text_stream.yaml")) as cassette:
        chunks = [c async for c in L0Runnable(_openai()).astream("Say something")]
    assert cassette.all_played
    message = _merge(chunks)
    assert message.content == "Streams can fail."
    assert message.usage_metadata is not None
    usage = message.usage_metadata
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (12, 4, 16)
    assert message.response_metadata["finish_reason"] == "stop"
    assert message.response_metadata["model_name"] == "gpt-4o-mini-2024-07-18"


async def test_openai_tool_call_comes_out_once_and_parsed() -> None:
    with REPLAY.use_cassette(str(CASSETTES / "openai/langchain_tool_stream.yaml")):
        message = await L0Runnable(_openai()).bind_tools([WEATHER]).ainvoke("Weather in Paris?")
    assert [(tc["name"], tc["args"], tc["id"]) for tc in message.tool_calls] == [
        ("get_weather", {"city": "Paris"}, "call_lc_1")
    ]
    assert message.response_metadata["finish_reason"] == "tool_calls"


async def test_anthropic_text_then_tool_call() -> None:
    with REPLAY.use_cassette(str(CASSETTES / "anthropic/langchain_text_and_tool.yaml")):
        chunks = [
            c async for c in L0Runnable(_anthropic()).bind_tools([WEATHER]).astream("Weather?")
        ]
    message = _merge(chunks)
    assert message.content == "Let me check the weather."
    assert [(tc["name"], tc["args"]) for tc in message.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]
    assert message.usage_metadata is not None
    assert (message.usage_metadata["input_tokens"], message.usage_metadata["output_tokens"]) == (
        25,
        42,
    )
    assert message.response_metadata["finish_reason"] == "tool_use"


async def test_silently_truncated_openai_stream_is_detected_and_continued() -> None:
    # ChatOpenAI ends such a stream without an error; l0 notices the missing finish_reason.
    path = CASSETTES / "openai/langchain_truncated_then_continued.yaml"
    clock = FakeClock()
    with REPLAY.use_cassette(str(path)) as cassette:
        chunks = [c async for c in L0Runnable(_openai(), clock=clock).astream("Answer")]
    assert cassette.play_count == 2
    assert "".join(c.content for c in chunks) == "A quick answer that ends well."
    assert chunks[-1].response_metadata["l0"]["retries"] == 1


async def test_plain_l0_run_over_chat_openai_astream_without_adapter() -> None:
    """`l0.run(lambda: ChatOpenAI().astream(...))` with no adapter= gives the cassette's values."""
    import l0

    with REPLAY.use_cassette(str(CASSETTES / "openai/langchain_text_stream.yaml")):
        result = await l0.run(lambda: _openai().astream("Say something"))
    assert result.text == "Streams can fail."
    assert result.usage is not None
    assert (result.usage.input_tokens, result.usage.output_tokens) == (12, 4)
    assert result.finish_reason == "stop"
    with REPLAY.use_cassette(str(CASSETTES / "openai/langchain_tool_stream.yaml")):
        result = await l0.run(lambda: _openai().bind_tools([WEATHER]).astream("Weather in Paris?"))
    assert [(tc.name, tc.arguments, tc.id) for tc in result.tool_calls] == [
        ("get_weather", {"city": "Paris"}, "call_lc_1")
    ]
    assert result.finish_reason == "tool_calls"
