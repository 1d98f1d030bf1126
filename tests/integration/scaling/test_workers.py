"""Many workers, one truth: 4 real processes share a circuit breaker and a retry budget in one
real redis-server, against one chaos server whose primary model fails."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import anyio
import pytest
import redis.asyncio as aioredis

from l0 import CircuitBreaker, CircuitState, ServerError
from l0.chaos import ChaosServer
from l0.redis_stores import RedisBreakerStore
from tests.integration.redis_server import RedisServer

from .workers import FALLBACK, PRIMARY, RunRecord, Scenario, WorkerPool

WORKERS = 4
_ns = itertools.count()


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    p = WorkerPool(WORKERS)
    try:
        yield p
    finally:
        p.close()


ANSWER = "Many workers, one truth: every character exactly once."


@pytest.fixture(scope="module")
def chaos_server() -> Iterator[ChaosServer]:
    with ChaosServer(answer=ANSWER) as server:
        yield server


@pytest.fixture
def chaos(chaos_server: ChaosServer) -> ChaosServer:
    """The module's chaos server, its request log emptied (the workers keep their clients)."""
    chaos_server.requests.clear()
    return chaos_server


def scenario(chaos: ChaosServer, redis_url: str, **kw: object) -> Scenario:
    return Scenario(
        chaos_url=chaos.openai_base_url,
        redis_url=redis_url,
        prefix=f"xp{next(_ns)}:",
        start_at=time.monotonic() + 0.2,
        **kw,  # type: ignore[arg-type]
    )


def calls(chaos: ChaosServer, model: str, since: int = 0) -> int:
    return sum(1 for r in chaos.requests[since:] if r.body.get("model") == model)


async def open_circuit(sc: Scenario) -> None:
    assert sc.breaker is not None
    redis = aioredis.Redis.from_url(sc.redis_url)
    store = RedisBreakerStore(redis, prefix=sc.prefix + "breaker:")
    breaker = CircuitBreaker(store=store, **sc.breaker)
    for _ in range(breaker.failure_threshold):
        await breaker.record_failure(PRIMARY, ServerError("503"))
    assert await breaker.state(PRIMARY) is CircuitState.OPEN
    await redis.aclose()


async def _rewind(sc: Scenario, seconds: float) -> None:
    redis = aioredis.Redis.from_url(sc.redis_url)
    try:
        keys = await redis.keys(sc.prefix + "breaker:*")
        assert keys, "no circuit stored"
        for key in keys:
            await redis.hincrbyfloat(key, "since", -seconds)
    finally:
        await redis.aclose()


def rewind(sc: Scenario, seconds: float) -> None:
    """Let ``seconds`` pass for every shared circuit (its state's start moved back)."""
    anyio.run(_rewind, sc, seconds)


def all_answered(records: list[RunRecord]) -> None:
    assert [r.error for r in records] == [None] * len(records)
    assert all(r.text == ANSWER for r in records)


def test_breaker_opens_after_the_threshold_in_total_not_per_worker(
    pool: WorkerPool, chaos: ChaosServer, redis_url: str
) -> None:
    threshold = 3
    sc = scenario(
        chaos,
        redis_url,
        breaker={"failure_threshold": threshold, "recovery_time": 30.0, "window": 60.0},
        runs=6,
        pause=0.02,
    )
    records = pool.run(sc)
    all_answered(records)  # every user request answered (by the fallback)
    assert len(records) == 6 * WORKERS
    primary = calls(chaos, PRIMARY)
    # Per-process breakers would let 3 x 4 = 12 through. Shared: the threshold, plus at most
    # the calls already past the check in the other workers when it opened.
    assert threshold <= primary <= threshold + WORKERS - 1
    assert primary == sum(r.primary_init is not None for r in records)
    # Once open, every worker routes to the fallback without calling the primary.
    for w in range(WORKERS):
        last = [r for r in records if r.worker == w][-1]
        assert last.fallback_index == 1 and last.primary_init is None
        assert last.codes == ["CIRCUIT_OPEN"]
    assert calls(chaos, FALLBACK) == 6 * WORKERS


