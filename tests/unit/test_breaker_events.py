"""Breaker state changes: what the breaker's calls return, the INFO log line, and the
BREAKER_OPEN / BREAKER_HALF_OPEN / BREAKER_CLOSE events a run emits (memory store, FakeClock)."""

from __future__ import annotations

import logging

import pytest

import l0
from l0.breaker import BreakerChange, CircuitBreaker, CircuitState
from l0.errors import AuthenticationError, NetworkError, ServerError
from l0.testing import FakeClock, ScriptedSource, fail, tokens

pytestmark = pytest.mark.anyio
KEY = "gpt-4o"
OPEN, HALF, CLOSED = CircuitState.OPEN, CircuitState.HALF_OPEN, CircuitState.CLOSED


def names(seen: list[l0.ObservabilityEvent]) -> list[str]:
    return [e.name for e in seen]


async def test_each_call_returns_the_change_it_caused_and_none_otherwise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    b = CircuitBreaker(failure_threshold=2, recovery_time=10.0, clock=clock)
    caplog.set_level(logging.INFO, "l0.breaker")
    assert await b.acquire(KEY) is None
    assert await b.record_failure(KEY, ServerError("503")) is None  # 1 of 2
    assert await b.record_failure(KEY, AuthenticationError("no")) is None  # uncounted
    assert await b.record_failure(KEY, ServerError("503")) == BreakerChange(
        KEY, CLOSED, OPEN, 2, 10.0
    )
    clock.advance(10.0)
    assert await b.acquire(KEY) == BreakerChange(KEY, OPEN, HALF, 0, None)
    assert await b.record_failure(KEY, ServerError("503")) == BreakerChange(
        KEY, HALF, OPEN, 1, 20.0
    )
    clock.advance(10.0)
    assert await b.acquire(KEY) == BreakerChange(KEY, OPEN, HALF, 0, None)
    assert await b.record_success(KEY) == BreakerChange(KEY, HALF, CLOSED, 0, None)
    assert await b.record_success(KEY) is None
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert lines == [
        "circuit 'gpt-4o': closed -> open after 2 counted failure(s)",
        "circuit 'gpt-4o': open -> half_open",
        "circuit 'gpt-4o': half_open -> open after 1 counted failure(s)",
        "circuit 'gpt-4o': open -> half_open",
        "circuit 'gpt-4o': half_open -> closed",
    ]


async def test_a_run_emits_open_then_a_later_run_half_open_and_close_in_order() -> None:
    clock = FakeClock()
    b = CircuitBreaker(failure_threshold=1, recovery_time=5.0, clock=clock)
    seen: list[l0.ObservabilityEvent] = []
    failing = ScriptedSource([fail(NetworkError("down"))])
    result = await l0.run(
        failing,
        fallbacks=[lambda: ["backup"]],
        keys=[KEY, None],
        breaker=b,
        retry=l0.Retry(max_retries=0),
        on_event=seen.append,
        clock=clock,
    )
    assert result.text == "backup"
    opened = [e for e in seen if e.name.startswith("BREAKER")]
    assert [e.name for e in opened] == ["BREAKER_OPEN"]
    assert dict(opened[0].data) == {
        "key": KEY,
        "state_from": "closed",
        "state_to": "open",
        "failures": 1,
        "opened_until": 5.0,
    }
    order = names(seen)
    assert order.index("BREAKER_OPEN") < order.index("ERROR") < order.index("FALLBACK_START")

    seen.clear()
    clock.advance(5.0)
    await l0.run(ScriptedSource([*tokens("ok")]), breaker=b, keys=[KEY], on_event=seen.append)
    order = names(seen)
    assert order.index("ATTEMPT_START") < order.index("BREAKER_HALF_OPEN")
    assert order.index("BREAKER_HALF_OPEN") < order.index("STREAM_INIT")
    assert order.index("STREAM_END") < order.index("BREAKER_CLOSE") < order.index("COMPLETE")
    close = next(e for e in seen if e.name == "BREAKER_CLOSE")
    assert (close.data["state_from"], close.data["state_to"]) == ("half_open", "closed")
    assert close.data["opened_until"] is None


async def test_a_run_that_changes_no_state_emits_no_breaker_event() -> None:
    b = CircuitBreaker(failure_threshold=3, clock=FakeClock())
    seen: list[l0.ObservabilityEvent] = []
    await l0.run(lambda: ["ok"], breaker=b, keys=[KEY], on_event=seen.append)
    assert not [e for e in seen if e.name.startswith("BREAKER")]
