"""Hypothesis strategies for JSON documents, and a serializer that records where each value
ends (to define the "complete prefix" of a truncated document)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)
documents = st.lists(values, max_size=5) | st.dictionaries(st.text(max_size=8), values, max_size=5)
"""Root containers (what json_rule and auto-correct treat as JSON output)."""

styles = st.fixed_dictionaries(
    {
        "ensure_ascii": st.booleans(),
        "indent": st.sampled_from([None, 0, 2]),
        "compact": st.booleans(),
    }
)


def dumps(value: Any, style: dict[str, Any]) -> str:
    """``json.dumps`` in one of several layouts."""
    seps = (",", ":") if style["compact"] else None
    return json.dumps(
        value, ensure_ascii=style["ensure_ascii"], indent=style["indent"], separators=seps
    )


def spans(value: Any, style: dict[str, Any]) -> tuple[str, list[tuple[tuple[Any, ...], int, Any]]]:
    """Serialize ``value`` like :func:`dumps` (compact, no indent) and record, for every node,
    ``(path, end, value)`` where ``end`` is the offset just after the node's text."""
    out: list[str] = []
    nodes: list[tuple[tuple[Any, ...], int, Any]] = []
    ascii_ = style["ensure_ascii"]

    def emit(v: Any, path: tuple[Any, ...]) -> None:
        if isinstance(v, dict):
            out.append("{")
            for i, (k, item) in enumerate(v.items()):
                if i:
                    out.append(",")
                out.append(json.dumps(k, ensure_ascii=ascii_) + ":")
                emit(item, (*path, k))
            out.append("}")
        elif isinstance(v, list):
            out.append("[")
            for i, item in enumerate(v):
                if i:
                    out.append(",")
                emit(item, (*path, i))
            out.append("]")
        else:
            out.append(json.dumps(v, ensure_ascii=ascii_))
        nodes.append((path, sum(map(len, out)), v))

    emit(value, ())
    return "".join(out), nodes


def get(value: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        value = value[p]
    return value


def complete_nodes(text: str, nodes: list[tuple[tuple[Any, ...], int, Any]], cut: int):
    """The nodes whose text lies wholly inside ``text[:cut]``.

    Definition of the *complete prefix*: a string, ``true``/``false``/``null``, object or
    array is complete when its last character (closing quote, last letter, closing bracket)
    is before the cut; a number only when a character follows it before the cut (``12`` cut
    from ``123`` cannot be told apart from a complete ``12``).
    """
    for path, end, v in nodes:
        is_number = isinstance(v, (int, float)) and not isinstance(v, bool)
        if end < cut or (end == cut and not is_number):
            yield path, v


def consistent(repaired: Any, original: Any) -> bool:
    """``repaired`` invents nothing: keys and items exist in ``original``, strings are
    prefixes, literals equal, numbers are numbers (a cut number may be shorter)."""
    if isinstance(original, dict):
        return isinstance(repaired, dict) and all(
            k in original and consistent(v, original[k]) for k, v in repaired.items()
        )
    if isinstance(original, list):
        return (
            isinstance(repaired, list)
            and len(repaired) <= len(original)
            and all(consistent(a, b) for a, b in zip(repaired, original, strict=False))
        )
    if isinstance(original, str):
        return isinstance(repaired, str) and original.startswith(repaired)
    if isinstance(original, bool) or original is None:
        return repaired is original
    return isinstance(repaired, (int, float)) and not isinstance(repaired, bool)
