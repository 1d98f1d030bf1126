"""Model mode over real ChatOpenAI / ChatAnthropic with transport faults mid-stream."""

from __future__ import annotations

from typing import Any

import anyio
import openai
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

import l0
from l0.integrations.langchain import L0Runnable
from l0.testing import FakeClock

from .fake_provider import (
    DROP,
    STALL,
    Script,
    anthropic_reply,
    chat_anthropic,
    chat_openai,
    drain,
    http_error,
    openai_reply,
)

pytestmark = pytest.mark.anyio


async def _collect(runnable: Any, value: Any) -> list[Any]:
    return [c async for c in runnable.astream(value)]


async def test_openai_drop_after_chunks_continues_byte_exact() -> None:
    script = Script(
        openai_reply("The", " quick", " brown", fault=DROP),
        openai_reply(" brown", " fox", " jumps."),  # restates the end of the checkpoint
    )
    clock = FakeClock()
    chunks = await _collect(L0Runnable(chat_openai(script), clock=clock), "Tell me")

    text = "".join(c.content for c in chunks)
    assert text == "The quick brown fox jumps."
    assert [c.content for c in chunks if c.content] == [
        "The",
        " quick",
        " brown",
        " fox",
        " jumps.",
    ]
    assert len({c.id for c in chunks}) == 1  # one message id across both attempts
    assert chunks[-1].chunk_position == "last"
    assert chunks[-1].response_metadata["finish_reason"] == "stop"
    assert chunks[-1].response_metadata["l0"]["attempts"] == 2
    # The retry continued: the checkpoint went back as an assistant prefix.
    assert script.requests[1]["messages"][-1] == {"role": "assistant", "content": "The quick brow"}
    assert len(clock.sleeps) == 1


async def test_anthropic_drop_after_chunks_continues_byte_exact() -> None:
    script = Script(
        anthropic_reply("Once upon", " a time", fault=DROP),
        anthropic_reply(" time there", " was a fox."),
    )
    chain = ChatPromptTemplate.from_template("story about {x}") | L0Runnable(
        chat_anthropic(script), clock=FakeClock()
    )
    message = await chain.ainvoke({"x": "a fox"})

    assert isinstance(message, AIMessage)
    assert message.content == "Once upon a time there was a fox."
    assert message.response_metadata["finish_reason"] == "end_turn"
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_tokens"] == 7
    last = script.requests[1]["messages"][-1]
    assert last["role"] == "assistant"
    sent = "Once upon a ti"  # l0 held back "me" (found nowhere else) and aligned on it
    assert last["content"] in (sent, [{"type": "text", "text": sent}])


async def test_trailing_whitespace_is_not_sent_and_not_doubled() -> None:
    script = Script(
        anthropic_reply("Hello", " big ", fault=DROP),
        # Anthropic continues the prefix it was sent ("Hello bi") exactly.
        anthropic_reply("g", " world", "!"),
    )
    message = await L0Runnable(chat_anthropic(script), clock=FakeClock()).ainvoke("hi")
    assert message.content == "Hello big world!"
    last = script.requests[1]["messages"][-1]
    assert "Hello bi" in str(last["content"])
    assert "Hello big" not in str(last["content"])  # no trailing whitespace sent


async def test_stall_times_out_and_retries() -> None:
    script = Script(openai_reply("Hel", "lo", fault=STALL), openai_reply("Hello", " again."))
    runnable = L0Runnable(
        chat_openai(script),
        timeout=l0.Timeout(inter_token=0.05),
        retry=l0.Retry(base_delay=0.0),
    )
    chunks = await _collect(runnable, "hi")
    assert "".join(c.content for c in chunks) == "Hello again."
    assert len(script.requests) == 2


