"""RedisBreakerStore and RedisBudgetStore against a real redis-server: the Lua scripts give the
pure Python transitions' results exactly, atomically across clients, and a Redis outage never
reaches the caller."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator

import anyio
import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l0 import CircuitBreaker, RetryBudget
from l0.breaker import (
    BreakerOp,
    BreakerPolicy,
    CircuitRecord,
    CircuitState,
    MemoryBreakerStore,
    transition,
)
from l0.budget import BudgetOp, BudgetPolicy, budget_step
from l0.errors import CircuitOpenError, ServerError
from l0.redis_stores import RedisBreakerStore, RedisBudgetStore
from l0.testing import FakeClock
from tests.integration.redis_server import RedisServer, free_port

_prefixes = itertools.count()


def prefix(name: str) -> str:
    """A fresh key namespace per test (the session's redis-server is shared)."""
    return f"t:{name}:{next(_prefixes)}:"


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    c = aioredis.Redis.from_url(redis_url)
    try:
        yield c
    finally:
        await c.aclose()


# -- the scripts are the pure transitions -----------------------------------------------------

ops = st.lists(
    st.tuples(st.sampled_from(list(BreakerOp)), st.floats(0.0, 20.0, allow_nan=False)),
    max_size=30,
)
policies = st.builds(
    BreakerPolicy,
    failure_threshold=st.integers(1, 4),
    recovery_time=st.floats(0.5, 10.0),
    half_open_max_calls=st.integers(1, 3),
    window=st.floats(0.5, 30.0),
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(policy=policies, steps=ops, start=st.floats(1e9, 2e9))
def test_breaker_script_gives_transitions_results_exactly(
    redis_url: str, policy: BreakerPolicy, steps: list[tuple[BreakerOp, float]], start: float
) -> None:
    async def check() -> None:
        c = aioredis.Redis.from_url(redis_url)
        store = RedisBreakerStore(c, prefix=prefix("prop"))
        record: CircuitRecord | None = None
        now = start
        try:
            for op, dt in steps:
                now += dt
                record, wait = transition(policy, record, op, now)
                assert await store.apply("k", op, now, policy) == wait
                stored = await store.get("k") or CircuitRecord()
                assert stored == record
        finally:
            await c.aclose()

    anyio.run(check)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    policy=st.builds(
        BudgetPolicy, max_tokens=st.floats(0.5, 20.0), token_ratio=st.floats(0.01, 2.0)
    ),
    steps=st.lists(st.sampled_from(list(BudgetOp)), max_size=40),
)
def test_budget_script_gives_budget_step_results_exactly(
    redis_url: str, policy: BudgetPolicy, steps: list[BudgetOp]
) -> None:
    async def check() -> None:
        c = aioredis.Redis.from_url(redis_url)
        store = RedisBudgetStore(c, prefix=prefix("bprop"))
        tokens: float | None = None
        try:
            for op in steps:
                tokens, ok = budget_step(policy, tokens, op)
                assert await store.apply("k", op, policy) == (tokens, ok)
        finally:
            await c.aclose()

    anyio.run(check)


# -- atomic across clients --------------------------------------------------------------------


@pytest.mark.anyio
async def test_half_open_trial_is_granted_to_exactly_one_of_many_clients(redis_url: str) -> None:
    ns = prefix("trial")
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(8)]
    clock = FakeClock(start=1_700_000_000.0)
    breakers = [
        CircuitBreaker(
            failure_threshold=2,
            recovery_time=5.0,
            store=RedisBreakerStore(c, prefix=ns),
            clock=clock,
        )
        for c in clients
    ]
    try:
        # Two failures from two different "processes" open it: counted in total.
        await breakers[0].record_failure("m", ServerError("503"))
        assert await breakers[1].state("m") is CircuitState.CLOSED
        await breakers[1].record_failure("m", ServerError("503"))
        assert await breakers[7].state("m") is CircuitState.OPEN
        clock.advance(5.0)
        granted: list[int] = []
        refused: list[float] = []

        async def try_one(i: int) -> None:
            try:
                await breakers[i].acquire("m")
                granted.append(i)
            except CircuitOpenError as exc:
                refused.append(exc.retry_in)

        for _ in range(3):  # three rounds of 8 concurrent callers
            async with anyio.create_task_group() as tg:
                for i in range(8):
                    tg.start_soon(try_one, i)
        assert len(granted) == 1 and len(refused) == 23
        await breakers[granted[0]].record_success("m")
        assert all([await b.state("m") is CircuitState.CLOSED for b in breakers])
    finally:
        for c in clients:
            await c.aclose()


@pytest.mark.anyio
async def test_budget_floor_holds_under_concurrent_spenders(redis_url: str) -> None:
    ns = prefix("floor")
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(6)]
    budgets = [RetryBudget(max_tokens=10, store=RedisBudgetStore(c, prefix=ns)) for c in clients]
    allowed: list[bool] = []

    async def spend(b: RetryBudget) -> None:
        for _ in range(5):
            allowed.append(await b.try_spend("m"))

    try:
        async with anyio.create_task_group() as tg:
            for b in budgets:
                tg.start_soon(spend, b)
        assert allowed.count(True) == 5 and len(allowed) == 30  # 10 -> 5, then refused
        assert await budgets[0].tokens("m") == 5.0
        for _ in range(10):
            await budgets[3].record_success("m")
        assert await budgets[1].tokens("m") == pytest.approx(6.0)
        assert await budgets[2].try_spend("m") and not await budgets[2].try_spend("m")
    finally:
        for c in clients:
            await c.aclose()


