"""The LangChain adapter: detection, and decoding of AIMessageChunk streams."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk

import l0
from l0.adapters import detect_adapter, get_adapter
from l0.adapters.langchain import LANGCHAIN_ADAPTER, LangChainStream
from l0.types import EventType

pytestmark = pytest.mark.anyio


async def _chunks(*items: Any) -> AsyncIterator[Any]:
    for item in items:
        yield item


def _open(*items: Any) -> LangChainStream:
    stream = LANGCHAIN_ADAPTER.open(_chunks(*items))
    assert isinstance(stream, LangChainStream)
    return stream


def _events(stream: LangChainStream, *chunks: Any) -> list[l0.Event]:
    out: list[l0.Event] = []
    for chunk in chunks:
        decoded = stream.decode(chunk)
        if decoded is not None:
            out.extend([decoded] if isinstance(decoded, l0.Event) else decoded)
    return out + stream.end()


def _fake(text: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(text)]))


async def test_detects_a_runnable_astream_generator_by_its_frame() -> None:
    gen = _fake("hi").astream("x")
    assert detect_adapter(gen).name == "langchain"
    await gen.aclose()
    assert detect_adapter(_chunks("a")).name == "text"
    assert get_adapter("langchain") is LANGCHAIN_ADAPTER


async def test_runs_a_fake_chat_model_stream_end_to_end() -> None:
    llm = _fake("Hello there, friend")
    result = await l0.run(lambda: llm.astream("hi"))
    assert result.text == "Hello there, friend"


async def test_text_adapter_hands_over_on_the_first_message_chunk() -> None:
    llm = _fake("Wrapped stream")

    async def wrapped() -> AsyncIterator[Any]:
        async for chunk in llm.astream("hi"):
            yield chunk

    result = await l0.run(wrapped)
    assert result.text == "Wrapped stream"


def test_string_and_block_content() -> None:
    stream = _open()
    events = _events(
        stream,
        AIMessageChunk(content="Hel"),
        AIMessageChunk(content=[{"type": "text", "text": "lo"}, "!"]),
        AIMessageChunk(content=[{"type": "thinking", "thinking": "hmm"}]),
        AIMessageChunk(content="", additional_kwargs={"reasoning_content": "why"}),
        AIMessageChunk(content=[{"type": "reasoning", "reasoning": "so"}]),
    )
    assert [(e.type, e.text) for e in events if e.type is EventType.TOKEN] == [
        (EventType.TOKEN, "Hel"),
        (EventType.TOKEN, "lo"),
        (EventType.TOKEN, "!"),
    ]
    progress = [e.data for e in events if e.type is EventType.PROGRESS]
    assert progress == [
        {"type": "reasoning", "text": "hmm"},
        {"type": "reasoning", "text": "why"},
        {"type": "reasoning", "text": "so"},
    ]
    assert stream.saw_message


def test_tool_call_chunks_assembled_by_index_released_at_finish() -> None:
    stream = _open()
    chunks = [
        AIMessageChunk(
            content="", tool_call_chunks=[{"name": "a", "args": "", "id": "c1", "index": 1}]
        ),
        AIMessageChunk(
            content="", tool_call_chunks=[{"name": "b", "args": '{"y"', "id": "c2", "index": 2}]
        ),
        AIMessageChunk(
            content="",
            tool_call_chunks=[{"name": None, "args": '{"x": 1}', "id": None, "index": 1}],
        ),
        AIMessageChunk(
            content="", tool_call_chunks=[{"name": None, "args": ": 2}", "id": None, "index": 2}]
        ),
    ]
    assert _events_no_end(stream, chunks) == []  # nothing before the end of the response
    done = stream.decode(
        AIMessageChunk(
            content="",
            response_metadata={"finish_reason": "tool_calls", "model_provider": "openai"},
        )
    )
    assert isinstance(done, list)
    calls = [e.data for e in done]
    # One numbering rule for every adapter: ToolCall.index is the release order.
    assert [(c.index, c.id, c.name, c.arguments, c.raw_arguments) for c in calls] == [
        (0, "c1", "a", {"x": 1}, '{"x": 1}'),
        (1, "c2", "b", {"y": 2}, '{"y": 2}'),
    ]
    assert stream.tool_calls == calls
    assert (stream.finish_reason, stream.ended, stream.expects_end) == ("tool_calls", True, True)
    assert stream.end() == []  # released once


def _events_no_end(stream: LangChainStream, chunks: list[AIMessageChunk]) -> list[Any]:
    return [d for c in chunks if (d := stream.decode(c)) is not None]


def test_a_cut_tool_call_is_never_released_half_written() -> None:
    stream = _open()
    stream.decode(
        AIMessageChunk(
            content="",
            tool_call_chunks=[
                {"name": "f", "args": '{"a": ', "id": "c", "index": 0},
                {"name": "g", "args": '{"b": 1}', "id": "d", "index": 1},
            ],
        )
    )
    # No finish reason: only the call whose arguments are whole JSON is released.
    (event,) = stream.end()
    assert event.type is EventType.TOOL_CALL
    assert (event.data.id, event.data.arguments) == ("d", {"b": 1})


def test_usage_is_summed_and_finish_reason_read() -> None:
    stream = _open()
    usage = {
        "input_tokens": 5,
        "output_tokens": 1,
        "total_tokens": 6,
        "output_token_details": {"reasoning": 1},
    }
    stream.decode(AIMessageChunk(content="a", usage_metadata=usage))  # type: ignore[arg-type]
    more = {"input_tokens": 0, "output_tokens": 2, "total_tokens": 2}
    stream.decode(
        AIMessageChunk(
            content="",
            usage_metadata=more,  # type: ignore[arg-type]
            response_metadata={
                "stop_reason": "end_turn",
                "model_name": "m",
                "model_provider": "anthropic",
            },
        )
    )
    assert stream.usage == l0.Usage(5, 3, 8, {"output_token_details": {"reasoning": 1}})
    assert (stream.finish_reason, stream.model_name, stream.model_provider) == (
        "end_turn",
        "m",
        "anthropic",
    )


def test_unknown_provider_does_not_expect_a_finish_reason() -> None:
    stream = _open()
    stream.decode(AIMessageChunk(content="x"))
    assert not stream.expects_end


def test_other_chunks_pass_through_as_data() -> None:
    stream = _open()
    (event,) = _events(stream, {"partial": "json"})
    assert (event.type, event.data) == (EventType.DATA, {"partial": "json"})
    chunk = ChatGenerationChunk(message=AIMessageChunk(content="wrapped"))
    (token,) = _events(stream, chunk)
    assert token.text == "wrapped"


async def test_silent_truncation_of_an_openai_stream_is_an_error() -> None:
    async def truncated() -> AsyncIterator[Any]:
        yield AIMessageChunk(content="half", response_metadata={"model_provider": "openai"})

    with pytest.raises(l0.TruncatedStreamError):
        await l0.run(truncated, adapter="langchain", retry=l0.Retry(max_retries=0))
