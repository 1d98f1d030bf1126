"""l0 over the real openai SDK against the chaos server: every fault ends in the exact answer.

The SDK retries nothing (``max_retries=0``): l0 does.
"""

from __future__ import annotations

import openai  # noqa: F401  # imported at collection, not inside the first test (~1 s)
import pytest

import l0
from l0.chaos import DEFAULT_ANSWER, ChaosServer
from l0.testing import FakeClock
from l0.testing.chaos import openai_client

from .conftest import needs_adapter
from .helpers import USER, openai_chat

pytestmark = [pytest.mark.anyio, needs_adapter("openai")]

FAST = l0.Retry(backoff="fixed", base_delay=0.01, max_retries=10, attempts=5)
"""Real (tiny) backoff, for the tests whose stall timeouts need the real clock."""


def error_names(result: l0.Result) -> list[str]:
    return [type(e).__name__ for e in result.errors]


@pytest.mark.parametrize(
    "plan",
    [
        "drop_after_tokens=7",
        "drop_after_tokens=7,close=fin",
        "drop_after_bytes=900",
        "drop_after_tokens=1; drop_after_tokens=20; drop_after_tokens=3",
    ],
)
@pytest.mark.parametrize("restate", [0, 9])
async def test_drop_mid_stream_is_continued_byte_exact(plan: str, restate: int) -> None:
    async with ChaosServer(plan, restate=restate) as server, openai_client(server) as client:
        result = await l0.run(openai_chat(client), continuation=True, clock=FakeClock())
    assert result.text == DEFAULT_ANSWER
    assert result.finish_reason == "stop"
    assert all(type(e).__name__ == "NetworkError" for e in result.errors)
    resumed = server.requests[1:]
    assert resumed and all(r.continuation.matched for r in resumed)
    # each retry asked to continue what had been delivered so far, minus a short held-back tail
    delivered = "".join(r.text for r in server.requests[:1])
    prefix = resumed[0].continuation.prefix
    assert prefix and delivered.startswith(prefix) and len(delivered) - len(prefix) <= 8


async def test_without_continuation_a_drop_restarts_and_resets_the_consumer() -> None:
    async with (
        ChaosServer("drop_after_tokens=4") as server,
        openai_client(server) as client,
        l0.stream(openai_chat(client), clock=FakeClock()) as s,
    ):
        events = [e async for e in s]
    resets = [e for e in events if e.type is l0.EventType.RESET]
    assert len(resets) == 1
    assert resets[0].data == {"discard": len(server.requests[0].text)}
    assert s.result.text == DEFAULT_ANSWER
    assert server.requests[1].continuation.prefix is None


async def test_stall_trips_the_inter_token_timeout_and_is_retried() -> None:
    async with ChaosServer("stall_after_tokens=5") as server, openai_client(server) as client:
        result = await l0.run(
            openai_chat(client),
            continuation=True,
            retry=FAST,
            timeout=l0.Timeout(initial_token=1.0, inter_token=0.1),
        )
    assert result.text == DEFAULT_ANSWER
    assert error_names(result) == ["StreamTimeoutError"]
    assert result.errors[0].code is l0.ErrorCode.INTER_TOKEN_TIMEOUT  # type: ignore[attr-defined]
    assert server.requests[0].outcome == "stalled"


async def test_no_first_byte_trips_the_initial_token_timeout() -> None:
    async with ChaosServer("stall_after_bytes=0") as server, openai_client(server) as client:
        result = await l0.run(
            openai_chat(client), retry=FAST, timeout=l0.Timeout(initial_token=0.1)
        )
    assert result.text == DEFAULT_ANSWER
    assert result.errors[0].code is l0.ErrorCode.INITIAL_TOKEN_TIMEOUT  # type: ignore[attr-defined]


async def test_keepalive_comments_do_not_keep_a_think_alive() -> None:
    """SSE comments are dropped inside the openai SDK, so l0 never sees them: a long think
    with keepalives still trips ``initial_token``. Size that timeout for the think time."""
    plan = "stall_after_bytes=0,keepalive=0.02,stall_for=1.0"
    async with ChaosServer(plan) as server, openai_client(server) as client:
        result = await l0.run(
            openai_chat(client), retry=FAST, timeout=l0.Timeout(initial_token=0.3)
        )
    assert result.text == DEFAULT_ANSWER
    assert error_names(result) == ["StreamTimeoutError"]