async def test_401_on_primary_falls_back_to_other_provider() -> None:
    primary = Script(http_error(401, "invalid api key"))
    backup = Script(anthropic_reply("Fallback", " answer."))
    chain = (
        ChatPromptTemplate.from_template("{q}")
        | L0Runnable(chat_openai(primary), fallbacks=[chat_anthropic(backup)], clock=FakeClock())
        | StrOutputParser()
    )
    assert await chain.ainvoke({"q": "hi"}) == "Fallback answer."
    assert len(primary.requests) == 1  # a 401 is never retried on the same model
    assert len(backup.requests) == 1


async def test_drop_after_chunks_falls_back_and_continues_on_the_fallback() -> None:
    primary = Script(openai_reply("Alpha", " beta", fault=DROP))
    backup = Script(anthropic_reply(" gamma", " delta."))
    runnable = L0Runnable(
        chat_openai(primary),
        fallbacks=[chat_anthropic(backup)],
        retry=l0.Retry(max_retries=0),
        clock=FakeClock(),
    )
    chunks = await _collect(runnable, "hi")
    assert "".join(c.content for c in chunks) == "Alpha beta gamma delta."
    assert len({c.id for c in chunks}) == 1
    assert chunks[-1].response_metadata["l0"]["model_provider"] == "anthropic"
    assert "model_provider" not in chunks[-1].response_metadata
    assert chunks[-1].response_metadata["l0"]["fallback_index"] == 1


async def test_with_retry_and_with_fallbacks_lose_the_stream_l0runnable_does_not() -> None:
    def faults() -> tuple[Script, Script]:
        return (
            Script(openai_reply("Part", " one", fault=DROP), openai_reply("Part one, part two.")),
            Script(anthropic_reply("Part one, part two.")),
        )

    primary, backup = faults()
    builtin = (
        chat_openai(primary)
        .with_retry(stop_after_attempt=3)
        .with_fallbacks([chat_anthropic(backup)])
    )
    got: list[AIMessageChunk] = []
    with pytest.raises(openai.APIConnectionError):
        await drain(builtin.astream("hi"), got)
    # A partial answer, then the error: no retry, no fallback.
    assert "".join(c.content for c in got) == "Part one"
    assert len(primary.requests) == 1
    assert not backup.requests

    primary, backup = faults()
    runnable = L0Runnable(
        chat_openai(primary), fallbacks=[chat_anthropic(backup)], clock=FakeClock()
    )
    text = "".join([c.content async for c in runnable.astream("hi")])
    assert text == "Part one, part two."


async def test_tool_call_streamed_before_a_drop_is_not_duplicated() -> None:
    script = Script(
        openai_reply(tool=("get_weather", '{"city": "Paris"}'), fault=DROP),
        openai_reply(tool=("get_weather", '{"city": "Paris"}')),
    )
    llm = chat_openai(script)
    runnable = L0Runnable(llm, clock=FakeClock()).bind_tools(
        [
            {
                "type": "function",
                "function": {"name": "get_weather", "parameters": {"type": "object"}},
            }
        ]
    )
    assert isinstance(runnable, L0Runnable)
    chunks: list[AIMessageChunk] = [c async for c in runnable.astream("weather?")]
    message = chunks[0]
    for c in chunks[1:]:
        message = message + c
    assert [(tc["name"], tc["args"]) for tc in message.tool_calls] == [
        ("get_weather", {"city": "Paris"})
    ]
    assert all("tools" in request for request in script.requests)


async def test_leaving_the_stream_early_closes_the_run() -> None:
    import asyncio

    script = Script(openai_reply("first", " second", fault=STALL))
    stream = L0Runnable(chat_openai(script)).astream("hi")
    async for chunk in stream:
        assert chunk.content == "first"
        break
    with anyio.fail_after(1):  # the provider stalls for 5 s: closing must not wait for it
        await stream.aclose()  # type: ignore[attr-defined]
        for _ in range(5):
            await asyncio.sleep(0)
    running = [
        t
        for t in asyncio.all_tasks()
        if getattr(t.get_coro(), "__qualname__", "").endswith("produce")
    ]
    assert running == []  # the l0 run's own task is gone
