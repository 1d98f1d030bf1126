"""Restart semantics for runnables that cannot continue; re-wrapping; sync guard mode."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from pydantic import BaseModel

import l0
from l0.integrations.langchain import L0Runnable
from l0.testing import FakeClock

from .fake_provider import DROP, Script, chat_openai, openai_reply

pytestmark = pytest.mark.anyio


def _chain(script: Script) -> Any:
    return ChatPromptTemplate.from_template("{q}") | chat_openai(script) | StrOutputParser()


async def test_a_restarted_chain_stream_ends_with_an_error_never_two_answers() -> None:
    # A dict input to a whole chain cannot take an assistant prefix: the retry restarts.
    # A stream cannot take "Draft one" back: after the l0_reset event (which comes after
    # the chunks it takes back) the stream raises instead of gluing on "Final answer".
    for _ in range(30):
        script = Script(openai_reply("Draft", " one", fault=DROP), openai_reply("Final", " answer"))
        runnable = L0Runnable(_chain(script), clock=FakeClock())
        events: list[Any] = []
        with pytest.raises(l0.OutputRetractedError) as info:
            async for e in runnable.astream_events({"q": "hi"}, version="v2"):
                events.append(e)
        assert info.value.shown == len("Draft one")
        assert isinstance(info.value.cause, l0.NetworkError)
        order = [
            "reset" if e["event"] == "on_custom_event" and e["name"] == "l0_reset" else "chunk"
            for e in events
            if (e["event"] == "on_chain_stream" and not e["parent_ids"])
            or (e["event"] == "on_custom_event" and e["name"] == "l0_reset")
        ]
        assert order[-1] == "reset" and order.count("reset") == 1
        streamed = [
            e["data"]["chunk"]
            for e in events
            if e["event"] == "on_chain_stream" and not e["parent_ids"]
        ]
        assert "".join(streamed) == "Draft one"


async def test_invoke_of_a_restarted_chain_returns_only_the_final_answer() -> None:
    script = Script(openai_reply("Draft", " one", fault=DROP), openai_reply("Final", " answer"))
    assert (
        await L0Runnable(_chain(script), clock=FakeClock()).ainvoke({"q": "hi"}) == "Final answer"
    )


class Weather(BaseModel):
    city: str


async def test_with_structured_output_rewraps_primary_and_fallbacks() -> None:
    primary = Script(openai_reply(tool=("Weather", '{"city": "Paris"}'), fault=DROP))
    backup = Script(openai_reply(tool=("Weather", '{"city": "Oslo"}')))
    runnable = L0Runnable(
        chat_openai(primary),
        fallbacks=[chat_openai(backup)],
        retry=l0.Retry(max_retries=0),
        clock=FakeClock(),
    ).with_structured_output(Weather, method="function_calling")
    # Only the model step is wrapped (the parsers run on the whole answer, as LangChain's).
    assert isinstance(runnable.first, L0Runnable)
    assert len(runnable.first.fallbacks) == 1
    assert await runnable.ainvoke("weather?") == Weather(city="Oslo")
    assert all("tools" in request for request in primary.requests + backup.requests)


def test_sync_guard_mode_in_a_chain() -> None:
    script = Script(openai_reply("all", " fine"))
    chain = (
        chat_openai(script) | L0Runnable(timeout=l0.Timeout(inter_token=1.0)) | StrOutputParser()
    )
    assert "".join(chain.stream("hi")) == "all fine"


def test_bad_options_fail_at_construction() -> None:
    with pytest.raises(ValueError, match="fallbacks need a primary"):
        L0Runnable(fallbacks=[chat_openai(Script())])
    with pytest.raises(ValueError, match="retry"):
        L0Runnable(chat_openai(Script()), retry=3)  # type: ignore[arg-type]
