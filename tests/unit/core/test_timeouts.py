"""Stall and overall deadlines fire on time, with no timer per token."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

import l0
from l0.adapters.base import AdapterStream
from l0.testing import FakeClock, ScriptedSource, stall

pytestmark = pytest.mark.anyio
ONCE = l0.Retry(max_retries=1, backoff="fixed", base_delay=0.0)
SLACK = 0.05  # each deadline fires within 50 ms of its deadline


async def failing_run(source: Any, **opts: Any) -> tuple[l0.StreamTimeoutError, float, list[str]]:
    seen: list[str] = []
    t0 = time.monotonic()
    with pytest.raises(l0.L0Error) as info:
        await l0.run(source, on_timeout=lambda e: seen.append(e.data["kind"]), **opts)
    elapsed = time.monotonic() - t0
    err = info.value
    if isinstance(err, l0.RetriesExhaustedError):
        err = err.last_error  # type: ignore[assignment]
    assert isinstance(err, l0.StreamTimeoutError), err
    return err, elapsed, seen


async def test_initial_token_timeout_fires_on_time() -> None:
    source = ScriptedSource([stall(5), "never"])
    timeout = l0.Timeout(initial_token=0.1, inter_token=None)
    err, elapsed, seen = await failing_run(source, timeout=timeout, retry=l0.Retry(max_retries=0))
    assert err.kind == "initial_token" and err.code is l0.ErrorCode.INITIAL_TOKEN_TIMEOUT
    assert 0.1 <= elapsed < 0.1 + SLACK
    assert seen == ["initial_token"]
    assert source.closed == 1


async def test_inter_token_timeout_fires_on_time_then_retries() -> None:
    source = ScriptedSource(["a", "b", stall(5), "c"], ["abc"])
    t0 = time.monotonic()
    result = await l0.run(source, timeout=l0.Timeout(inter_token=0.1), retry=ONCE)
    elapsed = time.monotonic() - t0
    assert result.text == "abc"
    err = result.errors[0]
    assert isinstance(err, l0.StreamTimeoutError) and err.kind == "inter_token"
    assert 0.1 <= err.elapsed < 0.1 + SLACK
    assert elapsed < 0.1 + SLACK + 0.05
    assert source.calls == 2 and source.closed == 2


async def test_total_deadline_spans_retries_and_fallbacks() -> None:
    primary = ScriptedSource(["a", stall(5)])  # each attempt is cut at inter_token
    backup = ScriptedSource(["b", stall(5)])
    timeout = l0.Timeout(initial_token=None, inter_token=0.05, total=0.15)
    seen: list[str] = []
    t0 = time.monotonic()
    with pytest.raises(l0.StreamTimeoutError) as info:
        await l0.run(
            primary,
            fallbacks=[backup],
            timeout=timeout,
            retry=l0.Retry(max_retries=1, backoff="fixed", base_delay=0.0),
            on_event=lambda e: seen.append(e.name),
        )
    elapsed = time.monotonic() - t0
    assert info.value.kind == "total" and info.value.code is l0.ErrorCode.TOTAL_TIMEOUT
    assert 0.15 <= elapsed < 0.15 + SLACK
    assert backup.calls == 1  # the deadline ran across the fallback
    assert "FALLBACK_START" in seen


async def test_total_deadline_cuts_a_backoff_wait() -> None:
    source = ScriptedSource([l0.testing.drop()])
    t0 = time.monotonic()
    with pytest.raises(l0.StreamTimeoutError) as info:
        await l0.run(
            source,
            timeout=l0.Timeout(total=0.1),
            retry=l0.Retry(backoff="fixed", base_delay=10.0),
        )
    assert info.value.kind == "total"
    assert time.monotonic() - t0 < 0.1 + SLACK


async def test_progress_events_count_as_liveness_not_text() -> None:
    thinking = l0.Event(l0.EventType.PROGRESS, data={"reasoning": "…"})
    script = [thinking, stall(0.06), thinking, stall(0.06), thinking, stall(0.06), "answer"]
    result = await l0.run(
        ScriptedSource(script),
        timeout=l0.Timeout(initial_token=0.1, inter_token=0.1),
        retry=l0.Retry(max_retries=0),
    )
    assert result.text == "answer"  # 0.18 s in all, but never 0.1 s without activity


async def test_consumer_time_is_not_a_provider_stall() -> None:
    out = []
    async with l0.stream(
        ScriptedSource(["a", "b", "c"]),
        timeout=l0.Timeout(inter_token=0.05),
        retry=l0.Retry(max_retries=0),
    ) as s:
        async for ev in s:
            await anyio.sleep(0.12)  # the consumer dawdles; the provider is fine
            out.append(ev.text)
    assert s.result.text == "abc"


async def test_no_timer_is_created_per_token() -> None:
    import asyncio

    loop = asyncio.get_running_loop()
    calls = 0
    real = loop.call_later

    def counting(*args: Any, **kw: Any) -> Any:
        nonlocal calls
        calls += 1
        return real(*args, **kw)

    loop.call_later = counting  # type: ignore[method-assign]
    try:
        tokens = [f"t{i} " for i in range(5000)]
        result = await l0.run(lambda: tokens, timeout=l0.Timeout(inter_token=30, total=60))
    finally:
        loop.call_later = real  # type: ignore[method-assign]
    assert result.state.token_count == 5000
    assert calls <= 4  # session, attempt, first token, end of attempt


async def test_fake_clock_sees_retry_after_without_sleeping() -> None:
    clock = FakeClock()
    source = ScriptedSource([l0.testing.fail(l0.RateLimitError("429", retry_after=2.0))], ["ok"])
    t0 = time.monotonic()
    result = await l0.run(source, clock=clock, retry=l0.Retry(backoff="fixed", base_delay=0.1))
    assert result.text == "ok"
    assert clock.sleeps == [2.0] and clock.slept >= 2.0
    assert time.monotonic() - t0 < 0.5


class _DictChunks(AdapterStream):
    """Provider-style chunks: ``{"text": ...}`` dicts, decoded by the adapter."""

    def decode(self, chunk: Any) -> l0.Event:
        return l0.Event(l0.EventType.TOKEN, chunk["text"])


class _DictAdapter:
    name = "dicts"

    def detect(self, obj: object) -> bool:
        return False

    def open(self, obj: Any, *, keep_raw: bool = False) -> AdapterStream:
        return _DictChunks(obj.__aiter__(), keep_raw=keep_raw)

    def map_error(self, exc: BaseException) -> l0.L0Error | None:
        return None


async def test_stall_is_cut_when_each_item_is_read_in_its_own_task() -> None:
    """`asyncio.wait_for(anext(s), ...)` per item reads each event in a new task (3.11)."""
    import asyncio

    script = [{"text": "a"}, {"text": "b"}, stall(5), {"text": "c"}]
    source = ScriptedSource(script, [{"text": "abc"}])  # type: ignore[list-item]
    async with l0.stream(
        source, adapter=_DictAdapter(), timeout=l0.Timeout(inter_token=0.05), retry=ONCE
    ) as s:
        it = s.__aiter__()
        while True:
            try:
                await asyncio.wait_for(it.__anext__(), timeout=2)
            except StopAsyncIteration:
                break
    assert s.result.text == "abc"
    assert isinstance(s.result.errors[0], l0.StreamTimeoutError)