# -- keys ---------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_keys_are_namespaced_expire_and_vanish_when_healthy(
    client: aioredis.Redis,
) -> None:
    ns = prefix("keys")
    b = CircuitBreaker(
        failure_threshold=2,
        window=10.0,
        recovery_time=4.0,
        store=RedisBreakerStore(client, prefix=ns),
    )
    await b.acquire("gpt")
    assert await client.keys(ns + "*") == []  # a closed circuit without failures: no key
    await b.record_failure("gpt", ServerError("503"))
    assert await client.keys(ns + "*") == [f"{ns}gpt".encode()]
    assert 0 < await client.pttl(f"{ns}gpt") <= 20_000  # 2 x max(window, recovery_time)
    await b.reset("gpt")
    assert await client.keys(ns + "*") == []
    budget = RetryBudget(store=RedisBudgetStore(client, prefix=ns + "b:", ttl=30.0))
    assert await budget.try_spend("gpt")
    assert 0 < await client.pttl(f"{ns}b:gpt") <= 30_000
    for _ in range(11):  # 9 + 11 x 0.1, capped at 10 (ten would leave 9.999...)
        await budget.record_success("gpt")
    assert await client.exists(f"{ns}b:gpt") == 0  # full again: no key


@pytest.mark.anyio
async def test_bad_store_options_name_the_fix() -> None:
    with pytest.raises(ValueError, match="ttl must be seconds"):
        RedisBudgetStore(aioredis.Redis(), ttl=0)
    with pytest.raises(TypeError, match="apply"):
        RetryBudget(store=MemoryBreakerStore())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_tokens must be finite and > 0"):
        RetryBudget(max_tokens=0)
    with pytest.raises(TypeError, match="fail_open must be True or False"):
        CircuitBreaker(fail_open="no")  # type: ignore[arg-type]


# -- Redis down / restarted ----------------------------------------------------------------------


@pytest.fixture
def dead_client() -> aioredis.Redis:
    """A client of a port nothing listens on."""
    return aioredis.Redis(port=free_port(), retry=None)


@pytest.mark.anyio
async def test_redis_down_fails_open_by_default_and_logs_once(
    dead_client: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    b = CircuitBreaker(failure_threshold=1, store=RedisBreakerStore(dead_client))
    budget = RetryBudget(store=RedisBudgetStore(dead_client))
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            await b.acquire("m")
            await b.record_failure("m", ServerError("503"))
            assert await budget.try_spend("m")
        assert await b.state("m") is CircuitState.CLOSED
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [w for w in warnings if "breaker store failed" in w] == [
        "circuit breaker store failed for 'm'; letting calls through until it answers again "
        "(logged once)"
    ]
    assert len([w for w in warnings if "budget store failed" in w]) == 1


@pytest.mark.anyio
async def test_store_timeout_bounds_a_client_that_keeps_retrying() -> None:
    # redis-py's default client retries a refused connection 10 times with backoff (~5 s).
    slow = aioredis.Redis(port=free_port())
    b = CircuitBreaker(store=RedisBreakerStore(slow), store_timeout=0.1)
    budget = RetryBudget(store=RedisBudgetStore(slow), store_timeout=0.1)
    with anyio.fail_after(2.0):
        await b.acquire("m")
        await b.record_success("m")
        assert await budget.try_spend("m")


@pytest.mark.anyio
async def test_redis_down_fails_closed_when_asked(dead_client: aioredis.Redis) -> None:
    b = CircuitBreaker(store=RedisBreakerStore(dead_client), fail_open=False)
    with pytest.raises(CircuitOpenError):
        await b.acquire("m")
    assert await b.state("m") is CircuitState.OPEN
    budget = RetryBudget(store=RedisBudgetStore(dead_client), fail_open=False)
    assert not await budget.try_spend("m")


@pytest.mark.anyio
async def test_a_restarted_redis_is_used_again_and_the_recovery_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = RedisServer()
    server.start()
    c = aioredis.Redis.from_url(server.url, socket_timeout=0.5, socket_connect_timeout=0.5)
    clock = FakeClock(start=1e9)
    b = CircuitBreaker(failure_threshold=2, store=RedisBreakerStore(c), clock=clock)
    try:
        await b.record_failure("m", ServerError("503"))
        server.stop()
        with caplog.at_level(logging.WARNING):
            await b.acquire("m")  # down: let through
            server.start()  # empty, and without the script: EVALSHA falls back to EVAL
            await b.record_failure("m", ServerError("503"))
            await b.record_failure("m", ServerError("503"))
        assert await b.state("m") is CircuitState.OPEN
        assert "circuit breaker store is back (key 'm')" in caplog.text
    finally:
        await c.aclose()
        server.stop()


@pytest.mark.anyio
async def test_redis_reports_the_same_state_changes_as_memory_in_one_call(redis_url: str) -> None:
    async def changes(store: object) -> list[object]:
        clock = FakeClock()
        b = CircuitBreaker(
            failure_threshold=2,
            recovery_time=5.0,
            store=store,
            clock=clock,  # type: ignore[arg-type]
        )
        out: list[object] = []
        for step in ("a", "f", "a", "f", "+", "a", "f", "+", "a", "s"):
            if step == "+":
                clock.advance(5.0)
            elif step == "a":
                out.append(await b.acquire("k"))
            elif step == "f":
                out.append(await b.record_failure("k", ServerError("503")))
            else:
                out.append(await b.record_success("k"))
        return out

    redis = RedisBreakerStore.from_url(redis_url, prefix=prefix("changes"))
    try:
        expected = await changes(MemoryBreakerStore())
        assert await changes(redis) == expected
    finally:
        await redis.client.aclose()
    assert [c.state_to.value for c in expected if c is not None] == [  # type: ignore[attr-defined]
        "open",
        "half_open",
        "open",
        "half_open",
        "closed",
    ]
