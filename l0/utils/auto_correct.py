"""Repair the JSON a model wrote: fences, prose, comments, truncation, trailing commas.

:func:`auto_correct_json` never touches the inside of a string: one tokenizer walks the text,
knows at every character whether it is inside a string, and only edits structure outside
strings. Valid JSON is returned unchanged (it is parsed first). The repairs, each reported
by its label in :attr:`AutoCorrectResult.corrections`:

- ``strip_markdown_fence``: the JSON is inside a ```` ``` ```` / ```` ```json ```` fence.
- ``remove_prefix_text`` / ``remove_suffix_text``: prose before the first ``{``/``[`` or after
  the document closes.
- ``remove_comments``: ``//`` and ``/* */`` comments outside strings.
- ``remove_trailing_comma``: a comma right before ``}``/``]`` or at the end.
- ``escape_control_chars``: raw newlines/tabs inside strings.
- ``close_string``, ``drop_incomplete_value``, ``drop_dangling_key``, ``close_brace``,
  ``close_bracket``: a truncated document is closed. The innermost open structure is closed
  first; an unfinished string keeps its text; a cut literal (``tru``) or a key without a value
  is dropped; a cut number keeps its valid prefix (``1.`` -> ``1``).
- ``json_repair``: the last resort, when the ``json-repair`` package is installed and the
  steps above did not give valid JSON (single quotes, Python literals, unquoted keys). Only the
  candidate document is handed to it, only when it is at most 20,000 characters and nested at
  most 64 deep (the package is super-linear on adversarial text), and only a container result
  is accepted.

What is never taken for the answer: a draft inside a reasoning block (``<think>...</think>``,
``<thinking>``, ``<reasoning>``; an unclosed block hides everything after it), and the inside
of a fence labelled with another language (```` ```python ````). A fence's closing ```` ``` ````
ends the document only outside a string, so a string containing backticks is kept whole.

Cost: linear in the input (a few passes); a document nested deeper than 512 levels is
refused (``valid=False``) rather than repaired, as no JSON parser here would read it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import orjson

from l0.utils.repair_pass import RepairPass, TooDeepError, has_prose

__all__ = ["AutoCorrectResult", "auto_correct_json", "close_partial_json", "parses_as_json"]

# An opening fence and its language; JSON fences are the ones without a language or with one
# of _JSON_LANGS. Other fences (```python) are skipped: their braces are not the answer.
_LABELLED_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]+)")
_MAX_HIDDEN = 1000
_JSON_LANGS = frozenset({"", "json", "json5", "jsonc", "javascript", "js"})
_REASONING = re.compile(r"<(think|thinking|reasoning)>", re.IGNORECASE)
_REPAIR_LIB_MAX_CHARS = 20_000
_REPAIR_LIB_MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class AutoCorrectResult:
    """What :func:`auto_correct_json` did.

    Attributes:
        text: The corrected text (the input itself when nothing was needed).
        corrections: The repairs applied, in order (empty when the input was valid).
        valid: Whether ``text`` parses as JSON.
    """

    text: str
    corrections: tuple[str, ...]
    valid: bool


def parses_as_json(text: str) -> bool:
    """True when ``text`` is one JSON document (orjson first; the stdlib for what orjson
    refuses but JSON allows: integers beyond 64 bits, escaped lone surrogates)."""
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc):
            return False  # nested beyond what any parser here reads (the stdlib would recurse)
        try:
            json.loads(text)
        except (ValueError, RecursionError):
            return False
    return True


_parses = parses_as_json


def auto_correct_json(text: str) -> AutoCorrectResult:
    """Repair ``text`` into JSON where possible (see the module docstring).

    Raises:
        TypeError: ``text`` is not a ``str``.
    """
    if not isinstance(text, str):
        raise TypeError(f"auto_correct_json expects str, got {type(text).__name__}")
    if _parses(text):
        return AutoCorrectResult(text, (), True)
    hidden = _hidden_regions(text)
    first: tuple[str, list[str]] | None = None
    consumed = 0  # a start inside an earlier candidate's document is not a document
    for start, fenced in _starts(text, hidden):
        if start < consumed:
            continue
        fixes = ["strip_markdown_fence"] if fenced else []
        if has_prose(text[:start]):
            fixes.append("remove_prefix_text")
        try:
            repair = RepairPass(text, start, fixes)
            out = repair.run()
            consumed = repair.i
        except TooDeepError:
            return AutoCorrectResult(text, ("too_deep",), False)
        if _parses(out):
            return AutoCorrectResult(out, tuple(dict.fromkeys(fixes)), True)
        first = first or (text[start:], fixes)
    if first is None:
        return AutoCorrectResult(text, (), False)
    return _last_resort(*first)


def close_partial_json(text: str) -> str | None:
    """The JSON document a still-streaming ``text`` holds so far, closed into valid JSON, or
    ``None`` while there is none to show.

    The document is chosen as :func:`auto_correct_json` chooses it (outside reasoning blocks
    and fences in other languages, a fence ending it only outside a string), so a partial
    object shown while streaming is a prefix of the final answer's document, never a draft.
    Unfinished strings keep their text; a cut key or literal is dropped. Only the structural
    repairs are used (not ``json-repair``, whose guesses on a cut document are not a prefix
    of anything). Linear in ``text``.
    """
    if _parses(text):
        return text
    hidden = _hidden_regions(text)
    consumed = 0
    for start, _fenced in _starts(text, hidden):
        if start < consumed:
            continue
        try:
            repair = RepairPass(text, start, [])
            out = repair.run()
        except TooDeepError:
            return None
        consumed = repair.i
        if _parses(out):
            return out
    return None


def _hidden_regions(text: str) -> list[tuple[int, int]]:
    """Sorted, disjoint spans that never hold the answer: reasoning blocks and fences in
    other languages (one pass each)."""
    lower = text.lower()
    blocks: list[tuple[int, int]] = []
    for m in _REASONING.finditer(text):
        if blocks and m.start() < blocks[-1][1]:
            continue
        tag = f"</{m.group(1).lower()}>"
        close = lower.find(tag, m.end())
        blocks.append((m.start(), len(text) if close == -1 else close + len(tag)))
        if close == -1:
            break
    spans: list[tuple[int, int]] = []
    pos = b = 0
    while (f := _LABELLED_FENCE.search(text, pos)) is not None:
        while b < len(blocks) and blocks[b][1] <= f.start():
            spans.append(blocks[b])
            b += 1
        if b < len(blocks) and blocks[b][0] <= f.start():
            pos = blocks[b][1]  # a fence inside a reasoning block is part of the block
            continue
        pos = f.end()
        if len(spans) >= _MAX_HIDDEN:
            spans.append((f.start(), len(text)))  # beyond reason: hide the rest, fail closed
            break
        if f.group(1).lower() not in _JSON_LANGS:
            close = text.find("```", f.end())
            pos = len(text) if close == -1 else close + 3
            spans.append((f.start(), pos))
    return spans + blocks[b:]


# A "{" or "[" that can open JSON: not followed by a word (prose like "[the result]" or
# "{name}") unless the word is a JSON literal or its cut prefix ("tr"), or a key ("{a: 1}").
_START = re.compile(
    r"[{\[](?=\s*(?:[^\sA-Za-z_]|\Z|(?:t(?:r(?:ue?)?)?|f(?:a(?:l(?:se?)?)?)?|n(?:u(?:ll?)?)?)"
    r"(?![A-Za-z_])|[A-Za-z_]\w*\s*:))"
)
_MAX_STARTS = 4  # candidate document starts tried before the last resort
# A fence marker as markdown writes one: at the start of the text or after whitespace. Three
# backticks right after a quote or a letter are inside a string ({"```": 1}), not a fence.
_OPEN_FENCE = re.compile(r"(?<!\S)```")


def _starts(text: str, hidden: list[tuple[int, int]]) -> list[tuple[int, bool]]:
    """Where the document may start: the first few ``{``/``[`` that can open JSON, outside
    hidden regions, with whether each is inside a fence (fenced ones first)."""
    found: list[tuple[int, bool]] = []
    h = 0
    for m in _START.finditer(text):
        i = m.start()
        while h < len(hidden) and hidden[h][1] <= i:
            h += 1
        if h < len(hidden) and hidden[h][0] <= i:
            continue
        found.append((i, len(_OPEN_FENCE.findall(text, 0, i)) % 2 == 1))
        if len(found) == _MAX_STARTS:
            break
    return sorted(found, key=lambda s: not s[1])


def _depth(text: str) -> int:
    """The deepest bracket nesting of ``text`` (strings not excluded: an upper bound)."""
    depth = top = 0
    for ch in re.findall(r"[{}\[\]]", text):
        depth = depth + 1 if ch in "{[" else max(depth - 1, 0)
        top = max(top, depth)
    return top


def _last_resort(text: str, fixes: list[str]) -> AutoCorrectResult:
    """``json-repair`` on the candidate document, within its safe size and depth."""
    if len(text) > _REPAIR_LIB_MAX_CHARS or _depth(text) > _REPAIR_LIB_MAX_DEPTH:
        return AutoCorrectResult(text, tuple(dict.fromkeys(fixes)), False)
    try:
        from json_repair import repair_json
    except ImportError:
        return AutoCorrectResult(text, tuple(dict.fromkeys(fixes)), False)
    try:
        repaired = repair_json(text, skip_json_loads=True)
    except (ValueError, RecursionError, IndexError, TypeError, KeyError, AttributeError):
        repaired = None  # the package gave up on this input: nothing to offer
    if (
        isinstance(repaired, str)
        and repaired[:1] in ("{", "[")
        and repaired not in ("{}", "[]")
        and _parses(repaired)
    ):
        fixes.append("json_repair")
        return AutoCorrectResult(repaired, tuple(dict.fromkeys(fixes)), True)
    return AutoCorrectResult(text, tuple(dict.fromkeys(fixes)), False)
