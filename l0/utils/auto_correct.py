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
  steps above did not give valid JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import orjson

__all__ = ["AutoCorrectResult", "auto_correct_json", "parses_as_json"]

_FENCE = re.compile(r"```[ \t]*(?:json5?|JSON|javascript|js)?[ \t]*\r?\n?")
_NUMBER_PREFIX = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_LITERALS = ("true", "false", "null")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


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
    except orjson.JSONDecodeError:
        try:
            json.loads(text)
        except ValueError:
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
    base: list[str] = []
    body = _unfence(text, base)
    first: tuple[str, list[str]] | None = None
    for start in _starts(body):
        fixes = list(base)
        if body[:start].strip():
            fixes.append("remove_prefix_text")
        out = _Repair(body, start, fixes).run()
        if _parses(out):
            return AutoCorrectResult(out, tuple(dict.fromkeys(fixes)), True)
        first = first or (out, fixes)
    if first is None:
        return _last_resort(body.strip(), base)
    return _last_resort(*first)


def _unfence(text: str, fixes: list[str]) -> str:
    m = _FENCE.search(text)
    if m is None or any(c in text[: m.start()] for c in "{["):
        return text  # no fence, or a fence inside the document (e.g. in a string)
    end = text.find("```", m.end())
    fixes.append("strip_markdown_fence")
    if text[: m.start()].strip():
        fixes.append("remove_prefix_text")
    if end == -1:
        return text[m.end() :]
    if text[end + 3 :].strip():
        fixes.append("remove_suffix_text")
    return text[m.end() : end]


_WORD = re.compile(r"[A-Za-z_]+")
_MAX_STARTS = 4  # candidate document starts tried before the last resort


def _starts(text: str) -> list[int]:
    """Where the document may start: the first few ``{``/``[`` that can open JSON."""
    found: list[int] = []
    for m in re.finditer(r"[{\[]", text):
        i = m.start()
        word = _WORD.match(
            text, i + 1 + len(text[i + 1 : i + 64]) - len(text[i + 1 : i + 64].lstrip())
        )
        if word and not any(lit.startswith(word.group(0)) for lit in _LITERALS):
            continue  # "[the result]" or "{name}" in prose, not JSON
        found.append(i)
        if len(found) == _MAX_STARTS:
            break
    return found


def _last_resort(text: str, fixes: list[str]) -> AutoCorrectResult:
    try:
        from json_repair import repair_json
    except ImportError:
        return AutoCorrectResult(text, tuple(dict.fromkeys(fixes)), False)
    repaired = repair_json(text, skip_json_loads=True)
    if isinstance(repaired, str) and repaired and _parses(repaired):
        fixes.append("json_repair")
        return AutoCorrectResult(repaired, tuple(dict.fromkeys(fixes)), True)
    return AutoCorrectResult(text, tuple(dict.fromkeys(fixes)), False)


