"""Streams from the wild, through the real SDKs, LiteLLM and LangChain over the chaos
profiles: a finished answer is never retried, ``""`` sentinels are absent, parallel tool calls
come out whole whatever their index convention."""

from __future__ import annotations

import time

import pytest

import l0
from l0.chaos import ChaosServer
from l0.testing import FakeClock
from l0.testing.chaos import openai_client

from .clients import calls_of, source_for
from .helpers import USER

CHAT_STACKS = ("openai", "litellm", "langchain")
# The end marker's grace, shortened so the tests stay quick (default 1 s, bounded by
# inter_token); the rule itself is the same.
SHORT = l0.Timeout(inter_token=1, after_end=0.2)


@pytest.mark.parametrize("stack", ["openai", "anthropic", "litellm", "langchain"])
@pytest.mark.anyio
async def test_a_finished_answer_with_a_lingering_or_cut_body_is_not_retried(stack: str) -> None:
    """The whole answer and the finish marker arrive, then the body stays open (no
    ``[DONE]``, no close) — or, on the next request, is cut: one request each, the answer
    returned with its finish reason."""
    profile = "anthropic" if stack == "anthropic" else "vllm"
    async with (
        ChaosServer(answer="Hello world.") as server,
        source_for(stack, server, profile) as source,
    ):
        started = time.monotonic()
        lingering = await l0.run(source, continuation=True, timeout=SHORT)
        waited = time.monotonic() - started
        cut = await l0.run(source, continuation=True, timeout=SHORT)
    stop = "end_turn" if stack == "anthropic" else "stop"
    assert (lingering.text, lingering.finish_reason) == ("Hello world.", stop)
    assert (cut.text, cut.finish_reason) == ("Hello world.", stop)
    assert lingering.errors == cut.errors == []
    assert len(server.requests) == 2  # one per run
    assert waited < 5  # the grace period, not a stall timeout and three retries


@pytest.mark.parametrize("stack", CHAT_STACKS)
@pytest.mark.anyio
async def test_empty_finish_reasons_do_not_pass_a_cut_stream_off_as_whole(stack: str) -> None:
    """``finish_reason: ""`` on every chunk, the stream cut after "Hello there," with no
    finish and no ``[DONE]``: a truncation, retried — not a complete answer."""
    async with (
        ChaosServer("truncate_after_tokens=2", answer="Hello there, friend.") as server,
        source_for(stack, server, "ollama") as source,
    ):
        result = await l0.run(source, continuation=True, clock=FakeClock())
    assert server.requests[0].text == "Hello there,"
    assert result.text == "Hello there, friend."
    assert result.finish_reason == "stop"
    # LiteLLM notices the missing end itself (its own error, a NetworkError to l0)
    expected = "NetworkError" if stack == "litellm" else "TruncatedStreamError"
    assert [type(e).__name__ for e in result.errors] == [expected]
    assert len(server.requests) == 2


@pytest.mark.parametrize("stack", CHAT_STACKS)
@pytest.mark.anyio
async def test_one_call_in_three_fragments_with_empty_sentinels_is_one_call(stack: str) -> None:
    async with (
        ChaosServer(tool_calls=[("get_weather", {"city": "Oslo"})], tool_pieces=3) as server,
        source_for(stack, server, "ollama", tools=True) as source,
    ):
        result = await l0.run(source, clock=FakeClock())
    assert len(server.requests[0].tool_fragments) == 3
    assert calls_of(result) == [("call-1", "get_weather", {"city": "Oslo"})]
    assert result.tool_calls[0].raw_arguments == '{"city":"Oslo"}'


@pytest.mark.parametrize("profile", ["gemini", "ollama"])
@pytest.mark.parametrize("stack", CHAT_STACKS)
@pytest.mark.anyio
async def test_whole_parallel_calls_without_index_or_all_at_zero(stack: str, profile: str) -> None:
    """Two calls, each whole in its own chunk, with no ``index`` (gemini) or both at
    ``index: 0`` with distinct ids (ollama): two calls with their own arguments."""
    async with (
        ChaosServer(tool_pieces=1) as server,
        source_for(stack, server, profile, tools=True) as source,
    ):
        result = await l0.run(source, clock=FakeClock())
    assert calls_of(result) == [
        ("call-1", "search", {"query": "weather Oslo"}),
        ("call-2", "search", {"query": "weather Rome"}),
    ]
    assert result.text == ""
    assert result.finish_reason == "tool_calls"


def test_a_stalled_sync_sdk_stream_times_out_and_is_retried() -> None:
    """The sync openai client's stream is read in a worker thread: the inter-token timeout
    fires on the loop while the read blocks, and the retry gets the answer."""
    with (
        ChaosServer("stall_after_tokens=3", answer="Hello there, friend.") as server,
        openai_client(server, sync=True) as client,
    ):
        result = l0.run_sync(
            lambda attempt: client.chat.completions.create(
                model="m", messages=attempt.continuation_messages(USER), stream=True
            ),
            continuation=True,
            timeout=l0.Timeout(inter_token=0.2),
            retry=l0.Retry(backoff="fixed", base_delay=0.0),
        )
    assert result.text == "Hello there, friend."
    assert [type(e).__name__ for e in result.errors] == ["StreamTimeoutError"]
    assert [r.outcome for r in server.requests] == ["stalled", "complete"]


@pytest.mark.anyio
async def test_late_binding_factories_each_get_their_own_model() -> None:
    async with ChaosServer() as server, openai_client(server) as client:
        factories = [
            lambda m=m: client.chat.completions.create(model=m, messages=USER, stream=True)
            for m in ("first-model", "second-model")
        ]
        for factory in factories:
            await l0.run(factory)
    assert [r.body["model"] for r in server.requests] == ["first-model", "second-model"]
