"""``l0.integrations.litellm.stream(..., fast_lane=True)`` against the chaos server: the
request goes over the fast lane and gives what the LiteLLM path gives."""

from __future__ import annotations

from typing import Any

import pytest

from l0.chaos import DEFAULT_ANSWER, ChaosServer
from l0.errors import AuthenticationError, NetworkError
from l0.integrations import litellm as l0_litellm
from l0.testing import FakeClock
from l0.types import EventType, ObservabilityEvent

from .conftest import USER, drain, openai_kwargs

pytestmark = pytest.mark.anyio


def _counts(usage: Any) -> Any:
    return usage and (usage.input_tokens, usage.output_tokens, usage.total_tokens)


async def run(plan: str, fast: bool, **kwargs: Any) -> dict[str, Any]:
    adapters: list[str] = []

    def seen(ev: ObservabilityEvent) -> None:
        if ev.name == "ADAPTER_DETECTED":
            adapters.append(ev.data["adapter"])

    async with ChaosServer(plan, restate=4) as server:
        params = {**openai_kwargs(server), **kwargs}
        async with l0_litellm.stream(
            **params, fast_lane=fast, clock=FakeClock(), on_event=seen
        ) as s:
            tokens = [ev.text async for ev in s if ev.type is EventType.TOKEN]
        result = s.result
    return {
        "text": "".join(tokens),
        # LiteLLM adds usage details of its own (text_tokens); the counts are the provider's
        "result": (result.text, result.finish_reason, _counts(result.usage)),
        "errors": [type(e) for e in result.errors],
        "requests": [(r.body["model"], r.body["messages"], r.outcome) for r in server.requests],
        "adapters": adapters,
    }


async def test_fast_lane_gives_what_the_litellm_path_gives() -> None:
    # a cut answer: retried, continued from the checkpoint, restated overlap removed
    litellm_path = await run("drop_after_tokens=5", False)
    fast = await run("drop_after_tokens=5", True)
    assert fast["adapters"] and set(fast["adapters"]) == {"fastlane"}
    assert "fastlane" not in litellm_path["adapters"]
    for key in ("text", "result", "errors", "requests"):
        assert fast[key] == litellm_path[key], key
    assert fast["text"] == DEFAULT_ANSWER
    assert fast["errors"] == [NetworkError]


async def test_fast_lane_falls_back_to_the_next_model() -> None:
    async with ChaosServer("status=401") as server:
        kwargs = {**openai_kwargs(server, "openai/primary"), "fallbacks": ["openai/backup"]}
        async with l0_litellm.stream(**kwargs, fast_lane=True, clock=FakeClock()) as s:
            async for _ in s:
                pass
    assert s.result.text == DEFAULT_ANSWER
    assert [r.body["model"] for r in server.requests] == ["primary", "backup"]
    assert [type(e) for e in s.result.errors] == [AuthenticationError]


BASE = {"model": "openai/m", "messages": USER, "api_key": "k", "api_base": "http://127.0.0.1:9"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fastlane": True}, "did you mean 'fast_lane'"),
        ({"fast_lane": "yes"}, "fast_lane must be True or False"),
        ({"fast_lane": True, "model": "anthropic/claude-x"}, "routes 'anthropic/claude-x'"),
        ({"fast_lane": True, "metadata": {"a": 1}}, "['metadata'] are not"),
        ({"fast_lane": True, "num_retries": 2}, "['num_retries'] are not"),
    ],
)
def test_fast_lane_misuse_is_refused_before_any_call(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        l0_litellm.stream(**{**BASE, **kwargs})


async def test_the_chunk_forms_refuse_fast_lane() -> None:
    with pytest.raises(TypeError, match=r"use l0.integrations.litellm.stream\(..., fast_lane"):
        await l0_litellm.acompletion(**BASE, stream=True, fast_lane=True)


@pytest.mark.parametrize("provider", ["openai", "hosted_vllm", "litellm_proxy"])
async def test_fast_lane_routes_by_custom_llm_provider(provider: str) -> None:
    async with ChaosServer() as server:
        kwargs = {**openai_kwargs(server, "chaos"), "custom_llm_provider": provider}
        result = await drain(l0_litellm.stream(**kwargs, fast_lane=True, clock=FakeClock()))
    assert result.text == DEFAULT_ANSWER
    (request,) = server.requests
    assert request.body["model"] == "chaos"
    assert "custom_llm_provider" not in request.body


def test_fast_lane_refuses_other_custom_llm_providers_clearly() -> None:
    base = {"messages": USER, "api_key": "k", "api_base": "http://127.0.0.1:9", "fast_lane": True}
    with pytest.raises(TypeError, match=r"routes 'claude-x' \(custom_llm_provider='anthropic'\)"):
        l0_litellm.stream(model="claude-x", custom_llm_provider="anthropic", **base)
    with pytest.raises(TypeError, match="cannot tell which provider serves 'chaos'"):
        l0_litellm.stream(model="chaos", **base)
