"""Tracing (child runs per attempt, custom events) and the sync execution paths."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from l0.integrations.langchain import L0Runnable
from l0.testing import FakeClock

from .fake_provider import DROP, Script, chat_openai, openai_reply


def _flaky() -> Script:
    return Script(openai_reply("Hello", " wor", fault=DROP), openai_reply(" world", "!"))


@pytest.mark.anyio
async def test_astream_events_show_each_attempt_as_a_child_run() -> None:
    chain = (
        ChatPromptTemplate.from_template("{q}")
        | L0Runnable(chat_openai(_flaky()), clock=FakeClock())
        | StrOutputParser()
    )
    events = [e async for e in chain.astream_events({"q": "hi"}, version="v2")]

    starts = [e for e in events if e["event"] == "on_chat_model_start"]
    assert [s["tags"] for s in starts] == [["l0:attempt:1"], ["l0:attempt:2"]]
    l0_run = next(e for e in events if e["event"] == "on_chain_start" and e["name"] == "L0Runnable")
    assert all(s["parent_ids"][-1] == l0_run["run_id"] for s in starts)
    assert [s["metadata"]["l0_attempt"] for s in starts] == [1, 2]
    custom = [e for e in events if e["event"] == "on_custom_event"]
    assert [e["name"] for e in custom] == ["l0_retry", "l0_resume"]
    assert custom[0]["data"]["category"] == "network"
    streamed = [
        e["data"]["chunk"]
        for e in events
        if e["event"] == "on_chain_stream" and not e["parent_ids"]
    ]
    assert "".join(streamed) == "Hello world!"
    end = next(e for e in events if e["event"] == "on_chain_end" and e["name"] == "L0Runnable")
    assert end["data"]["output"].content == "Hello world!"


@pytest.mark.anyio
async def test_callbacks_tags_and_metadata_reach_the_inner_model() -> None:
    seen: list[dict[str, Any]] = []

    class Recorder(BaseCallbackHandler):
        def on_chat_model_start(self, serialized: Any, messages: Any, **kw: Any) -> None:
            seen.append({"tags": kw.get("tags"), "metadata": kw.get("metadata")})

    runnable = L0Runnable(chat_openai(_flaky()), clock=FakeClock())
    await runnable.ainvoke(
        "hi", {"callbacks": [Recorder()], "tags": ["mine"], "metadata": {"user": "u1"}}
    )
    assert len(seen) == 2
    assert all("mine" in s["tags"] and s["metadata"]["user"] == "u1" for s in seen)


def test_sync_invoke_and_stream_without_an_event_loop() -> None:
    runnable = L0Runnable(chat_openai(_flaky()), clock=FakeClock())
    assert runnable.invoke("hi").content == "Hello world!"
    chunks = list(L0Runnable(chat_openai(_flaky()), clock=FakeClock()).stream("hi"))
    assert "".join(c.content for c in chunks) == "Hello world!"
    assert len({c.id for c in chunks}) == 1


def test_sync_paths_inside_a_running_loop_thread() -> None:
    async def notebook_cell() -> tuple[str, str, list[str]]:
        # Blocking calls from the loop's own thread, as a notebook cell does.
        invoked = L0Runnable(chat_openai(_flaky()), clock=FakeClock()).invoke("hi").content
        streamed = "".join(
            c.content for c in L0Runnable(chat_openai(_flaky()), clock=FakeClock()).stream("hi")
        )
        chain = (
            ChatPromptTemplate.from_template("{q}")
            | L0Runnable(chat_openai(_flaky()), clock=FakeClock())
            | StrOutputParser()
        )
        return invoked, streamed, list(chain.stream({"q": "hi"}))

    invoked, streamed, pieces = asyncio.run(notebook_cell())
    assert invoked == streamed == "".join(pieces) == "Hello world!"


def test_batch_runs_every_input() -> None:
    fake = GenericFakeChatModel(messages=iter([AIMessage("one"), AIMessage("two")]))
    outputs = L0Runnable(fake).batch(["a", "b"], {"max_concurrency": 1})
    assert sorted(o.content for o in outputs) == ["one", "two"]


@pytest.mark.anyio
async def test_abatch_runs_every_input() -> None:
    fake = GenericFakeChatModel(messages=iter([AIMessage("one"), AIMessage("two")]))
    outputs = await L0Runnable(fake).abatch(["a", "b"])
    assert sorted(o.content for o in outputs) == ["one", "two"]
