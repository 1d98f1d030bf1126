"""consensus: resolution, similarity matrix, agreements, confidence, field-level consensus,
presets, quick_consensus; properties (unanimous implies majority; field-level agrees with the
whole object when every field agrees)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import l0
from l0.orchestration.consensus import (
    CONSENSUS_PRESETS,
    ConsensusOutput,
    consensus,
    decide,
    quick_consensus,
)
from l0.testing import ScriptedSource, tokens

pytestmark = pytest.mark.anyio


class Answer(BaseModel):
    city: str
    population: int
    country: str = "FR"


def say(*texts: str) -> list[ScriptedSource]:
    return [ScriptedSource(tokens(t)) for t in texts]


async def test_the_similarity_matrix_agreements_and_confidence() -> None:
    result = await consensus(say("Paris", "paris", "Lyon"))
    assert result.compared == (0, 1, 2)
    matrix = result.similarity_matrix
    assert [matrix[i][i] for i in range(3)] == [1.0, 1.0, 1.0]
    assert matrix[0][1] == 1.0 and matrix[0][2] == matrix[2][0] < 0.5
    assert [(i, j) for i, j, _ in result.agreements] == [(0, 1)]
    assert [(i, j) for i, j, _ in result.disagreements] == [(0, 2), (1, 2)]
    assert result.confidence == pytest.approx((1 + 1 + matrix[0][2]) / 3)


async def test_field_level_consensus_and_merge() -> None:
    sources = [
        ScriptedSource(['{"city": "Paris", "population": 2100000, "country": "FR"}']),
        ScriptedSource(['{"city": "Paris", "population": 2200000, "country": "FR"}']),
        ScriptedSource(['{"city": "Lyon", "population": 2200000, "country": "FR"}']),
    ]
    result = await consensus(sources, model=Answer, resolve="merge", threshold=0.99)
    city, population, country = (result.fields[k] for k in ("city", "population", "country"))
    assert (city.value, city.supporters, city.agreement) == ("Paris", (0, 1), pytest.approx(2 / 3))
    assert (population.value, population.supporters) == (2200000, (1, 2))
    assert country.unanimous and country.agreement == 1.0
    # No two whole objects are equal, yet every field has a majority: merge builds it.
    assert result.data == Answer(city="Paris", population=2200000, country="FR")
    assert result.resolution == "merge"


async def test_resolve_fail_raises_when_the_sources_disagree() -> None:
    with pytest.raises(l0.ContentError, match="did not agree"):
        await consensus(say("yes", "no"), resolve="fail")
    assert (await consensus(say("yes", "yes"), resolve="fail")).text == "yes"


async def test_resolve_best_takes_the_output_closest_to_all_others() -> None:
    result = await consensus(
        say("the cat sat", "the cat sat on the mat", "the cat sat on a mat"),
        resolve="best",
        threshold=1.0,
    )
    sums = [sum(row) for row in result.similarity_matrix]
    assert result.winner_index == sums.index(max(sums)) == 2
    assert not result.agreed  # picked, though no two outputs agree at 1.0


async def test_presets_and_explicit_arguments_win() -> None:
    strict = await consensus(say("a b", "A  b "), preset="strict")
    assert strict.strategy == "unanimous"
    with pytest.raises(l0.ContentError):
        await consensus(say("yes", "no"), preset="strict")
    lenient = await consensus(say("yes", "no"), preset="strict", resolve="vote")
    assert not lenient.agreed
    assert set(CONSENSUS_PRESETS) == {"strict", "standard", "lenient", "best"}


def test_quick_consensus() -> None:
    assert quick_consensus(["Paris.", "paris.", " PARIS. "])
    assert not quick_consensus(["Paris", "Lyon"])
    assert quick_consensus(["only one"])


# -- properties on finished outputs (decide() is pure) -----------------------------------------

_texts = st.lists(
    st.sampled_from(["yes", "Yes", "yes!", "no", "maybe", "yes."]), min_size=2, max_size=6
)


@settings(max_examples=200, deadline=None)
@given(texts=_texts, threshold=st.sampled_from([0.5, 0.8, 1.0]))
def test_property_unanimous_implies_majority(texts: list[str], threshold: float) -> None:
    outputs = [ConsensusOutput(i, t) for i, t in enumerate(texts)]
    weights = [1.0] * len(texts)
    unanimous = decide(outputs, weights, "unanimous", threshold)
    majority = decide(outputs, weights, "majority", threshold)
    if unanimous.agreed:
        assert majority.agreed and majority.agreement == 1.0


_objects = st.fixed_dictionaries(
    {"city": st.sampled_from(["Paris", "Lyon"]), "population": st.sampled_from([1, 2])}
)


@settings(max_examples=200, deadline=None)
@given(objects=st.lists(_objects, min_size=2, max_size=5))
def test_property_field_level_agrees_with_the_whole_object(objects: list[dict[str, Any]]) -> None:
    outputs = [
        ConsensusOutput(i, "", data=Answer(**o, country="FR")) for i, o in enumerate(objects)
    ]
    result = decide(outputs, [1.0] * len(objects), "majority", 1.0, model=Answer)
    if all(o == objects[0] for o in objects):
        assert result.agreement == 1.0 and result.agreed
        assert all(f.unanimous and f.agreement == 1.0 for f in result.fields.values())
        assert {k: f.value for k, f in result.fields.items()} == result.data.model_dump()
    for (
        name,
        f,
    ) in result.fields.items():  # a field's winner is at least as supported as the object's
        assert f.agreement >= result.agreement - 1e-9 or name not in result.data.model_dump()


@settings(max_examples=100, deadline=None)
@given(
    texts=st.lists(st.text("ab ", min_size=0, max_size=6), min_size=2, max_size=5),
    threshold=st.sampled_from([0.6, 0.8, 0.95]),
)
def test_property_a_unanimous_result_is_contained_in_the_majority_result(
    texts: list[str], threshold: float
) -> None:
    outputs = [ConsensusOutput(i, t) for i, t in enumerate(texts)]
    weights = [1.0] * len(texts)
    unanimous = decide(outputs, weights, "unanimous", threshold)
    majority = decide(outputs, weights, "majority", threshold)
    weighted = decide(outputs, weights, "weighted", threshold)
    if unanimous.agreed:
        # Every output agrees: majority and weighted agree too, on supporters that include
        # the unanimous ones (all of them), with full agreement.
        assert set(unanimous.supporters) == set(range(len(texts)))
        assert set(unanimous.supporters) <= set(majority.supporters)
        assert majority.agreed and weighted.agreed
        assert majority.agreement == 1.0 == weighted.agreement
