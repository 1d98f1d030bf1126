"""LangGraph's prebuilt ReAct agent over ``L0ChatModel``: a tool, a mid-stream drop, a fallback.

Real ``ChatOpenAI`` (primary) and ``ChatAnthropic`` (fallback) talk over HTTP to the
scripted provider on 127.0.0.1 (:mod:`.standard_provider`). The OpenAI route first drops the
connection in the middle of the tool call, then answers 401 (fatal for that model), so the
fallback makes the tool call; on the next turn the OpenAI route drops in the middle of the
final answer, and l0 continues it from the checkpoint.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

import l0
from l0.integrations.langchain import L0ChatModel
from l0.observability.events import EventName
from l0.testing import FakeClock

from .standard_provider import ANTHROPIC, OPENAI, TEXT, StandardProvider

pytestmark = [
    pytest.mark.anyio,
    # `create_react_agent` is deprecated in favour of `langchain.agents.create_agent`, which
    # lives in the `langchain` package (not a dependency); the prebuilt agent still ships.
    pytest.mark.filterwarnings("ignore::langgraph.warnings.LangGraphDeprecatedSinceV10"),
]


class Weather:
    """A tool that counts its calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []

        @tool
        def get_weather(location: str) -> str:
            """Get the weather at a location."""
            self.calls.append(location)
            return f"It's sunny in {location}."

        self.tool = get_weather


def _agent(server: StandardProvider, weather: Weather, events: list[str]) -> Any:
    from langgraph.prebuilt import create_react_agent

    primary = ChatOpenAI(
        model="gpt-4o-mini", base_url=f"{server.base_url}/v1", api_key="test", max_retries=0
    )
    fallback = ChatAnthropic(
        model="claude-test", base_url=server.base_url, api_key="test", max_retries=0
    )
    llm = L0ChatModel(
        primary,
        fallbacks=[fallback],
        retry=l0.Retry(attempts=2, max_retries=4),
        clock=FakeClock(),
        on_event=lambda ev: events.append(ev.name),
    )
    return create_react_agent(llm, [weather.tool])


def _script(server: StandardProvider) -> None:
    # 1st OpenAI call: role chunk, tool-call head, half the arguments, then the drop.
    # 2nd: 401 (fatal for OpenAI: go to the fallback). 3rd (the final answer): a drop after
    # a few words, continued by the 4th.
    server.faults[OPENAI].extend(["drop:3", "status:401", "drop:4"])


def _check(state: dict[str, Any], server: StandardProvider, weather: Weather) -> None:
    messages = state["messages"]
    assert [type(m) for m in messages] == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    call = messages[1]
    assert [(c["name"], c["args"]) for c in call.tool_calls] == [
        ("get_weather", {"location": "Paris"})
    ]
    assert call.response_metadata["l0"]["fallback_index"] == 1
    assert weather.calls == ["Paris"]  # the tool ran once
    assert messages[2].content == "It's sunny in Paris."
    assert messages[3].content == TEXT  # every character once
    assert messages[3].response_metadata["l0"]["retries"] == 1
    apis = [api for api, _ in server.requests]
    assert apis == [OPENAI, OPENAI, ANTHROPIC, OPENAI, OPENAI]
    continued = server.requests[-1][1]["messages"][-1]
    assert continued["role"] == "assistant"
    assert TEXT.startswith(continued["content"])


QUESTION = {"messages": [HumanMessage("What is the weather in 'Paris'?")]}


async def test_react_agent_survives_a_drop_and_falls_back() -> None:
    weather, events = Weather(), []
    with StandardProvider() as server:
        _script(server)
        state = await _agent(server, weather, events).ainvoke(QUESTION)
        _check(state, server, weather)
    assert EventName.FALLBACK_START.value in events
    assert EventName.RETRY_ATTEMPT.value in events


def test_react_agent_sync() -> None:
    weather, events = Weather(), []
    with StandardProvider() as server:
        _script(server)
        state = _agent(server, weather, events).invoke(QUESTION)
        _check(state, server, weather)


async def test_react_agent_message_stream_shows_each_token_once() -> None:
    """``stream_mode="messages"``: what a UI shows is the released text, once."""
    weather, events = Weather(), []
    with StandardProvider() as server:
        _script(server)
        agent = _agent(server, weather, events)
        chunks: list[AIMessageChunk] = []
        final: dict[str, Any] = {}
        async for mode, item in agent.astream(QUESTION, stream_mode=["messages", "values"]):
            if mode == "messages" and isinstance(item[0], AIMessageChunk):
                chunks.append(item[0])
            elif mode == "values":
                final = item
        _check(final, server, weather)
    by_turn: dict[str | None, str] = {}
    for c in chunks:
        by_turn[c.id] = by_turn.get(c.id, "") + c.text
    assert list(by_turn.values()) == ["", TEXT]
    tool_chunks = [tc for c in chunks for tc in c.tool_call_chunks]
    assert [tc["name"] for tc in tool_chunks] == ["get_weather"]
