"""How alike outputs are, and what they agree on: the pure half of :func:`l0.consensus`.

Similarity comes from ``rapidfuzz`` (no hand-written string distance), picked per use:

- whole answers (:func:`text_similarity`): the normalised Indel similarity
  (``rapidfuzz.fuzz.ratio``) of the case-folded, whitespace-collapsed texts: order-sensitive,
  so two answers that say different things with the same words do not look equal;
- short strings inside structured values (at most 32 characters: names, labels, enum-like
  values): Jaro-Winkler (``rapidfuzz.distance.JaroWinkler``), forgiving small typos at the end
  and weighting the shared prefix; longer strings inside values use the Indel ratio;
- structured values (:func:`value_similarity`), compared as JSON: objects by the mean over the
  union of their keys (a missing key scores 0), arrays position by position over the longer
  length, numbers, booleans and ``null`` by equality (``1 == 1.0``, ``True != 1``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from l0.utils.compare import load_rapidfuzz

__all__ = [
    "FieldConsensus",
    "field_consensus",
    "normalise",
    "quick_consensus",
    "similarity_matrix",
    "text_similarity",
    "value_similarity",
]

_SPACE = re.compile(r"\s+")
_SHORT = 32


def _rapidfuzz() -> tuple[ModuleType, Any]:
    """``rapidfuzz.fuzz`` and ``rapidfuzz.distance.JaroWinkler`` (an optional dependency)."""
    rapidfuzz = load_rapidfuzz()
    return rapidfuzz.fuzz, rapidfuzz.distance.JaroWinkler


def normalise(text: str) -> str:
    """Case-folded, whitespace-collapsed, trimmed ``text`` (what :func:`text_similarity`
    compares)."""
    return _SPACE.sub(" ", text.casefold()).strip()


def text_similarity(a: str, b: str) -> float:
    """How alike two answers are, from 0.0 to 1.0 (normalised Indel similarity of the
    :func:`normalise`-d texts; 1.0 when they are equal, including both empty)."""
    na, nb = normalise(a), normalise(b)
    if na == nb:
        return 1.0
    fuzz, _ = _rapidfuzz()
    return float(fuzz.ratio(na, nb)) / 100.0


def _scalar(a: Any, b: Any) -> float:
    if isinstance(a, str) and isinstance(b, str):
        if a == b:
            return 1.0
        if max(len(a), len(b)) <= _SHORT:
            _, jaro_winkler = _rapidfuzz()
            return float(jaro_winkler.normalized_similarity(a.casefold(), b.casefold()))
        return text_similarity(a, b)
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return 1.0 if type(a) is type(b) and a == b else 0.0
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return 1.0 if a == b else 0.0
    return 0.0


def value_similarity(a: Any, b: Any) -> float:
    """How alike two JSON-like values are, from 0.0 to 1.0 (see the module docstring)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        keys = set(a) | set(b)
        if not keys:
            return 1.0
        return sum(value_similarity(a[k], b[k]) if k in a and k in b else 0.0 for k in keys) / len(
            keys
        )
    if _is_list(a) and _is_list(b):
        n = max(len(a), len(b))
        if n == 0:
            return 1.0
        return sum(value_similarity(x, y) for x, y in zip(a, b, strict=False)) / n
    if isinstance(a, (Mapping, list, tuple)) or isinstance(b, (Mapping, list, tuple)):
        return 0.0
    return _scalar(a, b)


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def similarity_matrix(values: Sequence[Any], *, structured: bool) -> list[list[float]]:
    """The symmetric matrix of pairwise similarities (1.0 on the diagonal)."""
    n = len(values)
    matrix = [[1.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            a, b = values[i], values[j]
            score = value_similarity(a, b) if structured else text_similarity(a, b)
            matrix[i][j] = matrix[j][i] = score
    return matrix


def quick_consensus(outputs: Sequence[str], *, threshold: float = 0.8) -> bool:
    """Whether every pair of ``outputs`` is at least ``threshold`` alike (by
    :func:`text_similarity`); True for fewer than two outputs.

    Example:
        >>> quick_consensus(["Paris.", "paris"], threshold=0.8)
        True
    """
    matrix = similarity_matrix(list(outputs), structured=False)
    return all(score >= threshold for row in matrix for score in row)


@dataclass(frozen=True, slots=True)
class FieldConsensus:
    """What the outputs agree on for one field of a structured answer.

    Attributes:
        name: The field (a top-level key of the outputs' JSON objects).
        value: The value with the largest (weighted) support; ``None`` when no output has it.
        agreement: The (weighted) share of outputs giving exactly ``value``, 0.0 to 1.0.
        supporters: Positions of the outputs giving ``value``.
        unanimous: Whether every output gives ``value``.
    """

    name: str
    value: Any
    agreement: float
    supporters: tuple[int, ...]
    unanimous: bool


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def field_consensus(
    objects: Sequence[tuple[int, Mapping[str, Any]]], weights: Mapping[int, float]
) -> dict[str, FieldConsensus]:
    """Per field of ``objects`` (``(position, JSON object)`` pairs): the value most (weighted)
    outputs give exactly (ties: the earlier output), its agreement and supporters. A field
    missing from an output counts against every value."""
    total = sum(weights[i] for i, _ in objects) or float(len(objects))
    names: dict[str, None] = {}
    for _, obj in objects:
        names.update(dict.fromkeys(obj))
    out: dict[str, FieldConsensus] = {}
    for name in names:
        groups: dict[str, list[int]] = {}
        values: dict[str, Any] = {}
        for index, obj in objects:
            if name in obj:
                key = _canonical(obj[name])
                groups.setdefault(key, []).append(index)
                values.setdefault(key, obj[name])
        key = max(groups, key=lambda k: (sum(weights[i] for i in groups[k]), -groups[k][0]))
        support = sum(weights[i] for i in groups[key]) if total else len(groups[key])
        out[name] = FieldConsensus(
            name=name,
            value=values[key],
            agreement=support / total if total else 0.0,
            supporters=tuple(groups[key]),
            unanimous=len(groups[key]) == len(objects),
        )
    return out
