"""Leaving early, cancelling the consumer or abort() closes the source and stops retrying."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest

import l0
from l0.testing import ScriptedSource, stall

pytestmark = pytest.mark.anyio


async def test_leaving_async_with_early_closes_the_source_and_starts_nothing() -> None:
    source = ScriptedSource(["a", "b", "c", "d"])
    seen: list[str] = []
    async with l0.stream(source, on_event=lambda e: seen.append(e.name)) as s:
        async for ev in s:
            if ev.text == "b":
                break
    assert source.closed == 1 and source.calls == 1
    assert s.status is l0.Status.ABORTED
    assert seen[-1] == "SESSION_END"


async def test_cancelling_the_consumer_closes_the_source_at_once() -> None:
    source = ScriptedSource(["a", stall(10), "b"])
    with anyio.move_on_after(0.05):
        async with l0.stream(source) as s:
            async for _ in s:
                pass
    assert source.closed == 1 and source.calls == 1
    assert s.status is l0.Status.ABORTED


async def test_abort_during_a_pending_read_cancels_it_and_raises() -> None:
    source = ScriptedSource(["a", stall(10), "b"], ["never"])
    backup = ScriptedSource(["never"])
    async with l0.stream(source, fallbacks=[backup]) as s:
        with anyio.fail_after(1):
            async with anyio.create_task_group() as tg:
                tg.start_soon(_abort_later, s)
                with pytest.raises(l0.AbortedError):
                    async for _ in s:
                        pass
    assert source.calls == 1 and source.closed == 1 and backup.calls == 0
    assert s.status is l0.Status.ABORTED


async def _abort_later(s: l0.Stream) -> None:
    await anyio.sleep(0.03)
    s.abort()


async def test_abort_from_the_consumer_stops_the_next_read() -> None:
    source = ScriptedSource([f"t{i}" for i in range(100)])
    got: list[str] = []
    with pytest.raises(l0.AbortedError):
        async with l0.stream(source) as s:
            async for ev in s:
                got.append(ev.text or "")
                if len(got) == 3:
                    s.abort("user pressed stop")
    assert got == ["t0", "t1", "t2"]
    assert source.closed == 1


def test_run_sync_and_stream_sync_without_a_loop() -> None:
    assert l0.run_sync(lambda: ["a", "b"]).text == "ab"
    events = list(l0.stream_sync(lambda: ["x", "y"]))
    assert [e.text for e in events if e.is_token] == ["x", "y"]
    assert events[-1].type is l0.EventType.COMPLETE


async def test_run_sync_from_inside_a_running_loop_thread() -> None:
    # Notebook style: sync code called on a thread whose loop is running.
    result = l0.run_sync(ScriptedSource(["in", "side"]))
    assert result.text == "inside"
    events = list(
        l0.stream_sync(
            ScriptedSource(["a", l0.testing.drop()], ["ab"]), retry=l0.Retry(base_delay=0)
        )
    )
    assert [e.type.value for e in events] == ["token", "reset", "token", "complete"]
    assert events[-1].data.text == "ab"


def test_stream_sync_leaving_early_closes_the_source() -> None:
    source = ScriptedSource(["a", "b", "c"])
    for ev in l0.stream_sync(source):
        if ev.text == "a":
            break
    # CPython closes the abandoned generator at once, which leaves the stream
    assert source.calls == 1 and source.closed == 1


def test_sync_source_in_a_worker_thread() -> None:
    out: list[str] = []

    def work() -> None:
        out.append(l0.run_sync(lambda: iter(["w", "t"])).text)

    t = threading.Thread(target=work)
    t.start()
    t.join(5)
    assert out == ["wt"]


async def test_stream_result_before_completion_is_an_error() -> None:
    s = l0.stream(lambda: ["x"])
    with pytest.raises(l0.L0Error, match="no result"):
        _ = s.result
    await s.aclose()
    assert s.state.token_count == 0 and s.errors == []
    _: Any = s.stream_id


async def test_abort_before_iteration_starts_no_attempt() -> None:
    source = ScriptedSource(["never"])
    s = l0.stream(source)
    s.abort()
    with pytest.raises(l0.AbortedError):
        async with s:
            async for _ in s:
                pass
    assert source.calls == 0
    assert s.status is l0.Status.ABORTED
