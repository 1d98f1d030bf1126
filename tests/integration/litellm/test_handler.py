"""``L0Handler`` as a LiteLLM callback: events for success and failure; proxy-stream guard."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import anyio
import litellm
import pytest
from litellm.exceptions import MidStreamFallbackError

from l0.chaos import DEFAULT_ANSWER, ChaosServer
from l0.errors import L0Error, NetworkError
from l0.guardrails.patterns import CustomPatternRule
from l0.integrations.litellm import L0Handler, l0_handler, stream
from l0.testing import FakeClock
from l0.types import ObservabilityEvent, Retry

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
            result = await drain(stream(**openai_kwargs(server), clock=FakeClock()))
            await settle(events, 6)
    finally:
        l0_handler.on_event = None
    assert result.text == DEFAULT_ANSWER
    outcomes = [e.name for e in events if e.name != "STREAM_INIT"]
    assert outcomes == ["ERROR", "ERROR", "COMPLETE"]
    assert events[-1].data["finish_reason"] == "stop"
    assert all(isinstance(e.data["error"], L0Error) for e in events if e.name == "ERROR")


async def hook_text(handler: L0Handler, kwargs: dict[str, Any]) -> tuple[str, list[Any]]:
    """Call the proxy's per-chunk hook as the proxy does (outside it: re-issued via litellm)."""
    response = await litellm.acompletion(**kwargs, stream=True)
    hook = handler.async_post_call_streaming_iterator_hook(
        user_api_key_dict=None, response=response, request_data={**kwargs, "stream": True}
    )
    chunks = [chunk async for chunk in hook]
    return "".join((c.choices[0].delta.content or "") for c in chunks if c.choices), chunks


async def test_proxy_hook_passes_a_healthy_stream_through() -> None:
    async with ChaosServer() as server:
        text, chunks = await hook_text(L0Handler(), {**openai_kwargs(server), "max_retries": 0})
    assert text == DEFAULT_ANSWER
    assert [r.outcome for r in server.requests] == ["complete"]
    assert len({c.id for c in chunks}) == 1


async def test_proxy_hook_continues_a_drop_and_rejects_nothing_twice() -> None:
    handler = L0Handler(
        retry=Retry(backoff="fixed", base_delay=0.0),
        guardrails=[CustomPatternRule(["never written"])],
    )
    async with ChaosServer("drop_after_tokens=7", restate=5) as server:
        text, chunks = await hook_text(handler, {**openai_kwargs(server), "max_retries": 0})
    assert text == DEFAULT_ANSWER
    assert [r.outcome for r in server.requests] == ["dropped", "complete"]
    assert server.requests[1].continuation.matched
    assert len({(c.id, c.created) for c in chunks}) == 1
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


async def test_proxy_hook_raises_the_l0_error_when_every_attempt_fails() -> None:
    handler = L0Handler(retry=Retry(attempts=0, max_retries=0))
    async with ChaosServer("drop_after_tokens=3; drop_after_tokens=3") as server:
        with pytest.raises(L0Error):
            await hook_text(handler, {**openai_kwargs(server), "max_retries": 0})


async def test_proxy_hook_leaves_other_routes_untouched() -> None:
    """``/v1/messages`` streams reach the hook as raw SSE bytes: not l0's to decode."""
    frames = [b"event: message_start\ndata: {}\n\n", b"event: message_stop\ndata: {}\n\n"]

    async def raw() -> Any:
        for frame in frames:
            yield frame

    hook = L0Handler().async_post_call_streaming_iterator_hook(
        user_api_key_dict=None, response=raw(), request_data={"model": "claude"}
    )
    assert [chunk async for chunk in hook] == frames


def test_handler_rejects_bad_options() -> None:
    with pytest.raises(TypeError, match="on_event"):
        L0Handler(on_event=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="l0.Timeout"):
        L0Handler(timeout=5)
    with pytest.raises(TypeError, match="l0.Retry"):
        L0Handler(retry=3)
    with pytest.raises(TypeError, match="unknown option 'retries'; did you mean 'retry'"):
        L0Handler(retries=Retry())
    with pytest.raises(TypeError, match="did you mean 'fallbacks'"):
        L0Handler(fallback=["backup"])
    with pytest.raises(TypeError, match="fallbacks must be a list"):
        L0Handler(fallbacks="backup")


def test_import_guard_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m.startswith("l0.integrations.litellm")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "litellm", None)
    with pytest.raises(ImportError, match=r"pip install 'l0\[litellm\]'"):
        importlib.import_module("l0.integrations.litellm")
