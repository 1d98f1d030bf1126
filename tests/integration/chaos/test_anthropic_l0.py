"""l0 over the real anthropic SDK against the chaos server (``max_retries=0``: l0 retries)."""

from __future__ import annotations

import anthropic  # noqa: F401  # imported at collection, not inside the first test (~1 s)
import pytest

import l0
from l0.chaos import DEFAULT_ANSWER, ChaosServer
from l0.testing import FakeClock
from l0.testing.chaos import anthropic_client, openai_client

from .conftest import needs_adapter
from .helpers import USER, anthropic_messages, openai_chat

pytestmark = [pytest.mark.anyio, needs_adapter("anthropic")]

FAST = l0.Retry(backoff="fixed", base_delay=0.01, max_retries=10, attempts=5)


def error_names(result: l0.Result) -> list[str]:
    return [type(e).__name__ for e in result.errors]


@pytest.mark.parametrize("plan", ["drop_after_tokens=9", "drop_after_bytes=1200,close=fin"])
async def test_drop_is_continued_byte_exact(plan: str) -> None:
    async with ChaosServer(plan, restate=7) as server, anthropic_client(server) as client:
        result = await l0.run(anthropic_messages(client), continuation=True, clock=FakeClock())
    assert result.text == DEFAULT_ANSWER
    assert result.finish_reason == "end_turn"
    assert server.requests[1].continuation.matched
    assert result.usage is not None and result.usage.output_tokens == len(server.requests[1].tokens)


async def test_in_band_overloaded_error_is_retried() -> None:
    async with (
        ChaosServer("inband_error=4", restate=3) as server,
        anthropic_client(server) as client,
    ):
        result = await l0.run(anthropic_messages(client), continuation=True, clock=FakeClock())
    assert result.text == DEFAULT_ANSWER
    assert error_names(result) == ["ServerError"]
    assert result.errors[0].status_code == 529  # type: ignore[attr-defined]


async def test_529_with_retry_after_is_retried_after_the_wait() -> None:
    clock = FakeClock()
    async with (
        ChaosServer("status=529,retry_after=3") as server,
        anthropic_client(server) as client,
    ):
        result = await l0.run(anthropic_messages(client), clock=clock)
    assert result.text == DEFAULT_ANSWER
    assert clock.sleeps[0] >= 3


async def test_stall_then_malformed_then_truncated() -> None:
    plan = "stall_after_tokens=3; malformed_after_tokens=2; truncate_after_tokens=4"
    async with ChaosServer(plan) as server, anthropic_client(server) as client:
        result = await l0.run(
            anthropic_messages(client),
            continuation=True,
            retry=FAST,
            timeout=l0.Timeout(initial_token=1.0, inter_token=0.1),
        )
    assert result.text == DEFAULT_ANSWER
    assert error_names(result) == ["StreamTimeoutError", "NetworkError", "TruncatedStreamError"]


async def test_ping_keepalives_do_not_reach_l0() -> None:
    """Anthropic's ``ping`` events are skipped by the SDK: a think longer than
    ``initial_token`` times out even while the server keeps pinging."""
    plan = "stall_after_bytes=0,keepalive=0.02,stall_for=0.5"
    async with ChaosServer(plan) as server, anthropic_client(server) as client:
        result = await l0.run(
            anthropic_messages(client), retry=FAST, timeout=l0.Timeout(initial_token=0.15)
        )
    assert result.text == DEFAULT_ANSWER
    assert result.errors[0].code is l0.ErrorCode.INITIAL_TOKEN_TIMEOUT  # type: ignore[attr-defined]


async def test_message_start_before_a_stall_counts_as_liveness() -> None:
    """A stall after ``message_start`` is past the initial-token wait: inter_token fires."""
    async with ChaosServer("stall_after_tokens=0") as server, anthropic_client(server) as client:
        result = await l0.run(
            anthropic_messages(client),
            retry=FAST,
            timeout=l0.Timeout(initial_token=5.0, inter_token=0.1),
        )
    assert result.text == DEFAULT_ANSWER
    assert result.errors[0].code is l0.ErrorCode.INTER_TOKEN_TIMEOUT  # type: ignore[attr-defined]


async def test_401_falls_back_across_providers() -> None:
    async with (
        ChaosServer("status=401") as anthropic_server,
        ChaosServer() as openai_server,
        anthropic_client(anthropic_server) as aclient,
        openai_client(openai_server) as oclient,
    ):
        result = await l0.run(
            anthropic_messages(aclient), fallbacks=[openai_chat(oclient)], clock=FakeClock()
        )
    assert result.text == DEFAULT_ANSWER
    assert result.fallback_index == 1
    assert error_names(result) == ["AuthenticationError"]


async def test_stream_manager_source() -> None:
    async with ChaosServer("drop_after_tokens=5") as server, anthropic_client(server) as client:
        result = await l0.run(
            lambda attempt: client.messages.stream(
                model="m", max_tokens=99, messages=attempt.continuation_messages(USER)
            ),
            continuation=True,
            clock=FakeClock(),
        )
    assert result.text == DEFAULT_ANSWER


def test_sync_client_through_run_sync() -> None:
    with (
        ChaosServer("inband_error=2; drop_after_tokens=6") as server,
        anthropic_client(server, sync=True) as client,
    ):
        result = l0.run_sync(anthropic_messages(client), continuation=True, clock=FakeClock())
    assert result.text == DEFAULT_ANSWER
    assert [r.outcome for r in server.requests] == ["inband_error", "dropped", "complete"]