async def test_429_retry_after_is_obeyed() -> None:
    clock = FakeClock()
    async with ChaosServer("status=429,retry_after=2") as server, openai_client(server) as client:
        result = await l0.run(openai_chat(client), clock=clock)
    assert result.text == DEFAULT_ANSWER
    assert clock.sleeps and clock.sleeps[0] >= 2
    assert error_names(result) == ["RateLimitError"]
    assert result.errors[0].retry_after == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize("status", [500, 503, 529])
async def test_server_errors_are_retried(status: int) -> None:
    async with ChaosServer(f"status={status}") as server, openai_client(server) as client:
        result = await l0.run(openai_chat(client), clock=FakeClock())
    assert result.text == DEFAULT_ANSWER
    assert error_names(result) == ["ServerError"]
    # transient: retried without spending the model-error budget
    assert (result.telemetry.network_retries, result.telemetry.model_retries) == (1, 0)


async def test_401_falls_back_to_a_second_server() -> None:
    async with (
        ChaosServer("status=401") as primary,
        ChaosServer(answer="The fallback answer.") as backup,
        openai_client(primary) as client,
        openai_client(backup) as backup_client,
    ):
        result = await l0.run(
            openai_chat(client), fallbacks=[openai_chat(backup_client)], clock=FakeClock()
        )
    assert result.text == "The fallback answer."
    assert result.fallback_index == 1
    assert len(primary.requests) == 1  # auth errors are never retried on the same source
    assert error_names(result) == ["AuthenticationError"]


async def test_400_is_fatal() -> None:
    async with ChaosServer("status=400") as server, openai_client(server) as client:
        with pytest.raises(l0.L0Error) as info:
            await l0.run(openai_chat(client), clock=FakeClock())
    assert len(server.requests) == 1
    assert l0.categorize_error(info.value) is l0.ErrorCategory.FATAL


@pytest.mark.parametrize(
    ("plan", "error"),
    [
        ("malformed_after_tokens=6", "NetworkError"),
        ("truncate_after_tokens=6", "TruncatedStreamError"),
        ("inband_error=6", "ServerError"),
        ("empty", "ZeroOutputError"),
    ],
)
async def test_corrupt_cut_failed_and_empty_streams_are_retried(plan: str, error: str) -> None:
    async with ChaosServer(plan) as server, openai_client(server) as client:
        result = await l0.run(openai_chat(client), continuation=True, clock=FakeClock())
    assert result.text == DEFAULT_ANSWER
    assert error_names(result) == [error]
    assert len(server.requests) == 2


async def test_a_storm_of_faults_still_gives_the_exact_answer() -> None:
    plan = (
        "status=429,retry_after=1; drop_after_tokens=3; status=529; malformed_after_tokens=4;"
        "inband_error=2; drop_after_bytes=700,close=fin; truncate_after_tokens=5; status=503;"
        "drop_after_tokens=6"
    )
    clock = FakeClock()
    async with ChaosServer(plan, restate=5) as server, openai_client(server) as client:
        result = await l0.run(
            openai_chat(client, stream_options={"include_usage": True}),
            continuation=True,
            retry=l0.Retry(max_retries=20, attempts=10),
            clock=clock,
        )
    assert result.text == DEFAULT_ANSWER
    assert len(result.errors) == 9
    assert len(server.requests) == 10
    assert result.usage is not None and result.usage.output_tokens == len(
        server.requests[-1].tokens
    )


async def test_responses_api_drop_is_continued() -> None:
    async with (
        ChaosServer("drop_after_tokens=8", restate=4) as server,
        openai_client(server) as client,
    ):
        result = await l0.run(
            lambda attempt: client.responses.create(
                model="m", input=attempt.continuation_messages(USER), stream=True
            ),
            continuation=True,
            clock=FakeClock(),
        )
    assert result.text == DEFAULT_ANSWER
    assert server.requests[1].continuation.matched


def test_sync_client_through_run_sync() -> None:
    with (
        ChaosServer("drop_after_tokens=5; status=503") as server,
        openai_client(server, sync=True) as client,
    ):
        result = l0.run_sync(openai_chat(client), continuation=True, clock=FakeClock())
    assert result.text == DEFAULT_ANSWER
    assert [r.outcome for r in server.requests] == ["dropped", "status", "complete"]