def test_exactly_one_half_open_trial_at_a_time_across_workers(
    pool: WorkerPool, chaos: ChaosServer, redis_url: str
) -> None:
    # recovery_time also bounds how long a trial may stay unreported: longer than a trial.
    breaker = {"failure_threshold": 2, "recovery_time": 1.0, "window": 60.0}
    base = scenario(chaos, redis_url, breaker=breaker, runs=2)
    anyio.run(open_circuit, base)  # from this (a fifth) process
    # Half-open with the primary still failing (slowly): of 4 x 4 simultaneous runs exactly
    # one is the trial; it fails, the circuit reopens, every other run used the fallback.
    rewind(base, 1.0)  # the recovery time has passed (for every worker: it is shared)
    seen = len(chaos.requests)
    burst = Scenario(
        **{**vars(base), "runs": 4, "concurrent": True, "start_at": time.monotonic() + 0.2},
    )
    burst.primary_fault = "status=503,delay=0.15"
    records = pool.run(burst)
    all_answered(records)
    assert calls(chaos, PRIMARY, seen) == 1
    assert sum(r.primary_init is not None for r in records) == 1
    # Half-open again, the primary healthy now but slow: one trial, nobody overlaps it; once
    # it succeeded the circuit is closed and runs use the primary again.
    rewind(base, 1.0)
    seen = len(chaos.requests)
    burst.primary_fault = "delay=0.15"
    burst.start_at = time.monotonic() + 0.2
    burst.runs = 3
    records = pool.run(burst)
    all_answered(records)
    trials = sorted((r.primary_init, r.primary_end) for r in records if r.primary_init)
    assert trials, "no run called the primary"
    first_end = trials[0][1]
    assert first_end is not None
    # No second trial while the first was in flight.
    assert all(start > first_end for start, _ in trials[1:]), trials
    assert calls(chaos, PRIMARY, seen) == len(trials)
    after = pool.run(Scenario(**{**vars(burst), "concurrent": False, "runs": 1, "start_at": 0.0}))
    assert [r.fallback_index for r in after] == [0] * WORKERS  # closed for every worker


def test_brownout_retries_across_all_workers_stay_within_the_budget(
    pool: WorkerPool, chaos: ChaosServer, redis_url: str
) -> None:
    max_tokens = 10
    sc = scenario(
        chaos,
        redis_url,
        budget={"max_tokens": max_tokens, "token_ratio": 0.1, "fail_open": False},
        retry={"max_retries": 3},
        runs=6,
        concurrent=True,
    )
    records = pool.run(sc)
    all_answered(records)
    users = 6 * WORKERS
    # 100% failure: one try per user request plus at most max_tokens / 2 retries in total
    # (without the budget: 4 tries per request, 96 calls). Exactly that many unless a Redis
    # call timed out under load (then, with fail_open=False, the retry was refused).
    primary = calls(chaos, PRIMARY)
    assert users <= primary <= users + max_tokens // 2
    assert primary == sum(len(r.codes) for r in records)  # each failure seen by its run
    assert calls(chaos, FALLBACK) == users


def test_a_redis_restart_mid_test_loses_no_stream(pool: WorkerPool, chaos: ChaosServer) -> None:
    server = RedisServer()  # this test's own: it is restarted
    server.start()
    try:
        sc = scenario(
            chaos,
            server.url,
            breaker={"failure_threshold": 3, "recovery_time": 0.2, "window": 60.0},
            budget={"max_tokens": 4, "token_ratio": 0.5},
            retry={"max_retries": 2},
            runs=12,
            pause=0.03,
        )
        pool.start(sc)
        time.sleep(0.4)
        before = len(chaos.requests)
        server.restart()  # empty: no circuits, no buckets, no scripts
        records = pool.collect()
        assert len(chaos.requests) > before  # runs went on during and after the restart
        all_answered(records)  # every stream complete and exact, none lost
        assert len(records) == 12 * WORKERS

        async def stored() -> int:
            redis = aioredis.Redis.from_url(server.url)
            try:
                return len(await redis.keys(sc.prefix + "*"))
            finally:
                await redis.aclose()

        assert anyio.run(stored) > 0  # the restarted Redis holds the shared state again
    finally:
        server.stop()
