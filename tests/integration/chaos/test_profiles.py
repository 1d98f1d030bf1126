"""The fault suite over every provider quirk profile x every client stack (the real openai and
anthropic SDKs, LiteLLM, LangChain's ChatOpenAI): each fault still ends in the exact answer.

Profiles only bend the OpenAI chat wire (and, for ``anthropic``, the Messages wire), so the
anthropic SDK runs under the two profiles that change its bytes.
"""

from __future__ import annotations

import pytest

import l0
from l0.chaos import DEFAULT_ANSWER, ChaosServer
from l0.chaos.profiles import PROFILES
from l0.testing import FakeClock
from l0.testing.chaos import openai_client

from .clients import EXPECTED_CALLS, STACKS, calls_of, source_for
from .helpers import USER

pytestmark = pytest.mark.anyio

STORM = (
    "drop_after_tokens=5; status=429,retry_after=1; status=503; malformed_after_tokens=4;"
    "truncate_after_tokens=6; inband_error=3"
)
"""Every fault of the suite, one per request: drop, 429, 5xx, malformed, truncation,
in-band error (then a clean answer)."""
OUTCOMES = ["dropped", "status", "status", "malformed", "truncated", "inband_error", "complete"]
ASK = {"messages": USER, "stream": True}
PATIENT = l0.Retry(attempts=10, max_retries=20)
# Lingering profiles: a short grace after the end marker keeps the suite fast.
QUICK_END = l0.Timeout(after_end=0.05)


def combos() -> list[tuple[str, str]]:
    out = []
    for stack in STACKS:
        for profile in PROFILES:
            if stack == "anthropic" and profile not in ("openai", "anthropic"):
                continue
            out.append((stack, profile))
    return out


COMBOS = combos()


@pytest.mark.parametrize(("stack", "profile"), COMBOS)
async def test_every_fault_then_the_exact_answer(stack: str, profile: str) -> None:
    async with (
        ChaosServer(STORM, restate=4) as server,
        source_for(stack, server, profile) as source,
    ):
        result = await l0.run(
            source, continuation=True, retry=PATIENT, timeout=QUICK_END, clock=FakeClock()
        )
    assert result.text == DEFAULT_ANSWER
    assert [r.outcome for r in server.requests] == OUTCOMES
    assert len(result.errors) == len(OUTCOMES) - 1
    assert all(l0.is_retryable(e) for e in result.errors)
    assert {r.profile for r in server.requests} == {profile}


@pytest.mark.parametrize(("stack", "profile"), COMBOS)
async def test_stall_then_exact_answer(stack: str, profile: str) -> None:
    async with (
        ChaosServer("stall_after_tokens=5", restate=4) as server,
        source_for(stack, server, profile) as source,
    ):
        result = await l0.run(
            source,
            continuation=True,
            retry=l0.Retry(backoff="fixed", base_delay=0.01),
            timeout=l0.Timeout(initial_token=5, inter_token=0.25, after_end=0.05),
        )
    assert result.text == DEFAULT_ANSWER
    assert "StreamTimeoutError" in [type(e).__name__ for e in result.errors]
    assert server.requests[0].outcome == "stalled"


@pytest.mark.parametrize(("stack", "profile"), COMBOS)
async def test_parallel_tool_calls_exact(stack: str, profile: str) -> None:
    """Two calls to one tool, fragmented the profile's way, the first response cut mid-call:
    exactly the two calls, each with its own arguments, never a half-written one."""
    async with (
        ChaosServer("drop_after_tokens=2") as server,
        source_for(stack, server, profile, tools=True) as source,
        l0.stream(source, timeout=QUICK_END, clock=FakeClock()) as s,
    ):
        events = [e async for e in s]
    result = s.result
    assert calls_of(result) == EXPECTED_CALLS
    emitted = [e.data for e in events if e.type is l0.EventType.TOOL_CALL]
    assert [(c.id, c.arguments) for c in emitted] == [(i, a) for i, _, a in EXPECTED_CALLS]
    assert result.finish_reason in ("tool_calls", "tool_use")
    assert [r.outcome for r in server.requests] == ["dropped", "complete"]
    assert len(server.requests[1].tool_fragments) >= 2


def test_unknown_profile_names_the_closest() -> None:
    with pytest.raises(ValueError, match="did you mean 'ollama'"):
        ChaosServer(profile="olama")


async def test_profile_by_header_then_model_suffix_then_server_default() -> None:
    async with ChaosServer(profile="azure") as server:
        async with openai_client(server, profile="ollama") as client:
            await l0.run(lambda: client.chat.completions.create(model="m@gemini", **ASK))
        async with openai_client(server) as client:
            await l0.run(lambda: client.chat.completions.create(model="m@gemini", **ASK))
            await l0.run(lambda: client.chat.completions.create(model="m@nobody", **ASK))
            bad = client.chat.completions.create(
                model="m", extra_headers={"x-l0-chaos-profile": "vlm"}, **ASK
            )
            with pytest.raises(l0.L0Error, match="did you mean 'vllm'"):
                await l0.run(lambda: bad)
    assert [r.profile for r in server.requests] == ["ollama", "gemini", "azure"]
