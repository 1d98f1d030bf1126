"""``L0Router``: a LiteLLM Router's deployments as l0 primary and fallbacks."""

from __future__ import annotations

from typing import Any

import anyio
import litellm
import pytest

import l0
from l0.chaos import DEFAULT_ANSWER, ChaosServer
from l0.integrations.litellm import L0Handler, L0Router, router_stream
from l0.testing import FakeClock

from .conftest import USER, drain

pytestmark = pytest.mark.anyio


def make_router(server: ChaosServer, **options: Any) -> litellm.Router:
    """Group "chat": deployments a, b; group "backup": deployment c (all on the server)."""

    def deployment(group: str, name: str) -> dict[str, Any]:
        return {
            "model_name": group,
            "litellm_params": {
                "model": f"openai/{name}",
                "api_base": server.openai_base_url,
                "api_key": "test",
            },
            "model_info": {"id": f"dep-{name}"},
        }

    model_list = [deployment("chat", "a"), deployment("chat", "b"), deployment("backup", "c")]
    return litellm.Router(model_list=model_list, **options)


async def test_router_loses_the_stream_where_l0_router_continues_it() -> None:
    plan = "drop_after_tokens=4; ok; drop_after_tokens=4; ok"
    async with ChaosServer(plan, restate=3) as server:
        router = make_router(server, num_retries=2, routing_strategy="simple-shuffle")

        # LiteLLM's own router: the drop after content is final, no retry, no other deployment.
        received = ""
        with pytest.raises(litellm.APIConnectionError):
            response = await router.acompletion(model="chat", messages=USER, stream=True)
            async for chunk in response:
                received += (chunk.choices[0].delta.content or "") if chunk.choices else ""
        assert 0 < len(received) < len(DEFAULT_ANSWER)
        plain = [(r.body["model"], r.outcome) for r in server.requests]
        assert [outcome for _, outcome in plain] == ["dropped"]
        server.set_plan("drop_after_tokens=4; ok")

        # The same router through l0: continued on the group's next deployment.
        result = await drain(
            L0Router(router, clock=FakeClock()).stream(
                model="chat", messages=USER, retry=_no_retry()
            )
        )
    assert result.text == DEFAULT_ANSWER
    calls = [(r.body["model"], r.outcome) for r in server.requests[1:]]
    assert calls == [("a", "dropped"), ("b", "complete")]
    assert server.requests[2].continuation.matched


async def test_router_stream_falls_back_to_another_group() -> None:
    async with ChaosServer("status=503; status=503") as server:
        result = await drain(
            router_stream(
                make_router(server),
                model="chat",
                messages=USER,
                fallbacks=["backup"],
                retry=_no_retry(),
                clock=FakeClock(),
            )
        )
    assert result.text == DEFAULT_ANSWER
    assert [r.body["model"] for r in server.requests] == ["a", "b", "c"]


def test_router_bad_input() -> None:
    router = litellm.Router(
        model_list=[
            {
                "model_name": "chat",
                "litellm_params": {"model": "openai/a", "api_key": "test"},
            }
        ]
    )
    with pytest.raises(ValueError, match="'nope' names no deployment"):
        L0Router(router).stream(model="nope", messages=USER)
    with pytest.raises(TypeError, match="unknown option 'retries'; did you mean 'retry'"):
        L0Router(router, retries=3)
    with pytest.raises(TypeError, match="litellm.Router"):
        L0Router(object())
    with pytest.raises(TypeError, match="group names"):
        L0Router(router).stream(model="chat", messages=USER, fallbacks="backup")


def _no_retry() -> l0.Retry:
    """Each deployment gets one attempt: failures move on to the next one."""
    return l0.Retry(attempts=0, max_retries=0)


async def test_handler_breaker_keeps_the_router_off_an_open_deployment() -> None:
    breaker = l0.CircuitBreaker(failure_threshold=1, recovery_time=60.0)
    litellm.callbacks = [L0Handler(breaker=breaker)]
    async with ChaosServer("status=503") as server:
        # No LiteLLM cooldown: what keeps the router away is l0's open circuit.
        router = make_router(server, num_retries=0, disable_cooldowns=True)
        with pytest.raises(litellm.ServiceUnavailableError):
            await router.acompletion(model="chat", messages=USER)
        bad = server.requests[0].body["model"]
        await settle(lambda: breaker_open(breaker, f"dep-{bad}"))
        for _ in range(4):
            await router.acompletion(model="chat", messages=USER)
    assert [r.body["model"] for r in server.requests[1:]] == [_other(bad)] * 4


async def breaker_open(breaker: l0.CircuitBreaker, key: str) -> bool:
    return await breaker.state(key) is l0.breaker.CircuitState.OPEN


async def settle(check: Any) -> None:
    """LiteLLM reports failures from a background task: wait (≤ 0.25 s) for the breaker."""
    for _ in range(50):
        if await check():
            return
        await anyio.sleep(0.005)
    raise AssertionError("the breaker never opened")


def _other(name: str) -> str:
    return {"a": "b", "b": "a"}[name]
