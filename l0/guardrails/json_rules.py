"""JSON rules: an incremental structure scanner and a strict completion check.

:class:`JsonRule` decides once, on the first non-blank character, whether the output is a JSON
document (``{`` or ``[``). Plain text makes it inactive until ``reset()``: one check per call.
In JSON mode it feeds each delta to a string-aware scanner that visits only structural
characters (found by a compiled regex, so the per-character work runs in C), keeping a stack
of open delimiters. Every character is seen exactly once, whatever the chunking: a valid
document never raises a violation while it streams.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import orjson

from l0.guardrails.hooks import Violation
from l0.guardrails.rules import NO_VIOLATIONS, BaseRule, SeverityLike

if TYPE_CHECKING:
    from l0.types import State

__all__ = ["JsonRule", "StrictJsonRule", "json_rule", "strict_json_rule"]

_STRUCTURAL = re.compile(r'["\\{}\[\],:]')
_CLOSER = {"}": "{", "]": "["}
_UNDECIDED, _ACTIVE, _INACTIVE = 0, 1, 2


class JsonRule(BaseRule):
    """Structure of a JSON answer, checked incrementally (see module docstring).

    Sub-checks: ``balance`` (a closer that does not match the open delimiter),
    ``premature_close`` (structure after the root document closed), ``malformed`` (``,,``,
    ``{,``, ``[,``, ``:,``, trailing commas), ``trailing_text`` (prose after the document),
    ``incomplete`` (unclosed string or delimiters at the end) and ``parse`` (the complete
    output does not parse).
    """

    def __init__(
        self,
        *,
        balance: SeverityLike = "error",
        premature_close: SeverityLike = "error",
        malformed: SeverityLike = "error",
        trailing_text: SeverityLike = "warning",
        incomplete: SeverityLike = "error",
        parse: SeverityLike = "error",
        recoverable: bool = True,
    ) -> None:
        super().__init__(
            "json",
            {
                "balance": balance,
                "premature_close": premature_close,
                "malformed": malformed,
                "trailing_text": trailing_text,
                "incomplete": incomplete,
                "parse": parse,
            },
            recoverable=recoverable,
        )
        self.reset()

    def reset(self) -> None:
        """Forget the document: the next text is a new answer."""
        self._mode = _UNDECIDED
        self._offset = 0  # absolute position of the next delta's first character
        self._stack: list[str] = []
        self._in_string = False
        self._escaped_at = -1  # absolute position of a character escaped by a backslash
        self._last = ""  # last structural token outside strings: one of "{[,:" or "v"
        self._closed = False  # the root document has closed
        self._doc_end = -1  # absolute position just after the root document
        self._done = False  # text followed the document: nothing more to scan
        self._broken = False  # an error was reported: stop checking this answer

    def check(self, delta: str, state: State, *, final: bool) -> Sequence[Violation]:
        """Scan ``delta``; at the end also require a complete, parseable document."""
        mode = self._mode
        if mode is _INACTIVE:
            return NO_VIOLATIONS
        if mode is _UNDECIDED:
            head = delta.lstrip()
            if not head:
                self._offset += len(delta)
                return NO_VIOLATIONS
            if head[0] not in "{[":
                self._mode = _INACTIVE
                return NO_VIOLATIONS
            self._mode = _ACTIVE
        found: list[Violation] = []
        if not (self._broken or self._done) and delta:
            self._scan(delta, found)
        self._offset += len(delta)
        if final and not self._broken:
            self._final(state.content, found)
        return found

    def _scan(self, text: str, found: list[Violation]) -> None:
        base = self._offset
        prev = 0  # index in text after the previous structural character
        for m in _STRUCTURAL.finditer(text):
            i = m.start()
            ch = text[i]
            if self._in_string:
                if base + i == self._escaped_at:
                    prev = i + 1
                    continue
                if ch == "\\":
                    self._escaped_at = base + i + 1
                elif ch == '"':
                    self._in_string = False
                    self._last = "v"
                prev = i + 1
                continue
            if text[prev:i].strip():
                if self._closed:
                    self._after_close(base + prev, found)
                self._last = "v"
            prev = i + 1
            if self._done:
                return
            v = self._structural(ch, base + i)
            if v is not None:
                found.append(v)
                self._broken = True
                return
        if not self._in_string and text[prev:].strip():
            if self._closed:
                self._after_close(base + prev, found)
            self._last = "v"

    def _structural(self, ch: str, pos: int) -> Violation | None:
        """One structural character outside strings; a violation or ``None``."""
        if self._closed and self.enabled("premature_close"):
            return self.violation(
                "premature_close", f"{ch!r} after the JSON document already closed", pos
            )
        last = self._last
        if ch == '"':
            self._in_string = True
        elif ch in "{[":
            self._stack.append(ch)
        elif ch in "}]":
            if not self._stack or self._stack[-1] != _CLOSER[ch]:
                if not self.enabled("balance"):
                    return None
                opened = self._stack[-1] if self._stack else "nothing"
                return self.violation("balance", f"{ch!r} closes {opened!r}", pos)
            self._stack.pop()
            if last == "," and self.enabled("malformed"):
                return self.violation("malformed", f"trailing comma before {ch!r}", pos)
            if not self._stack:
                self._closed = True
                self._doc_end = pos + 1
            ch = "v"
        elif ch == "," and last in ("{", "[", ",", ":") and self.enabled("malformed"):
            return self.violation("malformed", f"{last + ch!r}: a comma without a value", pos)
        self._last = ch
        return None

    def _after_close(self, pos: int, found: list[Violation]) -> None:
        self._done = True
        if self.enabled("trailing_text"):
            found.append(
                self.violation("trailing_text", "text after the JSON document closed", pos)
            )

    def _final(self, content: str, found: list[Violation]) -> None:
        end = self._offset
        if self._in_string or self._stack:
            if self.enabled("incomplete"):
                what = "a string" if self._in_string else "".join(self._stack)
                found.append(self.violation("incomplete", f"unclosed {what} at the end", end))
            return
        if not self.enabled("parse"):
            return
        try:
            orjson.loads(content[: self._doc_end] if self._closed else content)
        except orjson.JSONDecodeError as exc:
            found.append(self.violation("parse", f"not valid JSON: {exc}", None))


class StrictJsonRule(BaseRule):
    """The whole output must be one JSON object or array (and nothing else).

    Sub-checks: ``start`` (streaming: the first non-blank character is not ``{`` or ``[``),
    ``parse`` (at the end: the output does not parse) and ``root`` (it parses to a scalar).
    """

    def __init__(
        self,
        *,
        start: SeverityLike = "error",
        parse: SeverityLike = "error",
        root: SeverityLike = "error",
        recoverable: bool = True,
    ) -> None:
        super().__init__(
            "strict_json", {"start": start, "parse": parse, "root": root}, recoverable=recoverable
        )
        self.reset()

    def reset(self) -> None:
        """Forget what the answer started with."""
        self._decided = False

    def check(self, delta: str, state: State, *, final: bool) -> Sequence[Violation]:
        """Fail fast on a non-JSON start; at the end require a JSON object or array."""
        if not self._decided:
            head = delta.lstrip()
            if head:
                self._decided = True
                if head[0] not in "{[" and self.enabled("start"):
                    return (self.violation("start", "the output does not start with { or [", 0),)
        if not final:
            return NO_VIOLATIONS
        try:
            value = orjson.loads(state.content)
        except orjson.JSONDecodeError as exc:
            if self.enabled("parse"):
                return (self.violation("parse", f"not valid JSON: {exc}"),)
            return NO_VIOLATIONS
        if not isinstance(value, (dict, list)) and self.enabled("root"):
            return (self.violation("root", f"the JSON root is a {type(value).__name__}"),)
        return NO_VIOLATIONS


json_rule = JsonRule
"""Factory of a fresh incremental JSON structure rule (each call returns a new instance)."""

strict_json_rule = StrictJsonRule
"""Factory of a fresh strict JSON rule (each call returns a new instance)."""
