"""l0.compare: thin rapidfuzz helpers, one scorer per method."""

from __future__ import annotations

from typing import Any

import pytest
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler, Levenshtein

import l0
from l0.compare import (
    Match,
    best_match,
    edit_distance,
    is_similar,
    rank_matches,
    similarity,
    values_similarity,
)


@pytest.mark.parametrize(
    ("method", "a", "b", "expected"),
    [
        ("ratio", "the cat sat", "the cat sits", fuzz.ratio("the cat sat", "the cat sits") / 100),
        ("token_set", "New York pizza", "pizza in  NEW york", 1.0),
        ("partial", "cat sat", "the cat sat on the mat", 1.0),
        ("jaro_winkler", "colour", "color", JaroWinkler.normalized_similarity("colour", "color")),
        (
            "levenshtein",
            "kitten",
            "sitting",
            Levenshtein.normalized_similarity("kitten", "sitting"),
        ),
    ],
)
def test_each_method_is_its_rapidfuzz_scorer(method: Any, a: str, b: str, expected: float) -> None:
    assert similarity(a, b, method=method) == pytest.approx(expected)


def test_normalisation_and_edge_cases() -> None:
    assert similarity("Hello   World", "hello world") == 1.0
    assert similarity("Hello", "hello", normalize=False) < 1.0
    assert similarity("", "") == 1.0 and similarity("abc", "") == 0.0
    assert similarity("the answer is yes", "yes is the answer") < 0.8  # order matters
    assert similarity("the answer is yes", "yes is the answer", method="token_set") == 1.0
    assert is_similar("the answer is 42", "The answer is 42.", threshold=0.9)
    assert not is_similar("the answer is 42", "no idea", threshold=0.5)
    assert edit_distance("kitten", "sitting") == 3 and edit_distance("", "ab") == 2


def test_rank_and_best_match() -> None:
    choices = ["grape", "apple", "maple", "apply"]
    ranked = rank_matches("aple", choices, limit=None)
    assert [m.choice for m in ranked] == ["apple", "maple", "grape", "apply"]
    assert ranked[0] == Match("apple", pytest.approx(8 / 9), 1)
    assert [m.choice for m in rank_matches("aple", choices, limit=2)] == ["apple", "maple"]
    assert [m.choice for m in rank_matches("aple", choices, threshold=0.8)] == ["apple", "maple"]
    best = best_match("colour", ["flavour", "color"], method="jaro_winkler", threshold=0.9)
    assert best is not None and (best.choice, best.index) == ("color", 1)
    assert best_match("zzz", choices, threshold=0.5) is None
    assert best_match("x", []) is None


def test_values_are_compared_as_json() -> None:
    assert values_similarity({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1.0}) == 1.0
    assert values_similarity({"a": 1}, {"a": 1, "b": 2}) == 0.5
    assert l0.compare.similarity is similarity


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: similarity("a", "b", method="token_sort"), ValueError, "'token_set'"),
        (lambda: similarity("a", 1), TypeError, "b must be a str"),
        (lambda: is_similar("a", "b", threshold=80), ValueError, "between 0.0 and 1.0"),
        (lambda: rank_matches("a", "abc"), TypeError, "not a str"),
        (lambda: rank_matches("a", ["a", 2]), TypeError, "choice 1 must be a str"),
        (lambda: rank_matches("a", ["a"], limit=0), ValueError, "limit"),
    ],
)
def test_bad_input_names_the_fix(call: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()
