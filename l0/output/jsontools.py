"""Public JSON helpers: :func:`extract_json`, :func:`repair_json`, :func:`parse_or_repair`.

They share :func:`l0.auto_correct_json` (l0's string-aware repair pass, linear in the input,
with the ``json-repair`` package as the last resort for single quotes, Python literals and
unquoted keys) and one promise: **the right value or an error, never a wrong value**. What is
never taken for the answer: a draft inside a reasoning block (``<think>…</think>``), the
inside of a fence in another language (```` ```python ````), prose without a document.

``json-repair`` alone turns any text into *some* JSON (``"hello"`` becomes ``""``), which is
why it is only the last resort here, on the candidate document, for a container result.
"""

from __future__ import annotations

import json
from typing import Any

from l0.errors import StructuredOutputError
from l0.utils.auto_correct import AutoCorrectResult, auto_correct_json

__all__ = ["extract_json", "parse_or_repair", "repair_json"]

# Corrections that only cut the document out of its surroundings (no edit inside it).
_EXTRACTION = frozenset({"strip_markdown_fence", "remove_prefix_text", "remove_suffix_text"})


def _fail(what: str, text: str, fixed: AutoCorrectResult) -> StructuredOutputError:
    preview = text[:60] + ("…" if len(text) > 60 else "")
    tried = f" (tried: {', '.join(fixed.corrections)})" if fixed.corrections else ""
    return StructuredOutputError(
        f"{what}: no JSON document in {preview!r}{tried}; if the text is JSON with more "
        "damage, ask the model again (l0.structured retries with the validation errors)",
        raw=text,
        corrections=fixed.corrections,
    )


def _check(text: object, name: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{name} expects str, got {type(text).__name__}")
    return text


def extract_json(text: str) -> str:
    """The JSON document inside ``text``, cut out of fences, prose and reasoning blocks.

    The document itself must already be valid JSON (use :func:`repair_json` to also repair
    it). The returned text is a slice of ``text`` (stripped of surrounding whitespace).

    Example:
        >>> extract_json('Sure:\\n```json\\n{"a": 1}\\n```')
        '{"a": 1}'

    Raises:
        l0.StructuredOutputError: No valid JSON document in ``text``.
        TypeError: ``text`` is not a ``str``.
    """
    fixed = auto_correct_json(_check(text, "extract_json"))
    if fixed.valid and _EXTRACTION.issuperset(fixed.corrections):
        return fixed.text.strip()
    if fixed.valid:
        raise StructuredOutputError(
            "extract_json: the JSON document needs repair "
            f"({', '.join(c for c in fixed.corrections if c not in _EXTRACTION)}); "
            "use l0.repair_json or l0.parse_or_repair",
            raw=text,
            corrections=fixed.corrections,
        )
    raise _fail("extract_json", text, fixed)


def repair_json(text: str) -> str:
    """``text`` as valid JSON: extracted (as :func:`extract_json`) and repaired (truncation,
    trailing commas, comments, raw newlines in strings, single quotes, Python literals).

    Example:
        >>> repair_json('{"a": [1, 2,')
        '{"a": [1, 2]}'

    Raises:
        l0.StructuredOutputError: ``text`` holds no document l0 can repair without guessing.
        TypeError: ``text`` is not a ``str``.
    """
    fixed = auto_correct_json(_check(text, "repair_json"))
    if fixed.valid:
        return fixed.text.strip()
    raise _fail("repair_json", text, fixed)


def parse_or_repair(text: str) -> Any:
    """The value of ``text``: parsed as JSON, else extracted and repaired, then parsed.

    Example:
        >>> parse_or_repair("```json\\n{'ok': True}\\n```")
        {'ok': True}

    Raises:
        l0.StructuredOutputError: ``text`` holds no document l0 can repair without guessing.
        TypeError: ``text`` is not a ``str``.
    """
    return json.loads(repair_json(_check(text, "parse_or_repair")))
