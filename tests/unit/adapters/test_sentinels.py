"""``""`` placeholders are absent in every adapter: finish/stop reasons, ids, names, indexes."""

from __future__ import annotations

from typing import Any

import anthropic  # noqa: F401  # the adapter detects SDK types only once the SDK is imported
import openai  # noqa: F401
import pytest
from anthropic._models import construct_type as anthropic_construct
from anthropic.types import (
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawContentBlockStopEvent,
    RawMessageDeltaEvent,
)
from openai._models import construct_type
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent

import l0
from l0.adapters.anthropic import ANTHROPIC_ADAPTER
from l0.adapters.openai import OPENAI_ADAPTER

pytestmark = pytest.mark.anyio


def chat(delta: dict[str, Any], finish: Any = "", index: Any = 0) -> ChatCompletionChunk:
    choice = {"delta": delta, "finish_reason": finish}
    if index is not None:
        choice["index"] = index
    value = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    return construct_type(type_=ChatCompletionChunk, value={**value, "choices": [choice]})  # type: ignore[no-any-return]


async def test_openai_chat_empty_finish_and_missing_choice_index() -> None:
    chunks = [
        chat({"content": "Hello"}, index=None),
        chat({"content": " there,"}, index=""),
    ]
    stream = OPENAI_ADAPTER.open(chunks)
    events = [stream.decode(c) for c in chunks]
    assert [e.text for e in events if isinstance(e, l0.Event)] == ["Hello", " there,"]
    assert (stream.ended, stream.finish_reason) == (False, None)  # "" is no finish


ANTHROPIC_EVENTS: dict[str, type] = {
    "content_block_start": RawContentBlockStartEvent,
    "content_block_delta": RawContentBlockDeltaEvent,
    "content_block_stop": RawContentBlockStopEvent,
    "message_delta": RawMessageDeltaEvent,
}


def anth(value: dict[str, Any]) -> Any:
    return anthropic_construct(type_=ANTHROPIC_EVENTS[value["type"]], value=value)


async def test_anthropic_empty_stop_reason_and_tool_ids() -> None:
    stream = ANTHROPIC_ADAPTER.open([])
    for value in [
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "", "name": "f", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"a": 1}'},
        },
        {"type": "message_delta", "delta": {"stop_reason": ""}, "usage": {"output_tokens": 1}},
    ]:
        stream.decode(anth(value))
    assert stream.finish_reason is None
    stream.decode(anth({"type": "content_block_stop", "index": 1}))
    assert [(c.id, c.name, c.arguments) for c in stream.tool_calls] == [("", "f", {"a": 1})]


async def test_responses_empty_incomplete_reason_falls_back_to_the_status() -> None:
    stream = OPENAI_ADAPTER.open([])
    response = {
        "id": "r",
        "object": "response",
        "created_at": 1,
        "model": "m",
        "output": [],
        "status": "completed",
        "incomplete_details": {"reason": ""},
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }
    event = construct_type(
        type_=ResponseStreamEvent,
        value={"type": "response.completed", "sequence_number": 1, "response": response},
    )
    stream.decode(event)
    assert (stream.ended, stream.finish_reason) == (True, "completed")


async def test_text_adapter_complete_event_with_empty_finish_reason() -> None:
    async def source() -> Any:
        yield "done"
        yield l0.Event(l0.EventType.COMPLETE, None, {"finish_reason": ""})

    result = await l0.run(source)
    assert (result.text, result.finish_reason) == ("done", None)
