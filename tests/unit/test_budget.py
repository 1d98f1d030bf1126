"""l0.RetryBudget with the memory store: gRFC A6 bucket arithmetic, options, threads."""

from __future__ import annotations

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

import l0
from l0 import RetryBudget
from l0.budget import BudgetOp, BudgetPolicy, MemoryBudgetStore, budget_step
from l0.errors import (
    ErrorCategory,
    ErrorCode,
    RetriesExhaustedError,
    RetryBudgetExhaustedError,
    ServerError,
)
from l0.testing import FakeClock, ScriptedSource, drop, fail, tokens

pytestmark = pytest.mark.anyio


async def test_a_full_outage_allows_half_the_bucket_then_nothing() -> None:
    b = RetryBudget(max_tokens=10, token_ratio=0.1)
    allowed = [await b.try_spend("m") for _ in range(20)]
    assert allowed == [True] * 5 + [False] * 15
    assert await b.tokens("m") == 5.0
    assert await b.tokens("other") == 10.0  # per key


async def test_successes_refill_token_ratio_up_to_max() -> None:
    b = RetryBudget(max_tokens=4, token_ratio=0.5)
    assert [await b.try_spend("m") for _ in range(3)] == [True, True, False]
    await b.record_success("m")  # 2.0 -> 2.5: above half again
    assert await b.try_spend("m") and not await b.try_spend("m")
    for _ in range(10):
        await b.record_success("m")
    assert await b.tokens("m") == 4.0


@given(
    max_tokens=st.floats(0.1, 100.0),
    ratio=st.floats(0.001, 5.0),
    ops=st.lists(st.sampled_from(list(BudgetOp)), max_size=80),
)
def test_bucket_stays_within_bounds_and_spends_only_above_half(
    max_tokens: float, ratio: float, ops: list[BudgetOp]
) -> None:
    policy = BudgetPolicy(max_tokens, ratio)
    tokens: float | None = None
    for op in ops:
        before = max_tokens if tokens is None else tokens
        tokens, ok = budget_step(policy, tokens, op)
        assert max_tokens / 2 - 1 <= tokens <= max_tokens
        if op is BudgetOp.SPEND:
            assert ok == (before > max_tokens / 2)
            assert tokens == (before - 1 if ok else before)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_tokens": 0}, ValueError, "max_tokens must be finite and > 0, got 0"),
        ({"max_tokens": float("nan")}, ValueError, "max_tokens must be finite"),
        ({"max_tokens": "10"}, TypeError, "max_tokens must be a number"),
        ({"token_ratio": -0.1}, ValueError, "token_ratio must be finite and > 0"),
        ({"token_ratio": True}, TypeError, "token_ratio must be a number"),
        ({"store": object()}, TypeError, "store must provide async apply"),
        ({"fail_open": 1}, TypeError, "fail_open must be True or False"),
        ({"store_timeout": 0}, ValueError, "store_timeout must be finite and > 0"),
    ],
)
async def test_bad_options_name_the_option(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        RetryBudget(**kwargs)  # type: ignore[arg-type]


async def test_memory_store_is_atomic_across_threads() -> None:
    b = RetryBudget(max_tokens=1000, token_ratio=1.0, store=MemoryBudgetStore())
    results: list[bool] = []

    def worker() -> None:
        for _ in range(300):
            results.append(anyio.run(b.try_spend, "m"))

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(anyio.to_thread.run_sync, worker)
    assert results.count(True) == 500  # 1000 -> 500 exactly, never below
    assert await b.tokens("m") == 500.0


# -- runs ---------------------------------------------------------------------------------------

RETRY = l0.Retry(attempts=5, max_retries=10, base_delay=1.0)


async def test_a_refused_retry_fails_fast_with_a_typed_error() -> None:
    clock = FakeClock()
    budget = RetryBudget(max_tokens=2)  # one retry (2 -> 1), then refused
    primary = ScriptedSource([fail(ServerError("503"))])
    with pytest.raises(RetryBudgetExhaustedError) as info:
        await l0.run(primary, retry=RETRY, retry_budget=budget, keys=["gpt"], clock=clock)
    err = info.value
    assert primary.calls == 2 and len(clock.sleeps) == 1  # one retry, then no more waiting
    assert err.key == "gpt" and err.code is ErrorCode.RETRY_BUDGET_EXHAUSTED
    assert isinstance(err, RetriesExhaustedError) and len(err.errors) == 2
    assert err.category is ErrorCategory.TRANSIENT  # the last error's
    # The next run's first failure is not retried at all.
    again = ScriptedSource([fail(ServerError("503"))])
    with pytest.raises(RetryBudgetExhaustedError):
        await l0.run(again, retry=RETRY, retry_budget=budget, keys=["gpt"], clock=clock)
    assert again.calls == 1 and len(clock.sleeps) == 1


async def test_a_refused_retry_goes_straight_to_the_fallback_and_success_refills() -> None:
    clock = FakeClock()
    budget = RetryBudget(max_tokens=2, token_ratio=0.5)
    await budget.try_spend("gpt")  # bucket at 1: retries on "gpt" refused
    seen: list[l0.ObservabilityEvent] = []
    primary = ScriptedSource([*tokens("Hel"), drop()])
    result = await l0.run(
        primary,
        fallbacks=[ScriptedSource([*tokens("from the backup")])],
        retry=RETRY,
        retry_budget=budget,
        keys=["gpt", "claude"],
        clock=clock,
        on_event=seen.append,
    )
    assert result.text == "from the backup" and result.fallback_index == 1
    assert primary.calls == 1 and clock.sleeps == []
    error = next(e for e in seen if e.name == "ERROR")
    assert error.data["action"] == "fallback"
    assert error.data["reason"] == "retry budget for 'gpt' exhausted"
    assert await budget.tokens("claude") == 2.0  # refilled, capped at max
    assert await budget.tokens("gpt") == 1.0
    ok = await l0.run(ScriptedSource(["fine"]), retry_budget=budget, keys=["gpt"], clock=clock)
    assert ok.text == "fine" and await budget.tokens("gpt") == 1.5


async def test_sources_without_a_key_are_not_budgeted() -> None:
    budget = RetryBudget(max_tokens=1)
    primary = ScriptedSource([drop()], [drop()], ["ok"])
    result = await l0.run(primary, retry=l0.Retry(base_delay=0.0), retry_budget=budget, keys=[None])
    assert result.text == "ok" and primary.calls == 3


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"retry_budget": RetryBudget()}, ValueError, r"retry_budget needs keys=\[...\]"),
        ({"keys": ["a"]}, ValueError, "keys needs breaker=.* or retry_budget="),
        ({"retry_budget": object(), "keys": ["a"]}, TypeError, "must be an l0.RetryBudget"),
        (
            {"retry_budget": RetryBudget(), "keys": ["a"], "breaker_keys": ["a"]},
            ValueError,
            "pass keys= only",
        ),
        ({"retry_budget": RetryBudget(), "keys": ["a", "b"]}, ValueError, "one key per source"),
    ],
)
async def test_bad_run_options_name_the_option(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        await l0.run(ScriptedSource(["x"]), **kwargs)
