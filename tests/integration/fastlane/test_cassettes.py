"""Every recorded provider stream (cassettes, record mode none) through the SDK path and the
fast lane: the same events, text, tool calls, usage, finish reason and errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

import l0
from tests.integration.adapters.support import CASSETTES, MESSAGES, play

from .paths import record

pytestmark = pytest.mark.anyio

CHAT = sorted(
    p.relative_to(CASSETTES).as_posix()
    for p in (CASSETTES / "openai").glob("*.yaml")
    if not p.name.startswith("responses_")
)
RESPONSES = sorted(
    p.relative_to(CASSETTES).as_posix() for p in (CASSETTES / "openai").glob("responses_*.yaml")
)
ANTHROPIC = sorted(
    p.relative_to(CASSETTES).as_posix() for p in (CASSETTES / "anthropic").glob("*.yaml")
)
RETRY = l0.Retry(attempts=3, max_retries=4, backoff="fixed", base_delay=0.0)


def _chat_source(fast: bool) -> Any:
    client = openai.AsyncOpenAI(api_key="test", max_retries=0)
    kwargs: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "messages": MESSAGES,
        "stream_options": {"include_usage": True},
    }
    if fast:
        return lambda: l0.fastlane.openai_chat(client, **kwargs)
    return lambda: client.chat.completions.create(stream=True, **kwargs)


def _responses_source(fast: bool) -> Any:
    client = openai.AsyncOpenAI(api_key="test", max_retries=0)
    kwargs: dict[str, Any] = {"model": "gpt-4o-mini", "input": MESSAGES}
    if fast:
        return lambda: l0.fastlane.openai_responses(client, **kwargs)
    return lambda: client.responses.create(stream=True, **kwargs)


def _anthropic_source(fast: bool) -> Any:
    client = anthropic.AsyncAnthropic(api_key="test", max_retries=0)
    kwargs: dict[str, Any] = {"model": "claude-sonnet-4-6", "max_tokens": 64, "messages": MESSAGES}
    if fast:
        return lambda: l0.fastlane.anthropic_messages(client, **kwargs)
    return lambda: client.messages.create(stream=True, **kwargs)


async def _replay(name: str, fast: bool, make: Any) -> dict[str, Any]:
    src = make(fast)
    with play(name, all_played=False) as cassette:
        got = await record(src, fallbacks=[make(fast)], retry=RETRY, continuation=False)
    got["played"] = cassette.play_count
    return got


@pytest.mark.parametrize("name", CHAT, ids=[Path(n).stem for n in CHAT])
async def test_chat_cassette_gives_the_same_on_both_paths(name: str) -> None:
    sdk = await _replay(name, False, _chat_source)
    fast = await _replay(name, True, _chat_source)
    assert fast == sdk
    assert sdk["played"] >= 1


@pytest.mark.parametrize("name", RESPONSES, ids=[Path(n).stem for n in RESPONSES])
async def test_responses_cassette_gives_the_same_on_both_paths(name: str) -> None:
    sdk = await _replay(name, False, _responses_source)
    fast = await _replay(name, True, _responses_source)
    assert fast == sdk
    assert sdk["played"] >= 1


@pytest.mark.parametrize("name", ANTHROPIC, ids=[Path(n).stem for n in ANTHROPIC])
async def test_anthropic_cassette_gives_the_same_on_both_paths(name: str) -> None:
    sdk = await _replay(name, False, _anthropic_source)
    fast = await _replay(name, True, _anthropic_source)
    assert fast == sdk
    assert sdk["played"] >= 1
