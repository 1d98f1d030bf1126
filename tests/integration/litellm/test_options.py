"""l0's run options on every LiteLLM surface: taken by l0, never sent to the provider.

Each surface runs a cut answer (retried, continued) with ``record=``; the recording replays
identically and no request body the chaos server saw holds an l0 option.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

import l0
from l0.chaos import DEFAULT_ANSWER, ChaosServer
from l0.errors import NetworkError
from l0.integrations import litellm as l0_litellm
from l0.integrations.litellm import L0_OPTIONS, L0Handler, L0Router
from l0.runtime.options import OPTION_NAMES
from l0.testing import FakeClock
from l0.types import EventType, Retry

from .conftest import USER, drain, openai_kwargs
from .test_router import make_router

pytestmark = pytest.mark.anyio

PLAN = "drop_after_tokens=5"


async def replays_identically(store: Any, server: ChaosServer) -> str:
    """The one recording in ``store`` replays byte for byte; no body carried ``record``."""
    (key,) = store.keys()
    replayed = await l0.replay(store, key)
    assert replayed.identical
    assert [r.outcome for r in server.requests] == ["dropped", "complete"]
    for request in server.requests:
        assert not set(request.body) & (L0_OPTIONS | {"record"}), request.body
    return str(replayed.text)


def test_every_run_option_but_fallbacks_and_adapter_is_l0s() -> None:
    assert {"record", "release", "retry_budget", "keys", "hedge"} <= L0_OPTIONS
    not_taken = OPTION_NAMES - L0_OPTIONS  # the integration fills these in itself
    assert not_taken == {"fallbacks", "adapter"}


async def test_acompletion_chunks_record_the_run() -> None:
    store = l0.MemoryStore()
    async with ChaosServer(PLAN, restate=4) as server:
        response = await l0_litellm.acompletion(
            **openai_kwargs(server), stream=True, record=store, clock=FakeClock()
        )
        text = "".join([c.choices[0].delta.content or "" async for c in response if c.choices])
        assert text == DEFAULT_ANSWER
        assert await replays_identically(store, server) == DEFAULT_ANSWER


async def test_stream_records_to_a_path(tmp_path: Path) -> None:
    async with ChaosServer(PLAN, restate=4) as server:
        result = await drain(
            l0_litellm.stream(**openai_kwargs(server), record=str(tmp_path), clock=FakeClock())
        )
        assert result.text == DEFAULT_ANSWER
        assert await replays_identically(l0.FileStore(tmp_path), server) == DEFAULT_ANSWER


async def test_fast_lane_takes_record() -> None:
    store = l0.MemoryStore()
    async with ChaosServer(PLAN, restate=4) as server:
        result = await drain(
            l0_litellm.stream(
                **openai_kwargs(server), fast_lane=True, record=store, clock=FakeClock()
            )
        )
        assert [type(e) for e in result.errors] == [NetworkError]
        assert await replays_identically(store, server) == DEFAULT_ANSWER


async def test_router_takes_record_per_call_and_as_default() -> None:
    store = l0.MemoryStore()
    async with ChaosServer(PLAN, restate=4) as server:
        router = L0Router(make_router(server), clock=FakeClock(), record=store)
        result = await drain(router.stream(model="chat", messages=USER))
        assert result.text == DEFAULT_ANSWER
        assert await replays_identically(store, server) == DEFAULT_ANSWER


def test_sync_surfaces_record_the_run() -> None:
    for surface in ("completion", "stream_sync"):
        store = l0.MemoryStore()
        with ChaosServer(PLAN, restate=4) as server:
            kwargs = {**openai_kwargs(server), "record": store, "clock": FakeClock()}
            if surface == "completion":
                response = l0_litellm.completion(**kwargs)  # a ModelResponse
                text = response.choices[0].message.content
            else:
                events = list(l0_litellm.stream_sync(**kwargs))
                text = "".join(e.text for e in events if e.type is EventType.TOKEN)
            assert text == DEFAULT_ANSWER, surface
            assert anyio.run(replays_identically, store, server) == DEFAULT_ANSWER


async def test_proxy_handler_records_each_stream() -> None:
    import litellm

    store = l0.MemoryStore()
    handler = L0Handler(retry=Retry(backoff="fixed", base_delay=0.0), record=store)
    async with ChaosServer(PLAN, restate=4) as server:
        kwargs = {**openai_kwargs(server), "max_retries": 0, "stream": True}
        hook = handler.async_post_call_streaming_iterator_hook(
            user_api_key_dict=None,
            response=await litellm.acompletion(**kwargs),
            request_data=kwargs,
        )
        text = "".join([c.choices[0].delta.content or "" async for c in hook if c.choices])
        assert text == DEFAULT_ANSWER
        assert await replays_identically(store, server) == DEFAULT_ANSWER


async def test_the_chunk_forms_refuse_hedge() -> None:
    with pytest.raises(TypeError, match=r"hedge the l0 event form"):
        await l0_litellm.acompletion(
            model="openai/m", messages=USER, stream=True, hedge=l0.Hedge(delay=1.0)
        )


async def test_retry_budget_is_keyed_by_model_name() -> None:
    budget = l0.RetryBudget(max_tokens=1.0)  # one retry, then failures go to the fallback
    async with ChaosServer(f"{PLAN}; ok; {PLAN}; ok", restate=4) as server:
        kwargs = {**openai_kwargs(server, "openai/primary"), "fallbacks": ["openai/backup"]}
        for _ in range(2):
            result = await drain(
                l0_litellm.stream(**kwargs, retry_budget=budget, clock=FakeClock())
            )
            assert result.text == DEFAULT_ANSWER
    calls = [(r.body["model"], r.outcome) for r in server.requests]
    assert calls == [
        ("primary", "dropped"),
        ("primary", "complete"),  # the budget's one retry
        ("primary", "dropped"),
        ("backup", "complete"),  # refused a retry: on to the fallback at once
    ]
    assert await budget.tokens("openai/primary") < 1.0 == await budget.tokens("openai/backup")
    assert not any("retry_budget" in r.body for r in server.requests)


async def test_stream_takes_hedge() -> None:
    async with ChaosServer("stall_after_tokens=0; ok") as server:
        result = await drain(
            l0_litellm.stream(
                **openai_kwargs(server, "openai/primary"),
                fallbacks=["openai/backup"],
                hedge=l0.Hedge(delay=0.1, target="fallback"),
                timeout=l0.Timeout(initial_token=20.0),
            )
        )
    assert result.text == DEFAULT_ANSWER and result.fallback_index == 1
    assert [r.body["model"] for r in server.requests] == ["primary", "backup"]
