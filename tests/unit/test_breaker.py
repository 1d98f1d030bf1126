"""l0.breaker.CircuitBreaker: exact transitions on a FakeClock, and runs that share one."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
import pytest

import l0
from l0.breaker import CircuitBreaker, CircuitRecord, CircuitState, MemoryBreakerStore
from l0.errors import (
    AuthenticationError,
    CircuitOpenError,
    ErrorCategory,
    ErrorCode,
    GuardrailViolationError,
    NetworkError,
    ProviderError,
    RateLimitError,
    ServerError,
    StreamTimeoutError,
    ZeroOutputError,
)
from l0.testing import FakeClock, ScriptedSource, drop, fail, tokens

pytestmark = pytest.mark.anyio
T = TypeVar("T")
KEY = "gpt-4o"


def breaker(clock: FakeClock, **kw: object) -> CircuitBreaker:
    opts: dict[str, object] = {"failure_threshold": 3, "recovery_time": 30.0, "window": 60.0}
    opts.update(kw)
    return CircuitBreaker(clock=clock, **opts)  # type: ignore[arg-type]


async def opened(**kw: object) -> tuple[FakeClock, CircuitBreaker]:
    """A FakeClock and a breaker whose KEY circuit has just opened (3 failures)."""
    clock = FakeClock()
    b = breaker(clock, **kw)
    await fail_n(b, 3)
    return clock, b


async def fail_n(b: CircuitBreaker, n: int, error: BaseException | None = None) -> None:
    for _ in range(n):
        await b.acquire(KEY)
        await b.record_failure(KEY, error or ServerError("503"))


# -- transitions ------------------------------------------------------------------------------


async def test_opens_exactly_at_the_threshold() -> None:
    clock = FakeClock()
    b = breaker(clock)
    await fail_n(b, 2)
    assert await b.state(KEY) is CircuitState.CLOSED
    await fail_n(b, 1)
    assert await b.state(KEY) is CircuitState.OPEN
    with pytest.raises(CircuitOpenError) as info:
        await b.acquire(KEY)
    err = info.value
    assert (err.key, err.retry_in, err.retry_after) == (KEY, 30.0, 30.0)
    assert err.code is ErrorCode.CIRCUIT_OPEN and err.category is ErrorCategory.FATAL
    assert isinstance(err, ProviderError) and not err.retryable


async def test_open_refuses_until_recovery_time_then_half_opens() -> None:
    clock, b = await opened()
    clock.advance(29.5)
    with pytest.raises(CircuitOpenError) as info:
        await b.acquire(KEY)
    assert info.value.retry_in == pytest.approx(0.5)
    clock.advance(0.5)
    assert await b.state(KEY) is CircuitState.HALF_OPEN


async def test_half_open_lets_max_calls_through_and_success_closes() -> None:
    clock, b = await opened(half_open_max_calls=2)
    clock.advance(30)
    await b.acquire(KEY)
    await b.acquire(KEY)
    with pytest.raises(CircuitOpenError):
        await b.acquire(KEY)  # both trial slots taken
    await b.record_success(KEY)
    assert await b.state(KEY) is CircuitState.CLOSED
    assert await b.store.get(KEY) == CircuitRecord()  # failures forgotten
    await fail_n(b, 2)
    assert await b.state(KEY) is CircuitState.CLOSED


async def test_half_open_failure_reopens_for_a_full_recovery_time() -> None:
    clock, b = await opened()
    clock.advance(31)
    await b.acquire(KEY)
    await b.record_failure(KEY, NetworkError("reset"))
    assert await b.state(KEY) is CircuitState.OPEN
    clock.advance(29.9)
    assert await b.state(KEY) is CircuitState.OPEN
    clock.advance(0.1)
    assert await b.state(KEY) is CircuitState.HALF_OPEN


async def test_failures_older_than_the_window_expire() -> None:
    clock = FakeClock()
    b = breaker(clock)
    await fail_n(b, 2)
    clock.advance(60)  # both fall out of the (exclusive) window
    await fail_n(b, 2)
    assert await b.state(KEY) is CircuitState.CLOSED
    clock.advance(59.9)  # the last two still count
    await fail_n(b, 1)
    assert await b.state(KEY) is CircuitState.OPEN


async def test_a_lost_half_open_trial_gives_its_slot_back_after_recovery_time() -> None:
    clock, b = await opened()
    clock.advance(30)
    await b.acquire(KEY)  # a trial that never reports (its run was cancelled)
    clock.advance(29)
    with pytest.raises(CircuitOpenError):
        await b.acquire(KEY)
    clock.advance(1)
    await b.acquire(KEY)


async def test_keys_are_independent() -> None:
    clock, b = await opened()
    await b.acquire("claude")
    assert await b.state("claude") is CircuitState.CLOSED
    await b.reset(KEY)
    await b.acquire(KEY)


# -- what counts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        NetworkError("reset"),
        ConnectionResetError("reset by peer"),
        ServerError("503"),
        RateLimitError("429"),
        StreamTimeoutError("inter_token", 1.0, 1.5),
        ProviderError("odd provider failure"),
    ],
)
async def test_unhealthy_provider_errors_count(error: BaseException) -> None:
    b = breaker(FakeClock(), failure_threshold=1)
    await fail_n(b, 1, error)
    assert await b.state(KEY) is CircuitState.OPEN


@pytest.mark.parametrize(
    "error",
    [
        ZeroOutputError(),
        GuardrailViolationError("bad"),
        AuthenticationError("401"),
        StreamTimeoutError("total", 1.0, 1.0),
        l0.AbortedError(),
        KeyError("caller bug"),
    ],
)
async def test_content_fatal_and_caller_errors_do_not_count(error: BaseException) -> None:
    clock = FakeClock()
    b = breaker(clock, failure_threshold=1)
    await fail_n(b, 3, error)
    assert await b.state(KEY) is CircuitState.CLOSED


async def test_an_uncounted_error_frees_the_half_open_trial_without_closing() -> None:
    clock, b = await opened()
    clock.advance(30)
    await b.acquire(KEY)
    await b.record_failure(KEY, ZeroOutputError())
    assert await b.state(KEY) is CircuitState.HALF_OPEN
    await b.acquire(KEY)  # the slot is free again


async def test_count_is_configurable() -> None:
    b = breaker(FakeClock(), failure_threshold=1, count=["content"])
    await fail_n(b, 1, ServerError("503"))
    assert await b.state(KEY) is CircuitState.CLOSED
    await fail_n(b, 1, ZeroOutputError())
    assert await b.state(KEY) is CircuitState.OPEN


# -- stores -----------------------------------------------------------------------------------


class BrokenStore:
    async def get(self, key: str) -> CircuitRecord | None:
        raise ConnectionError("store down")

    async def update(
        self, key: str, fn: Callable[[CircuitRecord | None], tuple[CircuitRecord, T]]
    ) -> T:
        raise ConnectionError("store down")


async def test_a_broken_store_fails_open_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    b = CircuitBreaker(store=BrokenStore(), failure_threshold=1)
    await b.acquire(KEY)
    await b.record_failure(KEY, ServerError("503"))
    await b.acquire(KEY)
    assert await b.state(KEY) is CircuitState.CLOSED
    assert "circuit breaker store failed" in caplog.text


async def test_records_round_trip_as_json_dicts_and_stores_can_be_shared() -> None:
    clock = FakeClock()
    store = MemoryBreakerStore()
    a = breaker(clock, store=store)
    b = breaker(clock, store=store)
    await fail_n(a, 3)
    assert await b.state(KEY) is CircuitState.OPEN  # another breaker on the same store
    record = await store.get(KEY)
    assert record is not None and CircuitRecord.from_dict(record.to_dict()) == record


async def test_memory_store_is_safe_across_threads() -> None:
    b = CircuitBreaker(failure_threshold=10_000, window=1e6)

    def worker() -> None:
        for _ in range(200):
            anyio.run(b.record_failure, KEY, ServerError("503"))

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(anyio.to_thread.run_sync, worker)
    record = await b.store.get(KEY)
    assert record is not None and len(record.failures) == 800


# -- runs -------------------------------------------------------------------------------------


async def test_run_skips_a_source_whose_circuit_is_open() -> None:
    clock, b = await opened()
    primary = ScriptedSource([*tokens("never")])
    backup = ScriptedSource([*tokens("from the backup")])
    result = await l0.run(
        primary, fallbacks=[backup], breaker=b, breaker_keys=[KEY, "claude"], clock=clock
    )
    assert result.text == "from the backup" and result.fallback_index == 1
    assert primary.calls == 0 and backup.calls == 1
    assert isinstance(result.errors[0], CircuitOpenError)
    assert clock.sleeps == []  # an open circuit is not waited on


async def test_a_refused_source_reports_circuit_open_then_falls_back() -> None:
    clock, b = await opened()
    seen: list[l0.ObservabilityEvent] = []
    await l0.run(
        ScriptedSource(["never"]),
        fallbacks=[ScriptedSource(["ok"])],
        breaker=b,
        breaker_keys=[KEY, "claude"],
        clock=clock,
        on_event=seen.append,
    )
    names = [e.name for e in seen]
    error = seen[names.index("ERROR")]
    assert error.data["code"] == "CIRCUIT_OPEN" and error.data["action"] == "fallback"
    assert names.index("FALLBACK_START") > names.index("ERROR")
    assert "STREAM_INIT" not in names[: names.index("ERROR")]  # the primary was never opened


async def test_reset_propagates_store_errors() -> None:
    with pytest.raises(ConnectionError):
        await CircuitBreaker(store=BrokenStore()).reset(KEY)


async def test_run_failures_open_the_circuit_then_retries_stop_calling_it() -> None:
    clock = FakeClock()
    b = breaker(clock)
    primary = ScriptedSource([*tokens("Hel"), drop()])
    backup = ScriptedSource([*tokens("ok")])
    result = await l0.run(
        primary,
        fallbacks=[backup],
        retry=l0.Retry(attempts=5, max_retries=10, base_delay=0.0),
        breaker=b,
        breaker_keys=[KEY, "claude"],
        clock=clock,
    )
    assert result.text == "ok"
    assert primary.calls == 3  # the third drop opened the circuit; no fourth call
    assert isinstance(result.errors[-1], CircuitOpenError)
    assert await b.state(KEY) is CircuitState.OPEN
    assert await b.state("claude") is CircuitState.CLOSED


async def test_a_successful_half_open_trial_run_closes_the_circuit() -> None:
    clock, b = await opened()
    clock.advance(30)
    source = ScriptedSource([*tokens("back")])
    result = await l0.run(source, breaker=b, breaker_keys=[KEY], clock=clock)
    assert result.text == "back"
    assert await b.state(KEY) is CircuitState.CLOSED


async def test_content_failures_in_a_run_do_not_trip_the_breaker() -> None:
    clock = FakeClock()
    b = breaker(clock, failure_threshold=1)
    source = ScriptedSource([], [*tokens("fine")])  # empty first answer: zero output
    result = await l0.run(
        source, retry=l0.Retry(base_delay=0.0), breaker=b, breaker_keys=[KEY], clock=clock
    )
    assert result.text == "fine" and source.calls == 2
    assert await b.state(KEY) is CircuitState.CLOSED


async def test_a_none_key_leaves_that_source_unprotected() -> None:
    clock = FakeClock()
    b = breaker(clock, failure_threshold=1)
    source = ScriptedSource([fail(ServerError("503"))], [*tokens("ok")])
    result = await l0.run(
        source, retry=l0.Retry(base_delay=0.0), breaker=b, breaker_keys=[None], clock=clock
    )
    assert result.text == "ok" and source.calls == 2


async def test_only_open_circuits_and_no_fallback_raise_circuit_open() -> None:
    clock = FakeClock()
    b = breaker(clock, failure_threshold=1)
    await fail_n(b, 1)
    source = ScriptedSource([*tokens("never")])
    with pytest.raises(CircuitOpenError):
        await l0.run(source, breaker=b, breaker_keys=[KEY], clock=clock)
    assert source.calls == 0


async def test_concurrent_runs_share_one_breaker() -> None:
    clock = FakeClock()
    b = breaker(clock, failure_threshold=5)

    async def wave(n: int) -> tuple[list[ScriptedSource], list[str]]:
        primaries = [ScriptedSource([fail(ServerError("503"))]) for _ in range(n)]
        texts: list[str] = []

        async def one(primary: ScriptedSource) -> None:
            result = await l0.run(
                primary,
                fallbacks=[ScriptedSource([*tokens("backup")])],
                retry=l0.Retry(max_retries=0),
                breaker=b,
                breaker_keys=[KEY, "backup"],
                clock=clock,
            )
            texts.append(result.text)

        async with anyio.create_task_group() as tg:
            for primary in primaries:
                tg.start_soon(one, primary)
        return primaries, texts

    first, texts = await wave(8)
    assert texts == ["backup"] * 8
    # Runs already past the check when the fifth failure landed may still fail on their own.
    assert 5 <= sum(p.calls for p in first) <= 8
    assert await b.state(KEY) is CircuitState.OPEN
    second, texts = await wave(8)
    assert texts == ["backup"] * 8
    assert sum(p.calls for p in second) == 0
    assert await b.state("backup") is CircuitState.CLOSED


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"failure_threshold": 0}, ValueError, "failure_threshold"),
        ({"failure_threshold": 2.5}, TypeError, "failure_threshold"),
        ({"half_open_max_calls": 0}, ValueError, "half_open_max_calls"),
        ({"recovery_time": 0}, ValueError, "recovery_time"),
        ({"recovery_time": "30"}, TypeError, "recovery_time"),
        ({"window": float("inf")}, ValueError, "window"),
        ({"window": float("nan")}, ValueError, "window"),
        ({"count": "network"}, TypeError, "count"),
        ({"count": ["bogus"]}, ValueError, "count"),
        ({"count": []}, ValueError, "count"),
        ({"store": object()}, TypeError, "store"),
        ({"clock": object()}, TypeError, "clock"),
    ],
)
def test_bad_breaker_options_are_rejected(
    kwargs: dict[str, object], exc: type[Exception], match: str
) -> None:
    with pytest.raises(exc, match=match):
        CircuitBreaker(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"breaker_keys": ["a"]}, ValueError, "breaker_keys needs breaker"),
        ({"breaker": CircuitBreaker()}, ValueError, r"breaker needs keys=\[...\]"),
        ({"breaker": CircuitBreaker(), "breaker_keys": "ab"}, TypeError, "breaker_keys"),
        ({"breaker": CircuitBreaker(), "breaker_keys": ["a"]}, ValueError, "one key per source"),
        ({"breaker": CircuitBreaker(), "breaker_keys": ["a", ""]}, TypeError, r"breaker_keys\[1\]"),
        ({"breaker": CircuitBreaker(), "breaker_keys": ["a", 3]}, TypeError, r"breaker_keys\[1\]"),
        ({"breaker": object(), "breaker_keys": ["a", "b"]}, TypeError, "l0.CircuitBreaker"),
    ],
)
def test_bad_run_options_are_rejected(
    kwargs: dict[str, object], exc: type[Exception], match: str
) -> None:
    with pytest.raises(exc, match=match):
        l0.stream(lambda: ["x"], fallbacks=[lambda: ["y"]], **kwargs)  # type: ignore[arg-type]
