"""``l0.integrations.litellm.acompletion`` / ``completion`` against the chaos server."""

from __future__ import annotations

import pytest

import l0
from l0.chaos import DEFAULT_ANSWER, ChaosServer
from l0.errors import AuthenticationError, NetworkError, RateLimitError
from l0.integrations import litellm as l0_litellm
from l0.testing import FakeClock
from l0.types import EventType

from .conftest import USER, drain, openai_kwargs

pytestmark = pytest.mark.anyio


async def test_mid_stream_drop_is_continued_byte_exact() -> None:
    async with (
        ChaosServer("drop_after_tokens=5", restate=4) as server,
        l0_litellm.stream(**openai_kwargs(server), clock=FakeClock()) as s,
    ):
        text = "".join([ev.text async for ev in s if ev.type is EventType.TOKEN])
    assert text == DEFAULT_ANSWER == s.result.text
    assert [r.outcome for r in server.requests] == ["dropped", "complete"]
    resumed = server.requests[1]
    assert resumed.continuation is not None and resumed.continuation.matched
    assert resumed.body["messages"][-1]["role"] == "assistant"
    assert [type(e) for e in s.result.errors] == [NetworkError]


async def test_429_storm_obeys_retry_after() -> None:
    plan = "status=429,retry_after=2; status=429,retry_after=3; status=429,retry_after=2"
    clock = FakeClock()
    async with ChaosServer(plan) as server:
        result = await drain(l0_litellm.stream(**openai_kwargs(server), clock=clock))
    assert result.text == DEFAULT_ANSWER
    assert [type(e) for e in result.errors] == [RateLimitError] * 3
    waits = [d for d in clock.sleeps if d > 0]
    assert len(waits) == 3
    assert waits[0] >= 2 and waits[1] >= 3 and waits[2] >= 2
    assert len(server.requests) == 4


async def test_401_on_primary_falls_back_to_another_model() -> None:
    async with ChaosServer("status=401") as server:
        result = await drain(
            l0_litellm.stream(
                **openai_kwargs(server, "openai/primary"),
                fallbacks=["openai/backup"],
                clock=FakeClock(),
            )
        )
    assert result.text == DEFAULT_ANSWER
    assert [r.body["model"] for r in server.requests] == ["primary", "backup"]
    assert [type(e) for e in result.errors] == [AuthenticationError]


async def test_fallback_dict_overrides_kwargs_and_continues() -> None:
    async with (
        ChaosServer("drop_after_tokens=4") as primary,
        ChaosServer() as backup,
    ):
        result = await drain(
            l0_litellm.stream(
                **openai_kwargs(primary),
                fallbacks=[{"model": "openai/other", "api_base": backup.openai_base_url}],
                retry=l0.Retry(attempts=0, max_retries=0),
                clock=FakeClock(),
            )
        )
    assert result.text == DEFAULT_ANSWER
    assert backup.requests[0].body["model"] == "other"
    assert backup.requests[0].continuation.matched  # continued from the primary's checkpoint


def test_sync_completion_continues_a_drop() -> None:
    with ChaosServer("drop_after_tokens=3", restate=3) as server:
        events = list(l0_litellm.stream_sync(**openai_kwargs(server), clock=FakeClock()))
    assert events[-1].type is EventType.COMPLETE
    assert events[-1].data.text == DEFAULT_ANSWER
    tokens = "".join(ev.text for ev in events if ev.type is EventType.TOKEN)
    assert tokens == DEFAULT_ANSWER
    assert [r.outcome for r in server.requests] == ["dropped", "complete"]


def test_bad_options_fail_before_any_call() -> None:
    base = {"model": "openai/x", "messages": USER}
    with pytest.raises(TypeError, match="timeout must be an l0.Timeout"):
        l0_litellm.stream(**base, timeout=5)
    with pytest.raises(TypeError, match="fallbacks"):
        l0_litellm.stream(**base, fallbacks="openai/y")
    with pytest.raises(TypeError, match="fallbacks entries"):
        l0_litellm.stream(**base, fallbacks=[3])
    with pytest.raises(TypeError, match="messages"):
        l0_litellm.stream(model="openai/x", messages="hi")


async def test_request_timeout_goes_to_litellm() -> None:
    async with ChaosServer() as server:
        result = await drain(
            l0_litellm.stream(**openai_kwargs(server), request_timeout=5.0, timeout=l0.Timeout())
        )
    assert result.text == DEFAULT_ANSWER
