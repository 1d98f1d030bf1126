"""The pure retry decision: counters per category, fatal, internal, budgets."""

from __future__ import annotations

import pytest

import l0
from l0.errors import (
    AbortedError,
    AuthenticationError,
    ErrorCategory,
    NetworkError,
    ProviderError,
    RateLimitError,
    StreamTimeoutError,
    ZeroOutputError,
)
from l0.runtime.retry import Action, Counters, decide

POLICY = l0.Retry(attempts=2, max_retries=4, backoff="fixed", base_delay=1.0, random=lambda: 0.5)


def test_network_and_transient_do_not_count_toward_attempts() -> None:
    c = Counters()
    for err in (
        NetworkError("reset"),
        RateLimitError("429"),
        StreamTimeoutError("inter_token", 1, 1),
    ):
        d = decide(POLICY, err, c, has_fallback=False)
        assert d.action is Action.RETRY
        assert d.counts is False
        c = c.after(d.counts)
    assert c.model == 0 and c.total == 3 and c.network == 3


def test_model_and_content_count_toward_attempts() -> None:
    c = Counters()
    d1 = decide(POLICY, ZeroOutputError(), c, has_fallback=False)
    assert d1.action is Action.RETRY and d1.counts
    c = c.after(True)
    d2 = decide(POLICY, ProviderError("odd"), c, has_fallback=False)
    assert d2.action is Action.RETRY and d2.counts
    c = c.after(True)
    d3 = decide(POLICY, ZeroOutputError(), c, has_fallback=False)
    assert d3.action is Action.GIVE_UP
    assert "attempts" in d3.reason
    # ... but network errors still retry until max_retries
    d4 = decide(POLICY, NetworkError("reset"), c, has_fallback=False)
    assert d4.action is Action.RETRY


def test_max_retries_is_absolute_and_moves_to_fallback() -> None:
    c = Counters(model=0, total=4)
    assert decide(POLICY, NetworkError("x"), c, has_fallback=True).action is Action.FALLBACK
    assert decide(POLICY, NetworkError("x"), c, has_fallback=False).action is Action.GIVE_UP


def test_fatal_is_never_retried_on_the_same_source() -> None:
    err = AuthenticationError("bad key", status_code=401)
    assert decide(POLICY, err, Counters(), has_fallback=True).action is Action.FALLBACK
    assert decide(POLICY, err, Counters(), has_fallback=False).action is Action.GIVE_UP


def test_programming_errors_and_aborts_give_up_even_with_fallbacks() -> None:
    assert decide(POLICY, None, Counters(), has_fallback=True).action is Action.GIVE_UP
    assert decide(POLICY, AbortedError(), Counters(), has_fallback=True).action is Action.GIVE_UP
    total = StreamTimeoutError("total", 5, 5)
    assert total.category is ErrorCategory.FATAL
    assert decide(POLICY, total, Counters(), has_fallback=True).action is Action.GIVE_UP


def test_retry_on_restricts_categories_and_accepts_predicates() -> None:
    only_network = l0.Retry(retry_on=[ErrorCategory.NETWORK])
    assert (
        decide(only_network, RateLimitError("x"), Counters(), has_fallback=False).action
        is Action.GIVE_UP
    )
    assert (
        decide(only_network, NetworkError("x"), Counters(), has_fallback=False).action
        is Action.RETRY
    )
    by_code = l0.Retry(retry_on=["ZERO_OUTPUT"])
    assert decide(by_code, ZeroOutputError(), Counters(), has_fallback=False).action is Action.RETRY
    predicate = l0.Retry(retry_on=lambda err: err.status_code == 503)
    assert (
        decide(
            predicate, ProviderError("x", status_code=503), Counters(), has_fallback=False
        ).action
        is Action.RETRY
    )
    assert (
        decide(
            predicate, ProviderError("x", status_code=502), Counters(), has_fallback=False
        ).action
        is Action.GIVE_UP
    )


@pytest.mark.parametrize("n", [0, 1, 2])
def test_backoff_uses_the_per_category_counter(n: int) -> None:
    policy = l0.Retry(backoff="exponential", base_delay=1.0, max_delay=100.0, max_retries=10)
    d = decide(policy, NetworkError("x"), Counters(model=2, total=2 + n), has_fallback=False)
    assert d.delay == 2.0**n
