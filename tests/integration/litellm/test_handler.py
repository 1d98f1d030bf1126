"""``L0Handler`` as a LiteLLM callback: events for success and failure; proxy-stream guard."""

from __future__ import annotations

import importlib
import sys

import anyio
import litellm
import pytest
from litellm.exceptions import MidStreamFallbackError

from l0.chaos import DEFAULT_ANSWER, ChaosServer
from l0.errors import GuardrailViolationError, L0Error, NetworkError
from l0.guardrails.patterns import CustomPatternRule
from l0.integrations.litellm import L0Handler, acompletion, l0_handler
from l0.testing import FakeClock
from l0.types import ObservabilityEvent

from .conftest import drain, openai_kwargs

pytestmark = pytest.mark.anyio


async def read(stream: object) -> str:
    text = ""
    async for chunk in stream:  # type: ignore[attr-defined]
        text += (chunk.choices[0].delta.content or "") if chunk.choices else ""
    return text


async def settle(events: list[ObservabilityEvent], count: int) -> None:
    """LiteLLM logs success and failure from background tasks: wait (≤ 0.2 s) for them."""
    for _ in range(40):
        if len(events) >= count:
            return
        await anyio.sleep(0.005)


async def test_handler_reports_success_and_failure_of_plain_litellm_calls() -> None:
    events: list[ObservabilityEvent] = []

    async def on_event(event: ObservabilityEvent) -> None:  # async handlers are awaited
        events.append(event)

    litellm.callbacks = [L0Handler(on_event)]
    async with ChaosServer("ok; drop_after_tokens=3") as server:
        kwargs = {**openai_kwargs(server), "stream": True, "max_retries": 0}
        assert await read(await litellm.acompletion(**kwargs)) == DEFAULT_ANSWER
        with pytest.raises(MidStreamFallbackError):
            await read(await litellm.acompletion(**kwargs))
        await settle(events, 4)

    names = [(e.name, e.seq) for e in events]
    assert names == [("STREAM_INIT", 0), ("COMPLETE", 1), ("STREAM_INIT", 0), ("ERROR", 1)]
    ok, failed = events[1], events[3]
    assert ok.stream_id == events[0].stream_id != failed.stream_id == events[2].stream_id
    assert ok.data["finish_reason"] == "stop" and ok.data["stream"] is True
    assert ok.data["duration"] is not None and ok.data["duration"] >= 0
    error = failed.data["error"]
    assert isinstance(error, NetworkError)  # LiteLLM's APIConnectionError, mapped
    assert failed.data["category"] == error.category.value
    assert events[0].data["model"] == "chaos"


async def test_module_handler_sees_every_attempt_of_an_l0_run() -> None:
    events: list[ObservabilityEvent] = []
    l0_handler.on_event = events.append
    litellm.callbacks = [l0_handler]
    try:
        async with ChaosServer("status=500; drop_after_tokens=4") as server:
            result = await drain(acompletion(**openai_kwargs(server), clock=FakeClock()))
            await settle(events, 6)
    finally:
        l0_handler.on_event = None
    assert result.text == DEFAULT_ANSWER
    outcomes = [e.name for e in events if e.name != "STREAM_INIT"]
    assert outcomes == ["ERROR", "ERROR", "COMPLETE"]
    assert events[-1].data["finish_reason"] == "stop"
    assert all(isinstance(e.data["error"], L0Error) for e in events if e.name == "ERROR")


async def test_proxy_iterator_hook_passes_chunks_and_guards() -> None:
    """The proxy's per-chunk hook, called as the proxy calls it, on real LiteLLM chunks."""
    async with ChaosServer() as server:
        kwargs = {**openai_kwargs(server), "stream": True, "max_retries": 0}
        passthrough = L0Handler().async_post_call_streaming_iterator_hook(
            user_api_key_dict=None, response=await litellm.acompletion(**kwargs), request_data={}
        )
        assert await read(passthrough) == DEFAULT_ANSWER

        guarded = L0Handler(guardrails=[CustomPatternRule(["sockets reset"])])
        shown = ""
        with pytest.raises(GuardrailViolationError):
            hook = guarded.async_post_call_streaming_iterator_hook(
                user_api_key_dict=None,
                response=await litellm.acompletion(**kwargs),
                request_data={"litellm_call_id": "c1"},
            )
            async for chunk in hook:
                shown += (chunk.choices[0].delta.content or "") if chunk.choices else ""
    # Cut at the check after the match (within check_intervals tokens), not at the end.
    assert DEFAULT_ANSWER.startswith(shown)
    assert len(shown) < DEFAULT_ANSWER.index("sockets reset") + 200 < len(DEFAULT_ANSWER)


def test_handler_rejects_bad_options() -> None:
    with pytest.raises(TypeError, match="on_event"):
        L0Handler(on_event=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="l0.Timeout"):
        L0Handler(timeout=5)  # type: ignore[arg-type]


def test_import_guard_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m.startswith("l0.integrations.litellm")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "litellm", None)
    with pytest.raises(ImportError, match=r"pip install 'l0\[litellm\]'"):
        importlib.import_module("l0.integrations.litellm")
