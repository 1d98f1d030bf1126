"""Backoff strategies, Retry-After parsing and per-kind delays, exactly."""

from __future__ import annotations

import email.utils

import pytest

import l0
from l0.errors import NetworkError, NetworkErrorKind, RateLimitError, ServerError
from l0.runtime.classify import parse_retry_after
from l0.runtime.retry import retry_delay


def fixed(value: float):
    return lambda: value


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("exponential", [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]),
        ("linear", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        ("fixed", [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]),
        ("fixed_jitter", [0.75, 0.75, 0.75, 0.75, 0.75, 0.75]),
        ("full_jitter", [0.25, 0.5, 1.0, 2.0, 2.5, 2.5]),
    ],
)
def test_each_backoff_sequence_exactly(strategy: str, expected: list[float]) -> None:
    got = [l0.calculate_backoff(strategy, n, 1.0, 10.0, random=fixed(0.25)) for n in range(6)]
    assert got == expected


def test_backoff_caps_at_max_delay() -> None:
    assert l0.calculate_backoff("exponential", 50, 1.0, 7.5) == 7.5
    assert l0.calculate_backoff("fixed_jitter", 0, 10.0, 3.0, random=fixed(0.9)) == 3.0


def test_backoff_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown backoff strategy"):
        l0.calculate_backoff("decorrelated", 0, 1.0, 2.0)
    with pytest.raises(ValueError):
        l0.calculate_backoff("fixed", -1, 1.0, 2.0)


def test_retry_after_seconds_ms_and_http_date() -> None:
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"Retry-After": "1.5"}) == 1.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=now) == pytest.approx(30.0)
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after({"retry-after": past}, now=now) == 0.0


def test_retry_after_is_obeyed_over_backoff_and_capped() -> None:
    policy = l0.Retry(backoff="fixed", base_delay=0.5, max_delay=1.0, retry_after_cap=120.0)
    assert retry_delay(policy, RateLimitError("slow down", retry_after=2.0), 0) == 2.0
    assert retry_delay(policy, RateLimitError("quota", retry_after=3600.0), 0) == 120.0
    # shorter Retry-After than the backoff: the backoff stands
    assert retry_delay(policy, ServerError("busy", retry_after=0.1), 0) == 0.5
    capped = l0.Retry(backoff="fixed", base_delay=0.5, retry_after_cap=5.0)
    assert retry_delay(capped, RateLimitError("x", retry_after=60.0), 0) == 5.0


def test_error_delays_per_kind_code_and_category() -> None:
    policy = l0.Retry(
        backoff="fixed",
        base_delay=1.0,
        error_delays={"dns": 3.0, "RATE_LIMITED": 7.0, "transient": 0.25},
    )
    dns = NetworkError("no such host", kind=NetworkErrorKind.DNS)
    reset = NetworkError("reset", kind=NetworkErrorKind.CONNECTION_RESET)
    assert retry_delay(policy, dns, 0) == 3.0
    assert retry_delay(policy, reset, 0) == 1.0
    assert retry_delay(policy, RateLimitError("x"), 0) == 7.0
    assert retry_delay(policy, ServerError("x"), 0) == 0.25


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attempts": -1}, "attempts"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"backoff": "nope"}, "backoff"),
        ({"base_delay": -1}, "base_delay"),
        ({"error_delays": {"dnss": 1.0}}, "unknown key"),
        ({"error_delays": {"dns": -1}}, "error_delays"),
        ({"retry_on": ["networking"]}, "retry_on"),
        ({"random": 0.5}, "random"),
    ],
)
def test_retry_rejects_bad_options(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        l0.Retry(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initial_token": 0}, "initial_token"),
        ({"inter_token": -1.0}, "inter_token"),
        ({"total": "5"}, "total"),
        ({"inter_token": float("nan")}, "inter_token"),
    ],
)
def test_timeout_rejects_bad_options(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        l0.Timeout(**kwargs)  # type: ignore[arg-type]
