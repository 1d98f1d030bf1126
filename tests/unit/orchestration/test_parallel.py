"""parallel / batched / race: order, concurrency, fail-fast and real cancellation of losers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

import l0
from l0.orchestration.parallel import RaceResult, batched, parallel, race
from l0.testing import FakeClock, ScriptedSource, drop, fail, stall, tokens

pytestmark = pytest.mark.anyio

FAST = {"retry": l0.Retry(base_delay=0.001), "clock": FakeClock()}


def fatal(message: str = "bad key") -> Any:
    return fail(l0.AuthenticationError(message))


class Gauge:
    """Sources that record how many of them stream at once."""

    def __init__(self) -> None:
        self.active = 0
        self.peak = 0

    def source(self, text: str) -> Any:
        async def play() -> AsyncIterator[str]:
            self.active += 1
            self.peak = max(self.peak, self.active)
            try:
                await anyio.sleep(0.01)
                yield text
            finally:
                self.active -= 1

        return play


# -- parallel ----------------------------------------------------------------------------------


async def test_parallel_keeps_source_order_whatever_finishes_first() -> None:
    slow = ScriptedSource([stall(0.03), "slow"])
    fast = ScriptedSource(["fast"])
    results = await parallel([slow, fast], **FAST)
    assert [r.text for r in results if isinstance(r, l0.Result)] == ["slow", "fast"]


async def test_parallel_never_exceeds_concurrency() -> None:
    gauge = Gauge()
    results = await parallel([gauge.source(str(i)) for i in range(7)], concurrency=2)
    assert gauge.peak == 2
    assert [r.text for r in results if isinstance(r, l0.Result)] == [str(i) for i in range(7)]


async def test_parallel_returns_failures_in_place_after_each_run_retried() -> None:
    flaky = ScriptedSource([*tokens("he"), drop()], ["hello"])
    results = await parallel([ScriptedSource([fatal()]), flaky], **FAST)
    assert isinstance(results[0], l0.AuthenticationError)
    assert isinstance(results[1], l0.Result) and results[1].text == "hello"
    assert flaky.calls == 2  # the run's own retry policy applied


async def test_parallel_fail_fast_cancels_the_others_and_raises() -> None:
    stalled = ScriptedSource(["a", stall(10), "b"])
    failing = ScriptedSource([stall(0.01), fatal("first failure")])
    with anyio.fail_after(2):
        with pytest.raises(l0.AuthenticationError, match="first failure"):
            await parallel([stalled, failing], fail_fast=True, **FAST)
    assert stalled.closed == 1 and stalled.yielded == [1]


async def test_parallel_fail_fast_starts_no_queued_run() -> None:
    queued = ScriptedSource(["never"])
    with pytest.raises(l0.AuthenticationError):
        await parallel([ScriptedSource([fatal()]), queued], concurrency=1, fail_fast=True)
    assert queued.calls == 0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: parallel([]), ValueError, "sources must not be empty"),
        (lambda: parallel("abc"), TypeError, "sources must be a list"),
        (lambda: parallel([ScriptedSource(["x"])], concurrency=0), ValueError, "concurrency"),
        (lambda: parallel([ScriptedSource(["x"])], concurrency=1.5), TypeError, "concurrency"),
        (lambda: parallel([ScriptedSource(["x"])], retry=3), TypeError, "retry"),
        (lambda: batched([ScriptedSource(["x"])], batch_size=0), ValueError, "batch_size"),
        (lambda: race([]), ValueError, "must not be empty"),
        (lambda: race([ScriptedSource(["x"])], mode="fastest"), ValueError, "mode"),
    ],
)
async def test_bad_input_is_rejected_before_anything_runs(
    call: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await call()


# -- batched -----------------------------------------------------------------------------------


async def test_batched_runs_one_batch_after_another_in_order() -> None:
    gauge = Gauge()
    results = await batched([gauge.source(str(i)) for i in range(5)], batch_size=2)
    assert gauge.peak == 2
    assert [r.text for r in results if isinstance(r, l0.Result)] == ["0", "1", "2", "3", "4"]


async def test_batched_fail_fast_stops_later_batches() -> None:
    later = ScriptedSource(["later"])
    with pytest.raises(l0.AuthenticationError):
        await batched(
            [ScriptedSource([fatal()]), ScriptedSource(["ok"]), later],
            batch_size=2,
            fail_fast=True,
        )
    assert later.calls == 0


# -- race --------------------------------------------------------------------------------------


async def test_race_first_complete_wins_and_the_loser_is_closed_at_once() -> None:
    loser = ScriptedSource(["slow ", stall(10), "never"])
    winner = ScriptedSource([stall(0.01), *tokens("fast answer")])
    with anyio.fail_after(2):
        result = await race([loser, winner], **FAST)
    assert isinstance(result, RaceResult) and isinstance(result, l0.Result)
    assert result.text == "fast answer" and result.winner_index == 1
    assert loser.closed == 1 and loser.calls == 1


async def test_race_first_complete_is_not_first_token() -> None:
    # The first source to stream a token stalls; the other completes first and wins.
    early = ScriptedSource(["early", stall(10), "late"])
    steady = ScriptedSource([stall(0.02), "done"])
    with anyio.fail_after(2):
        result = await race([early, steady], mode="first_complete")
    assert result.winner_index == 1 and early.closed == 1


async def test_race_first_token_cancels_losers_and_runs_the_winner_to_the_end() -> None:
    slow = ScriptedSource([stall(0.05), "slow"])
    quick = ScriptedSource(["first ", stall(0.02), "done"])
    result = await race([slow, quick], mode="first_token")
    assert result.text == "first done" and result.winner_index == 1
    assert slow.closed == 1 and slow.yielded == [0]


async def test_race_first_token_winner_failing_later_raises_its_error() -> None:
    other = ScriptedSource([stall(0.05), "other"])
    winner = ScriptedSource(["tok", fatal("died after its first token")])
    with pytest.raises(l0.AuthenticationError, match="died after"):
        await race([other, winner], mode="first_token", **FAST)
    assert other.closed == 1


async def test_race_ignores_failed_losers() -> None:
    failing = ScriptedSource([fatal()])
    ok = ScriptedSource([stall(0.01), "ok"])
    result = await race([failing, ok], **FAST)
    assert result.text == "ok" and result.winner_index == 1


async def test_race_all_failing_raises_with_every_error_in_order() -> None:
    sources = [ScriptedSource([fatal("one")]), ScriptedSource([fatal("two")])]
    with pytest.raises(l0.RetriesExhaustedError, match="all 2 sources failed") as info:
        await race(sources, **FAST)
    assert [str(e) for e in info.value.errors] == ["one", "two"]


async def test_race_honours_each_runs_retries_and_fallbacks() -> None:
    primary = ScriptedSource([fatal()])
    backup = ScriptedSource(["from fallback"])
    result = await race([primary], fallbacks=[backup], **FAST)
    assert result.text == "from fallback" and result.fallback_index == 1


async def test_cancelling_parallel_from_outside_closes_every_running_stream() -> None:
    sources = [ScriptedSource(["a", stall(10), "b"]) for _ in range(3)]
    with anyio.move_on_after(0.05):
        await parallel(sources)
    assert [s.closed for s in sources] == [1, 1, 1]
