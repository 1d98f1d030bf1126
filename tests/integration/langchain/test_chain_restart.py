"""What docs/langchain.md says a restarted chain gives each surface, checked against the
``l0.chaos`` server (plan ``drop_after_tokens=5``) with real ``ChatOpenAI`` over real HTTP.

A whole chain cannot take an assistant prefix, so after the drop the chain restarts: a stream
that already sent text cannot take it back and raises; ``ainvoke`` returns the final answer.
Wrapping the model instead of the chain continues, so its stream is clean.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

import l0
from l0.chaos import ChaosServer
from l0.integrations.langchain import L0Runnable
from l0.testing import FakeClock

from .chaos_models import chaos_openai

pytestmark = pytest.mark.anyio

PLAN = "drop_after_tokens=5"


def _chain(server: ChaosServer) -> Any:
    return ChatPromptTemplate.from_template("{q}") | chaos_openai(server) | StrOutputParser()


async def _answer() -> str:
    async with ChaosServer() as server:
        return str(await _chain(server).ainvoke({"q": "hi"}))


async def test_ainvoke_of_a_wrapped_chain_returns_the_whole_answer() -> None:
    async with ChaosServer(PLAN) as server:
        out = await L0Runnable(_chain(server), clock=FakeClock()).ainvoke({"q": "hi"})
        assert len(server.requests) == 2  # restarted after the drop
    assert out == await _answer()


async def test_astream_of_a_wrapped_chain_raises_after_the_drop_never_glues() -> None:
    sent: list[str] = []
    async with ChaosServer(PLAN) as server:
        with pytest.raises(l0.OutputRetractedError) as info:
            async for chunk in L0Runnable(_chain(server), clock=FakeClock()).astream({"q": "hi"}):
                sent.append(chunk)
    text = "".join(sent)
    assert text and (await _answer()).startswith(text)  # a clean prefix, then the error
    assert info.value.shown == len(text)
    assert isinstance(info.value.cause, l0.NetworkError)
    # The advice fits a drop of a chain: continuation needs a source that can continue.
    assert "not a whole chain" in str(info.value)
    assert "release='checked'" not in str(info.value)


async def test_astream_events_of_a_wrapped_chain_raises_after_the_reset_event() -> None:
    events: list[dict[str, Any]] = []
    async with ChaosServer(PLAN) as server:
        runnable = L0Runnable(_chain(server), clock=FakeClock())
        with pytest.raises(l0.OutputRetractedError):
            async for event in runnable.astream_events({"q": "hi"}, version="v2"):
                events.append(dict(event))
    resets = [e for e in events if e["event"] == "on_custom_event" and e["name"] == "l0_reset"]
    top = [e for e in events if e["event"] == "on_chain_stream" and not e["parent_ids"]]
    assert len(resets) == 1 and events.index(resets[0]) > events.index(top[-1])
    text = "".join(e["data"]["chunk"] for e in top)
    assert resets[0]["data"]["discard"] == len(text)
    assert (await _answer()).startswith(text)  # no chunk of a second answer


async def test_wrapping_the_model_instead_continues_and_streams_clean_text() -> None:
    async with ChaosServer(PLAN) as server:
        chain = (
            ChatPromptTemplate.from_template("{q}")
            | L0Runnable(chaos_openai(server), clock=FakeClock())
            | StrOutputParser()
        )
        text = "".join([chunk async for chunk in chain.astream({"q": "hi"})])
        assert len(server.requests) == 2  # continued after the drop
    assert text == await _answer()
