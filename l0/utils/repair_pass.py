"""The repair pass of :func:`l0.auto_correct_json`: one walk over the document that edits
only outside strings (see that module's docstring for the repairs and their labels).

Runs of ordinary characters and complete strings are matched by possessive regular
expressions (in C, never re-tried), so the pass is linear in the text and fast on adversarial
input.
"""

from __future__ import annotations

import re

__all__ = ["MAX_DEPTH", "RepairPass", "TooDeepError", "has_prose"]

MAX_DEPTH = 512
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]*)[^\n`]*\n?")
_NUMBER_PREFIX = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_LITERALS = ("true", "false", "null")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def has_prose(text: str) -> bool:
    """Whether ``text`` holds anything but whitespace and fence markers."""
    return bool(_FENCE.sub("", text).strip())


_BACKTICKS = re.compile(r"`+")
_STR = r'"(?:[^"\\\x00-\x1f]++|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*+"'
# Complete strings and characters without a meaning to the repair, through the last comma;
# then the same without commas (the current item's start). Alternatives are disjoint.
# Possessive quantifiers: nothing is ever re-tried, so a failed match costs one pass.
_ITEMS = re.compile(rf'(?:(?:{_STR}|[^"/`{{}}\[\],]++)*+,)*+')
_TAIL = re.compile(rf'(?:{_STR}|[^"/`{{}}\[\],]++)*+')
# Characters outside strings with no meaning for the repair (commas are split off later).
_PLAIN = re.compile(r'[^"/`{}\[\]]+')
# A run of string content: plain characters and complete escapes.
_STRING_RUN = re.compile(r'(?:[^"\\\x00-\x1f]++|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})++')
_HIGH_SURROGATE_TAIL = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}\Z")


_RUNS = {ch: re.compile(re.escape(ch) + "+") for ch in "}]"}


def _same_run_end(text: str, i: int) -> int:
    """The end of the run of ``text[i]`` (a closer) repeated from ``i``."""
    m = _RUNS[text[i]].match(text, i)
    return i + 1 if m is None else m.end()


class TooDeepError(Exception):
    """The document nests deeper than :data:`MAX_DEPTH`."""


class RepairPass:
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
            if ch == "`":
                run = _BACKTICKS.match(text, self.i)
                assert run is not None
                if run.end() - self.i >= 3:
                    if has_prose(text[self.i :]):
                        self.fix("remove_suffix_text")
                    return self._close()  # a fence outside any string: the document ends
                self.out.append(run.group())
                self.i = run.end()
                continue
            if ch in "{[":
                if len(self.stack) >= MAX_DEPTH:
                    raise TooDeepError
                self.stack.append(ch)
                self.out.append(ch)
                self.item_start.append(len(self.out))
                self.i += 1
            elif ch in "}]":
                if not self._close_one(ch):
                    self.i = _same_run_end(text, self.i)  # stray closers: dropped as a run
                    continue
                self.i += 1
                if not self.stack:
                    if has_prose(text[self.i :]):
                        self.fix("remove_suffix_text")
                    return "".join(self.out)
            elif not self._plain():
                self.out.append(ch)
            continue
        return self._close()

    def _plain(self) -> bool:
        """Copy complete items (strings and plain characters up to a comma), then the start
        of the current item, each as one piece matched in C; False when nothing matched."""
        text, i = self.text, self.i
        items = _ITEMS.match(text, i)
        if items is not None and items.end() > i:
            self.out.append(items.group())
            if self.item_start:
                self.item_start[-1] = len(self.out)
            i = items.end()
        tail = _TAIL.match(text, i)
        if tail is not None and tail.end() > i:
            self.out.append(tail.group())
            i = tail.end()
        consumed = i > self.i
        self.i = i if consumed else i + 1
        return consumed

    def fix(self, label: str) -> None:
        """Record a repair once."""
        if label not in self.fixes:
            self.fixes.append(label)

    def _string(self) -> bool:
        """Copy one string (escaping raw control characters); False if it never closes. An
        unclosed string that contains a fence marker ends at the marker (the fence closed)."""
        start = self.i
        parts, end, closed = self._scan_string(start, len(self.text))
        if not closed:
            fence = self.text.find("```", start + 1)
            if fence != -1:
                parts, end, closed = self._scan_string(start, fence)
                if has_prose(self.text[fence:]):
                    self.fix("remove_suffix_text")
            self.fix("close_string")
            parts.append('"')
        self.out.append("".join(parts))
        self.i = end
        return closed

    def _scan_string(self, start: int, n: int) -> tuple[list[str], int, bool]:
        text, i = self.text, start + 1
        parts = ['"']
        while i < n:
            run = _STRING_RUN.match(text, i, n)
            if run is not None and run.end() > i:
                parts.append(run.group())
                i = run.end()
                if i >= n:
                    break
            ch = text[i]
            if ch == '"':
                parts.append('"')
                return parts, i + 1, True
            if ch == "\\":
                size = _escape_size(text[:n], i)
                if size == 0:
                    break  # an escape cut short (or a lone high surrogate) at the end: drop it
                parts.append(text[i : i + size])
                i += size
                continue
            parts.append(_ESCAPES.get(ch) or f"\\u{ord(ch):04x}")
            self.fix("escape_control_chars")
            i += 1
        if parts and _HIGH_SURROGATE_TAIL.search(parts[-1]):
            parts[-1] = parts[-1][:-6]  # its low half was cut off
        return parts, n, False

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
        self.fix("remove_comments")
        return True

    def _close_one(self, ch: str) -> bool:
        """Close the innermost structure with ``ch``; False for a stray closer (dropped)."""
        self._drop_trailing_comma()
        if self.stack and self.stack[-1] == ("{" if ch == "}" else "["):
            self.stack.pop()
            self.item_start.pop()
            self.out.append(ch)
            return True
        return False

    def _drop_trailing_comma(self) -> None:
        out = self.out
        j = len(out) - 1
        while j >= 0 and not out[j].strip():
            j -= 1
        if j >= 0 and out[j].rstrip().endswith(","):
            piece = out[j]
            kept = piece.rstrip()
            out[j] = kept[:-1] + piece[len(kept) :]
            self.fix("remove_trailing_comma")
            if self.item_start:
                self.item_start[-1] = min(self.item_start[-1], j + (1 if out[j].strip() else 0))

    def _close(self) -> str:
        """The text ended inside the document: finish the last item, close in reverse."""
        self._finish_item()
        while self.stack:
            opener = self.stack.pop()
            self.item_start.pop()
            self._drop_trailing_comma()
            self.out.append("}" if opener == "{" else "]")
            self.fix("close_brace" if opener == "{" else "close_bracket")
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
            self.fix("drop_dangling_key" if self.stack[-1] == "{" else "drop_incomplete_value")
            self._drop_trailing_comma()
        else:
            self.fix("drop_incomplete_value")
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
