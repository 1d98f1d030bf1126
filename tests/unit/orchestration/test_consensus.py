"""consensus: concurrent l0 runs, simple documented similarity, strategies, structured mode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from pydantic import BaseModel

import l0
from l0.orchestration.consensus import consensus, similarity
from l0.testing import FakeClock, ScriptedSource, drop, fail, tokens

pytestmark = pytest.mark.anyio

FAST = {"retry": l0.Retry(base_delay=0.001), "clock": FakeClock()}


def say(*texts: str) -> list[ScriptedSource]:
    return [ScriptedSource(tokens(t)) for t in texts]


def fatal() -> Any:
    return ScriptedSource([fail(l0.AuthenticationError("bad key"))])


def test_similarity_is_the_indel_ratio_of_the_normalised_texts() -> None:
    from rapidfuzz import fuzz

    assert similarity("Paris.", "  paris. ") == 1.0
    assert similarity("The capital is Paris", "the capital is paris!") == pytest.approx(
        fuzz.ratio("the capital is paris", "the capital is paris!") / 100
    )
    assert similarity("a b c d", "a b c e") == pytest.approx(6 / 7)
    assert similarity("", "...") == 0.0
    assert similarity("", "  ") == 1.0


async def test_majority_picks_the_most_supported_output() -> None:
    result = await consensus(say("Paris", "paris", "Lyon"))
    assert result.agreed and result.text == "Paris" and result.winner_index == 0
    assert result.supporters == (0, 1) and result.agreement == pytest.approx(2 / 3)
    assert [o.text for o in result.outputs] == ["Paris", "paris", "Lyon"]


async def test_majority_without_a_majority_is_not_agreed() -> None:
    result = await consensus(say("Paris", "Lyon"))
    assert not result.agreed and result.agreement == 0.5


async def test_threshold_decides_what_counts_as_agreement() -> None:
    texts = ("the answer is forty two", "the answer is 42", "the answer is forty two")
    strict = await consensus(say(*texts), threshold=1.0)
    loose = await consensus(say(*texts), threshold=0.5)
    assert strict.supporters == (0, 2) and loose.supporters == (0, 1, 2)


async def test_unanimous_needs_every_source_to_succeed_and_agree() -> None:
    assert (await consensus(say("yes", "Yes", "YES "), strategy="unanimous")).agreed
    split = await consensus(say("yes", "yes", "no"), strategy="unanimous")
    assert not split.agreed and split.text == "yes"
    one_failed = await consensus([*say("yes", "yes"), fatal()], strategy="unanimous")
    assert not one_failed.agreed and len(one_failed.errors) == 1


async def test_best_takes_the_highest_weight_and_weights_tilt_the_majority() -> None:
    best = await consensus(say("a", "b", "b"), strategy="best", weights=[5, 1, 1])
    assert best.text == "a" and best.agreed
    weighted = await consensus(say("a", "b", "b"), weights=[3, 1, 1])
    assert weighted.text == "a" and weighted.agreement == pytest.approx(3 / 5)


async def test_each_run_honours_its_retry_and_fallback_options() -> None:
    flaky = ScriptedSource([*tokens("Par"), drop()], ["Paris"])
    dead = fatal()
    backup = ScriptedSource(["Paris"])
    result = await consensus([flaky, dead], fallbacks=[backup], strategy="unanimous", **FAST)
    assert result.agreed and flaky.calls == 2
    assert result.outputs[1].result is not None and result.outputs[1].result.fallback_index == 1


async def test_sources_run_concurrently() -> None:
    active: list[int] = [0, 0]  # now, peak

    async def same() -> AsyncIterator[str]:
        active[0] += 1
        active[1] = max(active)
        try:
            await anyio.sleep(0.01)
            yield "same"
        finally:
            active[0] -= 1

    result = await consensus([same, same, same, same])
    assert result.agreement == 1.0 and active[1] == 4


async def test_failed_sources_are_kept_and_all_failing_raises() -> None:
    result = await consensus([fatal(), *say("ok", "ok")], **FAST)
    assert result.agreed and not result.outputs[0].ok
    with pytest.raises(l0.RetriesExhaustedError, match="all 2 sources failed") as info:
        await consensus([fatal(), fatal()], **FAST)
    assert len(info.value.errors) == 2


class Answer(BaseModel):
    city: str
    population: int


async def test_structured_outputs_agree_when_their_objects_are_equal() -> None:
    sources = [
        ScriptedSource(['{"city": "Paris", "population": 2100000}']),
        ScriptedSource(['```json\n{"population": 2100000, "city": "Paris"}\n```']),
        ScriptedSource(['{"city": "Lyon", "population": 500000}']),
    ]
    result = await consensus(sources, model=Answer)
    assert result.agreed and result.supporters == (0, 1)
    assert result.data == Answer(city="Paris", population=2100000)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"sources": []}, ValueError, "at least 2 sources"),
        ({"sources": say("a")}, ValueError, "at least 2 sources"),
        ({"strategy": "vote"}, ValueError, "strategy"),
        ({"strategy": "majorty"}, ValueError, "did you mean 'majority'"),
        ({"resolve": "merj"}, ValueError, "did you mean 'merge'"),
        ({"preset": "strikt"}, ValueError, "did you mean 'strict'"),
        ({"threshold": 0}, ValueError, "threshold"),
        ({"threshold": "high"}, TypeError, "threshold"),
        ({"weights": [1]}, ValueError, "weights has 1 entries"),
        ({"weights": [1, -1]}, ValueError, "weights must be numbers"),
        ({"strict": True}, TypeError, "need model="),
        ({"retry": 2}, TypeError, "retry"),
    ],
)
async def test_bad_input_is_rejected(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    sources = kwargs.pop("sources", say("a", "b"))
    with pytest.raises(error, match=message):
        await consensus(sources, **kwargs)
    assert all(s.calls == 0 for s in sources)
