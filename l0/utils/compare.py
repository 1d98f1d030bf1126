"""String comparison helpers, thin wrappers over ``rapidfuzz`` (an optional dependency).

Each ``method`` is one rapidfuzz scorer, chosen by what is compared:

- ``"ratio"`` (default; ``fuzz.ratio``, normalised Indel similarity): whole texts where word
  order matters (two answers, two paragraphs);
- ``"token_set"`` (``fuzz.token_set_ratio``): texts whose words may come in any order or
  repeat ("New York pizza" vs "pizza in New York");
- ``"partial"`` (``fuzz.partial_ratio``): a short text inside a longer one (a quote in an
  answer);
- ``"jaro_winkler"`` (``distance.JaroWinkler``): short strings such as names, labels and
  enum values, forgiving typos and weighting a shared prefix;
- ``"levenshtein"`` (``distance.Levenshtein``, normalised): edit distance, every insert,
  delete and substitution counting 1.

Scores are floats from 0.0 to 1.0. With ``normalize=True`` (default) both texts are
case-folded and their whitespace collapsed first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

__all__ = [
    "Match",
    "best_match",
    "edit_distance",
    "is_similar",
    "load_rapidfuzz",
    "rank_matches",
    "similarity",
]

Method = Literal["ratio", "token_set", "partial", "jaro_winkler", "levenshtein"]
METHODS = ("ratio", "token_set", "partial", "jaro_winkler", "levenshtein")
_SPACE = re.compile(r"\s+")


def load_rapidfuzz() -> ModuleType:
    """The ``rapidfuzz`` package, or an ``ImportError`` naming the fix."""
    try:
        import rapidfuzz
        import rapidfuzz.distance
        import rapidfuzz.fuzz
        import rapidfuzz.process
    except ImportError as exc:
        raise ImportError(
            "l0 compares texts with rapidfuzz: pip install 'l0[all]' (or pip install rapidfuzz)"
        ) from exc
    return rapidfuzz


def _scorer(method: str) -> Callable[..., float]:
    """The rapidfuzz scorer of ``method``, returning 0-100."""
    if method not in METHODS:
        import difflib

        close = difflib.get_close_matches(str(method), METHODS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown method {method!r}{hint} (methods: {', '.join(METHODS)})")
    rf = load_rapidfuzz()
    scorers: dict[str, Callable[..., float]] = {
        "ratio": rf.fuzz.ratio,
        "token_set": rf.fuzz.token_set_ratio,
        "partial": rf.fuzz.partial_ratio,
        "jaro_winkler": lambda a, b, **kw: (
            100.0 * rf.distance.JaroWinkler.normalized_similarity(a, b)
        ),
        "levenshtein": lambda a, b, **kw: (
            100.0 * rf.distance.Levenshtein.normalized_similarity(a, b)
        ),
    }
    return scorers[method]


def _prep(normalize: bool) -> Callable[[str], str] | None:
    return (lambda s: _SPACE.sub(" ", s.casefold()).strip()) if normalize else None


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    return value


def similarity(a: str, b: str, *, method: Method = "ratio", normalize: bool = True) -> float:
    """How alike ``a`` and ``b`` are, from 0.0 to 1.0 (1.0 when equal, both empty included).

    Raises:
        TypeError: A non-string argument.
        ValueError: An unknown method (the closest one is named).
    """
    a, b = _text(a, "a"), _text(b, "b")
    scorer, prep = _scorer(method), _prep(normalize)
    if prep is not None:
        a, b = prep(a), prep(b)
    return 1.0 if a == b else float(scorer(a, b)) / 100.0


def is_similar(
    a: str, b: str, *, threshold: float = 0.8, method: Method = "ratio", normalize: bool = True
) -> bool:
    """Whether :func:`similarity` reaches ``threshold`` (0.0-1.0)."""
    _check_threshold(threshold)
    return similarity(a, b, method=method, normalize=normalize) >= threshold


@dataclass(frozen=True, slots=True)
class Match:
    """A candidate and its score.

    Attributes:
        choice: The candidate, as given.
        score: Its similarity to the query, 0.0-1.0.
        index: Its position among the choices.
    """

    choice: str
    score: float
    index: int


def rank_matches(
    query: str,
    choices: Iterable[str],
    *,
    limit: int | None = 5,
    threshold: float = 0.0,
    method: Method = "ratio",
    normalize: bool = True,
) -> list[Match]:
    """The choices most like ``query``, best first (ties keep the choices' order).

    Args:
        query: The text to look for.
        choices: Candidate strings.
        limit: At most this many (``None``: all).
        threshold: Leave out choices scoring below it (0.0-1.0).
        method: The scorer (see the module).
        normalize: Case-fold and collapse whitespace first.
    """
    query = _text(query, "query")
    if isinstance(choices, str):
        raise TypeError("choices must be a list of strings, not a str")
    items = [_text(c, f"choice {i}") for i, c in enumerate(choices)]
    _check_threshold(threshold)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be an int >= 1 or None, got {limit!r}")
    scorer = _scorer(method)
    found = load_rapidfuzz().process.extract(
        query,
        items,
        scorer=scorer,
        processor=_prep(normalize),
        limit=limit,
        score_cutoff=threshold * 100.0,
    )
    return [Match(choice, float(score) / 100.0, index) for choice, score, index in found]


def best_match(
    query: str,
    choices: Iterable[str],
    *,
    threshold: float = 0.0,
    method: Method = "ratio",
    normalize: bool = True,
) -> Match | None:
    """The choice most like ``query``, or ``None`` when none reaches ``threshold``."""
    found = rank_matches(
        query, choices, limit=1, threshold=threshold, method=method, normalize=normalize
    )
    return found[0] if found else None


def edit_distance(a: str, b: str) -> int:
    """The Levenshtein distance: inserts, deletes and substitutions turning ``a`` into ``b``."""
    a, b = _text(a, "a"), _text(b, "b")
    return int(load_rapidfuzz().distance.Levenshtein.distance(a, b))


def _check_threshold(threshold: float) -> None:
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, float))
        or not (0.0 <= threshold <= 1.0)
    ):
        raise ValueError(f"threshold must be between 0.0 and 1.0, got {threshold!r}")