class _Repair:
    """One pass over the document; edits only outside strings."""

    def __init__(self, text: str, start: int, fixes: list[str]) -> None:
        self.text = text
        self.i = start
        self.fixes = fixes
        self.out: list[str] = []
        self.stack: list[str] = []  # "{" / "["
        # For each open object: True while a key was written without its value yet.
        self.expect_value: list[bool] = []
        self.item_start: list[int] = []  # len(out) where the current member/item begins

    def run(self) -> str:
        text, n = self.text, len(self.text)
        while self.i < n:
            ch = text[self.i]
            if ch == '"':
                if not self._string():
                    return self._close()
                continue
            if ch == "/" and self._comment():
                continue
            if ch in "{[":
                self.stack.append(ch)
                self.out.append(ch)
                self.item_start.append(len(self.out))
            elif ch in "}]":
                self._close_one(ch)
                if not self.stack:
                    self.i += 1
                    if text[self.i :].strip():
                        self.fixes.append("remove_suffix_text")
                    return "".join(self.out)
            elif ch == ",":
                self.out.append(ch)
                if self.item_start:
                    self.item_start[-1] = len(self.out)
            else:
                self.out.append(ch)
            self.i += 1
        return self._close()

    def _string(self) -> bool:
        """Copy one string (escaping raw control characters); False if it never closes."""
        text, i, n = self.text, self.i + 1, len(self.text)
        parts = ['"']
        while i < n:
            ch = text[i]
            if ch == "\\":
                size = _escape_size(text, i)
                if size == 0:
                    break  # an escape cut short (or a lone high surrogate) at the end: drop it
                parts.append(text[i : i + size])
                i += size
                continue
            if ch == '"':
                parts.append('"')
                self.out.append("".join(parts))
                self.i = i + 1
                return True
            if ch in _ESCAPES or ord(ch) < 0x20:
                parts.append(_ESCAPES.get(ch) or f"\\u{ord(ch):04x}")
                self.fixes.append("escape_control_chars")
            else:
                parts.append(ch)
            i += 1
        self.fixes.append("close_string")
        parts.append('"')
        self.out.append("".join(parts))
        self.i = n
        return False

    def _comment(self) -> bool:
        text, i = self.text, self.i
        nxt = text[i + 1 : i + 2]
        if nxt == "/":
            end = text.find("\n", i)
            self.i = len(text) if end == -1 else end
        elif nxt == "*":
            end = text.find("*/", i + 2)
            self.i = len(text) if end == -1 else end + 2
        else:
            return False
        self.fixes.append("remove_comments")
        return True

    def _close_one(self, ch: str) -> None:
        self._drop_trailing_comma()
        if self.stack and self.stack[-1] == ("{" if ch == "}" else "["):
            self.stack.pop()
            self.item_start.pop()
            self.out.append(ch)
        # a stray closer that matches nothing open is dropped

    def _drop_trailing_comma(self) -> None:
        out = self.out
        j = len(out) - 1
        while j >= 0 and not out[j].strip():
            j -= 1
        if j >= 0 and out[j] == ",":
            del out[j]
            self.fixes.append("remove_trailing_comma")
            if self.item_start:
                self.item_start[-1] = min(self.item_start[-1], len(out))

    def _close(self) -> str:
        """The text ended inside the document: finish the last item, close in reverse."""
        self._finish_item()
        while self.stack:
            opener = self.stack.pop()
            self.item_start.pop()
            self._drop_trailing_comma()
            self.out.append("}" if opener == "{" else "]")
            self.fixes.append("close_brace" if opener == "{" else "close_bracket")
            self._finish_item_after_close()
        return "".join(self.out)

    def _finish_item(self) -> None:
        """Make the last member of the innermost open structure valid, or drop it."""
        if not self.stack:
            return
        start = self.item_start[-1]
        item = "".join(self.out[start:]).strip()
        if not item:
            return
        fixed = _complete_item(item, in_object=self.stack[-1] == "{")
        if fixed == item:
            return
        del self.out[start:]
        if fixed is None:
            self.fixes.append(
                "drop_dangling_key" if self.stack[-1] == "{" else "drop_incomplete_value"
            )
            self._drop_trailing_comma()
        else:
            self.fixes.append("drop_incomplete_value")
            self.out.append(fixed)

    def _finish_item_after_close(self) -> None:
        """A closed child is a complete value: nothing to drop in the parent."""


def _complete_item(item: str, *, in_object: bool) -> str | None:
    """A member (``"k": v``) or item (``v``) cut short: the valid part, or None to drop it."""
    value = item
    if in_object:
        key, sep, value = _split_member(item)
        if key is None:
            return None
        if not sep or not value.strip():
            return None  # a key without its value
        head = f"{key}{sep}"
    else:
        head = ""
    v = value.strip()
    if not v or v[0] in '"{[':
        return item  # strings were closed already, containers close themselves
    if v[0].isalpha():
        return item if v in _LITERALS else None
    m = _NUMBER_PREFIX.match(v)
    if m is None:
        return None
    return head + value[: len(value) - len(value.lstrip())] + m.group(0)


def _split_member(item: str) -> tuple[str | None, str, str]:
    """``'"k": v'`` -> (``'"k"'``, ``':'``, ``' v'``); the key must be a complete string."""
    if not item.startswith('"'):
        return None, "", ""
    try:
        key_end = _string_end(item)
    except ValueError:
        return None, "", ""
    rest = item[key_end:]
    colon = rest.find(":")
    if colon == -1:
        return item[:key_end], "", ""
    return item[:key_end], rest[: colon + 1], rest[colon + 1 :]


_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_CUT_ESCAPE = re.compile(r"(?:\\(?:u[0-9a-fA-F]{0,3})?)?\Z")


def _escape_size(text: str, i: int) -> int:
    """Length of the escape at ``text[i]`` (a backslash); 0 when the text ends inside it, or
    right after a high surrogate whose low half was cut off."""
    n = len(text)
    if i + 1 >= n:
        return 0
    if text[i + 1] != "u":
        return 2
    if not _HEX4.fullmatch(text, i + 2, i + 6):
        return 0 if i + 6 > n else 2
    if 0xD800 <= int(text[i + 2 : i + 6], 16) <= 0xDBFF and _CUT_ESCAPE.fullmatch(
        text, i + 6, i + 12
    ):
        return 0  # the text ends before the low surrogate's escape is complete
    return 6


def _string_end(text: str) -> int:
    i = 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i + 1
        i += 1
    raise ValueError("unterminated")
