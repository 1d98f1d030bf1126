"""Markdown and LaTeX structure rules, both incremental.

:class:`MarkdownRule` works line by line: a delta without a newline costs one list append;
each completed line is classified once (fence, table row, list item). :class:`LatexRule`
tokenises only ``\\begin{…}``, ``\\end{…}``, ``\\[``, ``\\]``, ``$$`` and ``$``, holding back
a possibly cut token at the end of a delta until the next one arrives.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from l0.guardrails.hooks import Violation
from l0.guardrails.rules import NO_VIOLATIONS, BaseRule, SeverityLike

if TYPE_CHECKING:
    from l0.types import State

__all__ = ["LatexRule", "MarkdownRule", "latex_rule", "markdown_rule"]

_FENCE = re.compile(r"[ ]{0,3}(`{3,}|~{3,})")
_TABLE_SEP = re.compile(r"\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?")
_LIST = re.compile(r"( *)(?:([-*+])|(\d{1,9})[.)])\s")
_ABRUPT_END_MIN = 200  # shorter answers never "end abruptly" (plain short answers are fine)


class MarkdownRule(BaseRule):
    """Markdown structure.

    Sub-checks: ``fences`` (a code fence still open at the end, error), ``tables`` (a row
    whose cell count differs from its header, warning), ``lists`` (ordered and unordered
    items mixed at the same indent in one run of list lines, warning) and ``abrupt_end``
    (an answer of at least 200 characters whose last line stops mid-sentence, warning).
    """

    def __init__(
        self,
        *,
        fences: SeverityLike = "error",
        tables: SeverityLike = "warning",
        lists: SeverityLike = "warning",
        abrupt_end: SeverityLike = "warning",
        recoverable: bool = True,
    ) -> None:
        super().__init__(
            "markdown",
            {"fences": fences, "tables": tables, "lists": lists, "abrupt_end": abrupt_end},
            recoverable=recoverable,
        )
        self.reset()

    def reset(self) -> None:
        """Forget the document."""
        self._partial: list[str] = []  # the current, unfinished line
        self._pos = 0  # absolute position of the current line's start
        self._fence: str | None = None  # the open fence marker, if inside a code block
        self._fence_at = 0
        self._columns = 0  # cells per row of the current table (0: not in a table)
        self._prev_line = ""
        self._list_kinds: dict[int, str] = {}  # indent -> "ordered" / "unordered"

    def check(self, delta: str, state: State, *, final: bool) -> Sequence[Violation]:
        """Classify each line completed by ``delta``; at the end check fences and ending."""
        found: list[Violation] = []
        if "\n" in delta:
            self._partial.append(delta)
            lines = "".join(self._partial).split("\n")
            self._partial = [lines.pop()]
            for line in lines:
                self._line(line, found)
                self._pos += len(line) + 1
        elif delta:
            self._partial.append(delta)
        if final:
            last = "".join(self._partial)
            self._line(last, found)
            self._final(last or self._prev_line, state, found)
        return found or NO_VIOLATIONS

    def _line(self, line: str, found: list[Violation]) -> None:
        fence = _FENCE.match(line)
        if self._fence is not None:
            if (
                fence
                and fence.group(1)[0] == self._fence[0]
                and len(fence.group(1)) >= len(self._fence)
                and not line[fence.end() :].strip()
            ):
                self._fence = None
            return
        if fence:
            self._fence, self._fence_at = fence.group(1), self._pos
            self._columns = 0
            return
        stripped = line.strip()
        self._table(stripped, found)
        if self.enabled("lists"):
            self._list(line, stripped, found)
        self._prev_line = line

    def _table(self, stripped: str, found: list[Violation]) -> None:
        if "|" not in stripped:
            self._columns = 0
            return
        if not self._columns:
            if _TABLE_SEP.fullmatch(stripped) and "|" in self._prev_line:
                self._columns = _cells(self._prev_line.strip())
                self._row(stripped, found)
            return
        self._row(stripped, found)

    def _row(self, stripped: str, found: list[Violation]) -> None:
        n = _cells(stripped)
        if n != self._columns and self.enabled("tables"):
            found.append(
                self.violation(
                    "tables", f"table row has {n} cells, the header has {self._columns}", self._pos
                )
            )

    def _list(self, line: str, stripped: str, found: list[Violation]) -> None:
        m = _LIST.match(line)
        if m is None:
            if not stripped or not line.startswith(" "):
                self._list_kinds.clear()  # a blank line or a paragraph ends the list
            return
        indent = len(m.group(1))
        kind = "unordered" if m.group(2) else "ordered"
        seen = self._list_kinds.setdefault(indent, kind)
        for deeper in [k for k in self._list_kinds if k > indent]:
            del self._list_kinds[deeper]
        if seen != kind:
            self._list_kinds[indent] = kind
            found.append(
                self.violation("lists", f"{kind} item in a {seen} list at one indent", self._pos)
            )

    def _final(self, last: str, state: State, found: list[Violation]) -> None:
        if self._fence is not None and self.enabled("fences"):
            found.append(
                self.violation("fences", f"code fence {self._fence} never closed", self._fence_at)
            )
            return
        tail = last.rstrip()
        if (
            self.enabled("abrupt_end")
            and tail
            and tail[-1].isalpha()
            and not _LIST.match(tail)
            and not tail.lstrip().startswith(("#", "|", ">"))
            and len(state.content) >= _ABRUPT_END_MIN
            and "." in state.content
        ):
            found.append(self.violation("abrupt_end", "the answer stops mid-sentence"))


def _cells(row: str) -> int:
    inner = row.strip()
    if inner.startswith("|"):
        inner = inner[1:]
    if inner.endswith("|") and not inner.endswith("\\|"):
        inner = inner[:-1]
    return inner.count("|") - inner.count("\\|") + 1


_LATEX = re.compile(r"\\begin\{([^}]*)\}|\\end\{([^}]*)\}|\\\[|\\\]|\\\$|\\\\|\$\$|\$")
_HOLD = 64  # longest cut-off token held back until the next delta


class LatexRule(BaseRule):
    """LaTeX structure.

    Sub-checks: ``environments`` (``\\end{x}`` closing another environment or nothing —
    reported as it streams — and environments still open at the end, error),
    ``display_math`` (``\\[``/``\\]`` and ``$$`` balance, error) and ``inline_math`` (an
    odd number of unescaped single ``$``, warning: prices like "$5" are common).
    """

    def __init__(
        self,
        *,
        environments: SeverityLike = "error",
        display_math: SeverityLike = "error",
        inline_math: SeverityLike = "warning",
        recoverable: bool = True,
    ) -> None:
        super().__init__(
            "latex",
            {
                "environments": environments,
                "display_math": display_math,
                "inline_math": inline_math,
            },
            recoverable=recoverable,
        )
        self.reset()

    def reset(self) -> None:
        """Forget the document."""
        self._held = ""
        self._pos = 0  # absolute position of self._held[0]
        self._envs: list[tuple[str, int]] = []
        self._bracket_open: int | None = None
        self._dollars2 = 0
        self._dollars1 = 0
        self._broken = False

    def check(self, delta: str, state: State, *, final: bool) -> Sequence[Violation]:
        """Tokenise ``delta``; at the end require every environment and math span closed."""
        if self._broken:
            return NO_VIOLATIONS
        if not final and not self._held and "\\" not in delta and "$" not in delta:
            self._pos += len(delta)
            return NO_VIOLATIONS
        text = self._held + delta
        cut = len(text) if final else _cut(text)
        found: list[Violation] = []
        for m in _LATEX.finditer(text, 0, cut):
            self._token(m, self._pos + m.start(), found)
            if found and found[-1].severity.value != "warning":
                self._broken = True
                return found
        self._held = text[cut:]
        self._pos += cut
        if final:
            self._final(found)
        return found or NO_VIOLATIONS

    def _token(self, m: re.Match[str], pos: int, found: list[Violation]) -> None:
        tok = m.group(0)
        if m.group(1) is not None:
            self._envs.append((m.group(1), pos))
        elif m.group(2) is not None:
            name = m.group(2)
            if self._envs and self._envs[-1][0] == name:
                self._envs.pop()
            elif self.enabled("environments"):
                opened = f"\\begin{{{self._envs[-1][0]}}}" if self._envs else "nothing"
                found.append(
                    self.violation("environments", f"\\end{{{name}}} closes {opened}", pos)
                )
        elif tok == "\\[":
            self._bracket_open = pos
        elif tok == "\\]":
            if self._bracket_open is None and self.enabled("display_math"):
                found.append(self.violation("display_math", "\\] without \\[", pos))
            self._bracket_open = None
        elif tok == "$$":
            self._dollars2 += 1
        elif tok == "$":
            self._dollars1 += 1

    def _final(self, found: list[Violation]) -> None:
        if self._envs and self.enabled("environments"):
            name, pos = self._envs[-1]
            found.append(self.violation("environments", f"\\begin{{{name}}} never ended", pos))
        if self.enabled("display_math"):
            if self._bracket_open is not None:
                found.append(self.violation("display_math", "\\[ never closed", self._bracket_open))
            if self._dollars2 % 2:
                found.append(self.violation("display_math", "unbalanced $$"))
        if self._dollars1 % 2 and self.enabled("inline_math"):
            found.append(self.violation("inline_math", "unbalanced $ (inline math)"))


def _cut(text: str) -> int:
    """Where to stop tokenising: before a token that the next delta may complete."""
    start = max(0, len(text) - _HOLD)
    back = text.rfind("\\", start)
    if back != -1 and "}" not in text[back:]:
        return back
    if text.endswith("$") and (len(text) - len(text.rstrip("$"))) % 2:
        return len(text) - 1  # an odd run of "$" may still become "$$"
    return len(text)


markdown_rule = MarkdownRule
"""Factory of a fresh Markdown rule (each call returns a new instance)."""

latex_rule = LatexRule
"""Factory of a fresh LaTeX rule (each call returns a new instance)."""
