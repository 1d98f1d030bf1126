"""OperationPool (bounded concurrency, submit/await, drain, shutdown with cancellation,
telemetry, progress) and sequential, over scripted sources."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import l0
from l0.orchestration.pool import OperationPool, PoolProgress, sequential


class Gate:
    """Sources that record how many run at once and can be held open."""

    def __init__(self) -> None:
        self.running = 0
        self.peak = 0
        self.started: list[str] = []
        self.release = anyio.Event()
        self.closed: list[str] = []

    def source(self, text: str, *, hold: bool = False) -> Any:
        async def gen() -> AsyncIterator[str]:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.started.append(text)
            try:
                yield text[:1]
                if hold:
                    await self.release.wait()
                else:
                    await anyio.lowlevel.checkpoint()
                yield text[1:]
            finally:
                self.running -= 1
                self.closed.append(text)

        return gen


@pytest.mark.anyio
async def test_the_pool_bounds_concurrency_and_returns_each_result() -> None:
    gate = Gate()
    seen: list[PoolProgress] = []
    async with OperationPool(concurrency=2, on_progress=seen.append) as pool:
        tasks = [pool.submit(gate.source(f"r{i}")) for i in range(6)]
        await pool.drain()
        texts = [(await t.wait()).text for t in tasks]
    assert texts == [f"r{i}" for i in range(6)]
    assert gate.peak == 2
    assert pool.telemetry.succeeded == 6
    assert pool.telemetry.tokens == 12
    assert sorted(pool.telemetry.results) == list(range(6))
    assert [p.done for p in seen] == [1, 2, 3, 4, 5, 6]
    assert {p.index for p in seen} == set(range(6))


@pytest.mark.anyio
async def test_failures_are_kept_per_run_and_raised_by_wait() -> None:
    def bad() -> list[str]:
        raise l0.BadRequestError("no")

    async with OperationPool(concurrency=3, retry=l0.Retry(attempts=0)) as pool:
        ok = pool.submit(["fine"])
        fail = pool.submit(bad)
    assert (await ok.wait()).text == "fine"
    with pytest.raises(l0.L0Error):
        await fail.wait()
    assert pool.telemetry.failed == 1
    assert 1 in pool.telemetry.failures
    assert pool.telemetry.succeeded == 1


@pytest.mark.anyio
async def test_shutdown_cancels_running_and_queued_runs_and_closes_streams() -> None:
    gate = Gate()
    async with OperationPool(concurrency=1) as pool:
        first = pool.submit(gate.source("held", hold=True))
        second = pool.submit(gate.source("queued"))
        while not gate.started:
            await anyio.lowlevel.checkpoint()
        assert pool.active == 1
        await pool.shutdown()
    assert gate.closed == ["held"]  # the running stream was closed
    assert gate.started == ["held"]  # the queued source was never called
    for task in (first, second):
        with pytest.raises(l0.L0Error, match="cancelled by shutdown"):
            await task.wait()
    assert pool.telemetry.cancelled == 2
    with pytest.raises(l0.L0Error, match="not open"):
        pool.submit(["late"])


@pytest.mark.anyio
async def test_shutdown_without_cancel_waits_for_the_runs() -> None:
    async with OperationPool(concurrency=2) as pool:
        tasks = [pool.submit([f"t{i}"]) for i in range(3)]
        await pool.shutdown(cancel=False)
        assert all(t.done for t in tasks)
    assert pool.telemetry.succeeded == 3


@pytest.mark.anyio
async def test_per_run_options_override_and_bad_options_fail_at_submit() -> None:
    async with OperationPool(detect_zero_output=False) as pool:
        empty = pool.submit([""])
        strict = pool.submit([""], detect_zero_output=True, retry=l0.Retry(attempts=0))
        with pytest.raises(TypeError, match="did you mean 'retry'"):
            pool.submit(["x"], retyr=l0.Retry())  # type: ignore[call-arg]
    assert (await empty.wait()).text == ""
    with pytest.raises(l0.ZeroOutputError):
        await strict.wait()


def test_bad_concurrency_is_named() -> None:
    with pytest.raises(ValueError, match="concurrency must be an int >= 1, got 0"):
        OperationPool(concurrency=0)


@pytest.mark.anyio
async def test_an_async_progress_callback_is_awaited() -> None:
    got: list[int] = []

    async def progress(p: PoolProgress) -> None:
        await anyio.lowlevel.checkpoint()
        got.append(p.done)

    async with OperationPool(on_progress=progress) as pool:
        pool.submit(["a"])
        pool.submit(["b"])
    assert sorted(got) == [1, 2]


@pytest.mark.anyio
async def test_sequential_runs_one_at_a_time_in_order() -> None:
    gate = Gate()
    out = await sequential([gate.source("ab"), gate.source("cd"), ["ef"]])
    assert [r.text for r in out if isinstance(r, l0.Result)] == ["ab", "cd", "ef"]
    assert gate.peak == 1

    def bad() -> list[str]:
        raise l0.BadRequestError("no")

    mixed = await sequential([bad, ["ok"]], retry=l0.Retry(attempts=0))
    assert isinstance(mixed[0], l0.L0Error)
    assert isinstance(mixed[1], l0.Result)
    with pytest.raises(l0.L0Error):
        await sequential([bad, ["ok"]], fail_fast=True, retry=l0.Retry(attempts=0))
    with pytest.raises(TypeError, match="must be a list"):
        await sequential("abc")
