"""l0.Hedge: a twin attempt when the first token is late; first token wins, loser closed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

import l0
from l0 import CircuitBreaker, Hedge, RetryBudget
from l0.errors import ServerError
from l0.testing import ScriptedSource, fail, stall

pytestmark = pytest.mark.anyio


class Tracked:
    """A source whose streams record whether they were closed (and when they ended)."""

    def __init__(self, first_token_after: float, text: str = "from here") -> None:
        self.delay = first_token_after
        self.text = text
        self.calls = 0
        self.closed = 0
        self.finished = 0

    def __call__(self) -> AsyncIterator[str]:
        self.calls += 1
        return self._gen()

    async def _gen(self) -> AsyncIterator[str]:
        try:
            await anyio.sleep(self.delay)
            for word in self.text.split(" "):
                yield word + " "
            self.finished += 1
        except GeneratorExit:
            self.closed += 1
            raise
        except BaseException:
            self.closed += 1
            raise


async def test_a_late_first_token_starts_a_twin_on_the_fallback_which_wins() -> None:
    slow, fast = Tracked(5.0, "slow answer"), Tracked(0.0, "fast answer")
    seen: list[l0.ObservabilityEvent] = []
    with anyio.fail_after(3):
        result = await l0.run(
            slow, fallbacks=[fast], hedge=Hedge(delay=0.05, target="fallback"), on_event=seen.append
        )
    assert result.text == "fast answer " and result.fallback_index == 1
    assert (slow.calls, fast.calls) == (1, 1)
    assert slow.closed == 1 and slow.finished == 0  # the loser was closed at once
    start = next(e for e in seen if e.name == "FALLBACK_START")
    assert start.data == {"from_index": 0, "to_index": 1, "reason": "hedge won"}


async def test_a_first_token_in_time_means_no_twin() -> None:
    primary, backup = Tracked(0.0, "in time"), Tracked(0.0, "unused")
    result = await l0.run(primary, fallbacks=[backup], hedge=Hedge(delay=1.0, target="fallback"))
    assert result.text == "in time " and backup.calls == 0 and result.fallback_index == 0


async def test_same_source_twin_and_the_first_still_wins_when_it_is_faster() -> None:
    # First call: token after 0.15 s; the twin (second call) would take 2 s.
    delays = iter([0.15, 2.0])
    made: list[Tracked] = []

    def source() -> AsyncIterator[str]:
        t = Tracked(next(delays), "the answer")
        made.append(t)
        return t()

    with anyio.fail_after(3):
        result = await l0.run(source, hedge=Hedge(delay=0.05))
    assert result.text == "the answer " and len(made) == 2
    assert made[0].finished == 1 and made[1].closed == 1  # the twin lost and was closed


async def test_the_twin_answers_when_the_first_fails_during_the_race() -> None:
    first = ScriptedSource([stall(0.1), fail(ServerError("503"))])
    twin = Tracked(0.2, "rescued")  # still racing when the first fails at 0.1 s
    result = await l0.run(
        first,
        fallbacks=[twin],
        hedge=Hedge(delay=0.02, target="fallback"),
        retry=l0.Retry(base_delay=0.0),
    )
    assert result.text == "rescued " and result.fallback_index == 1
    assert [type(e) for e in result.errors] == [ServerError]


async def test_hedges_count_against_the_budget_and_respect_the_breaker() -> None:
    budget = RetryBudget(max_tokens=1.5)  # one hedge (1.5 -> 0.5, +0.1 refill), then refused
    runs = []
    for _ in range(2):
        slow, fast = Tracked(0.3, "slow"), Tracked(0.0, "fast")
        result = await l0.run(
            slow,
            fallbacks=[fast],
            hedge=Hedge(delay=0.02, target="fallback"),
            retry_budget=budget,
            keys=["a", "b"],
        )
        runs.append((result.text, fast.calls))
    assert runs == [("fast ", 1), ("slow ", 0)]  # the second hedge was refused: waited
    breaker = CircuitBreaker(failure_threshold=1)
    await breaker.record_failure("b", ServerError("503"))
    slow, fast = Tracked(0.1, "slow"), Tracked(0.0, "fast")
    result = await l0.run(
        slow,
        fallbacks=[fast],
        hedge=Hedge(delay=0.02, target="fallback"),
        breaker=breaker,
        keys=["a", "b"],
    )
    assert result.text == "slow " and fast.calls == 0  # "b" is open: no twin


async def test_p95_delay_learns_from_observed_first_tokens() -> None:
    hedge = Hedge(delay="p95", initial_delay=0.5, min_samples=3)
    assert hedge.delay_for("m") == 0.5
    for ttft in (0.1, 0.2, 0.3, 0.4):
        hedge.observe("m", ttft)
    assert hedge.delay_for("m") == 0.4 and hedge.delay_for("other") == 0.5
    await l0.run(Tracked(0.0, "x"), hedge=hedge, keys=None)
    assert hedge.delay_for("") == 0.5  # one sample for the unkeyed source: not enough yet


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"delay": -1}, ValueError, "delay must be finite and >= 0"),
        ({"delay": "p99"}, TypeError, "delay must be seconds"),
        ({"target": "other"}, ValueError, "target must be 'same' or 'fallback'"),
        ({"min_samples": 0}, ValueError, "min_samples must be an int >= 1"),
    ],
)
def test_bad_options_name_the_option(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        Hedge(**kwargs)  # type: ignore[arg-type]


async def test_hedge_must_be_a_hedge() -> None:
    with pytest.raises(TypeError, match="hedge must be an l0.Hedge"):
        await l0.run(["x"], hedge=1.0)
