"""Pattern rules: bad phrasing, user patterns, and empty or noise-only output.

The built-in phrase lists are matched on lower-cased text with literal alternations, which
the regex engine scans quickly; each streaming check looks only at the new text plus a short
overlap (the longest phrase), in batches of at least 32 characters, so the cost is
O(delta). Each sub-check reports its first match only. Repetition is counted per completed
sentence, incrementally.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from l0.guardrails.hooks import Severity, Violation
from l0.guardrails.rules import (
    META_COMMENTARY,
    NO_VIOLATIONS,
    BaseRule,
    SeverityLike,
    literal_pattern,
    to_severity,
)
from l0.guardrails.windowed import PatternTimeoutError, WindowScanner, compile_pattern

if TYPE_CHECKING:
    from l0.types import State

__all__ = [
    "CustomPatternRule",
    "PatternRule",
    "ZeroOutputRule",
    "custom_pattern_rule",
    "pattern_rule",
    "zero_output_rule",
]

_literal = literal_pattern


_PHRASES: dict[str, re.Pattern[str]] = {
    "meta_commentary": _literal(*META_COMMENTARY),
    "refusal": _literal(
        "i cannot provide",
        "i can't provide",
        "i'm not able to",
        "i can't assist with",
        "i cannot assist with",
        "i'm unable to",
        "i am unable to",
        "that would be inappropriate",
    ),
    "instruction_leak": _literal(
        "[system]",
        "[/inst]",
        "[inst]",
        "<|im_start|>",
        "<|im_end|>",
        "<|eot_id|>",
        "<|start_header_id|>",
        "### instruction",
        "### system prompt",
        "<<sys>>",
    ),
    "placeholders": re.compile(
        r"\[(?:insert [^\]\n]{1,60}|todo(?::[^\]\n]{0,60})?|placeholder|your [^\]\n]{1,40} here)\]"
        r"|\{\{[^{}\n]{1,60}\}\}"
    ),
}
# The longest match of each phrase check (characters): what it holds back under the
# ``checked`` release policy, plus one scan batch.
_WIDTH = {
    "meta_commentary": max(map(len, META_COMMENTARY)),
    "refusal": 27,
    "instruction_leak": 19,
    "placeholders": 69,
}
_OVERLAP = 80  # longer than any phrase above can match
_BATCH = 32  # characters of new text scanned together
_OPENER = re.compile(r"(?:sure|certainly|of course|absolutely)!?\.?")
_PREAMBLE = re.compile(r"here(?: is|'s) the [^\n:]{1,40}:|(?:let me|i'll) [^\n]{1,40} for you")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_MIN_SENTENCE = 20
_MAX_SENTENCE = 1000  # longer runs without a sentence end are not sentences


class PatternRule(BaseRule):
    """Phrasing that an answer should not contain.

    Sub-checks (defaults): ``meta_commentary`` ("As an AI language model", error),
    ``refusal`` ("I'm unable to…", warning: a refusal can be the right answer),
    ``instruction_leak`` (chat-template and prompt markers, error), ``placeholders``
    (``[insert …]``, ``{{…}}``, warning: templates are legitimate in code answers),
    ``repetition`` (a sentence of more than 20 characters occurring ``repeat_limit`` times,
    warning), ``first_last_duplicate`` (the last sentence repeats the first, warning),
    ``hedging`` (the first line is only "Sure!"/"Certainly", off) and ``format_collapse``
    ("Here is the …:" in the first lines, off). The last two are ordinary phrasing and are
    off unless asked for.
    """

    def __init__(
        self,
        *,
        meta_commentary: SeverityLike = "error",
        refusal: SeverityLike = "warning",
        instruction_leak: SeverityLike = "error",
        placeholders: SeverityLike = "warning",
        repetition: SeverityLike = "warning",
        first_last_duplicate: SeverityLike = "warning",
        hedging: SeverityLike = None,
        format_collapse: SeverityLike = None,
        repeat_limit: int = 3,
        recoverable: bool = True,
    ) -> None:
        super().__init__(
            "pattern",
            {
                "meta_commentary": meta_commentary,
                "refusal": refusal,
                "instruction_leak": instruction_leak,
                "placeholders": placeholders,
                "repetition": repetition,
                "first_last_duplicate": first_last_duplicate,
                "hedging": hedging,
                "format_collapse": format_collapse,
            },
            recoverable=recoverable,
        )
        if isinstance(repeat_limit, bool) or not isinstance(repeat_limit, int) or repeat_limit < 2:
            raise ValueError(
                f"pattern_rule(repeat_limit=...) must be an int >= 2, got {repeat_limit!r}"
            )
        self.repeat_limit = repeat_limit
        self._phrases = [(c, p) for c, p in _PHRASES.items() if self.enabled(c)]
        self._sentences_on = self.enabled("repetition") or self.enabled("first_last_duplicate")
        # Only the phrase checks reject a span the user must not see: they hold back their
        # longest match plus one scan batch; repetition and the final checks judge the whole.
        widths = [
            _WIDTH[c]
            for c, _ in self._phrases
            if self.severities[c] in (Severity.ERROR, Severity.FATAL)
        ]
        self.lookahead = _BATCH + max(widths) if widths else 0
        self.reset()

    def reset(self) -> None:
        """Forget the answer."""
        self._pending: list[str] = []  # text not scanned yet
        self._pending_len = 0
        self._tail = ""
        self._pos = 0  # absolute position of self._tail[0]
        self._reported: set[str] = set()
        self._partial = ""  # the unfinished sentence (its last _MAX_SENTENCE chars)
        self._seen: dict[str, int] = {}
        self._first = ""
        self._last = ""
        self._sentence_count = 0

    def check(self, delta: str, state: State, *, final: bool) -> Sequence[Violation]:
        """Scan the new text; at the end also look at the answer's first and last lines.

        New text is scanned in batches of at least ``_BATCH`` characters (or at the end), so
        a phrase is reported at most one batch after it streamed.
        """
        if delta:
            self._pending.append(delta)
            self._pending_len += len(delta)
        if self._pending_len < _BATCH and not final:
            return NO_VIOLATIONS
        found: list[Violation] = []
        if self._pending:
            text = "".join(self._pending)
            self._pending = []
            self._pending_len = 0
            self._scan_phrases(text, found)
            if self._sentences_on:
                self._sentences(text, final=False, found=found)
        if final:
            if self._sentences_on:
                self._sentences("", final=True, found=found)
            self._final(state.content, found)
        return found or NO_VIOLATIONS

    def _scan_phrases(self, delta: str, found: list[Violation]) -> None:
        tail = self._tail
        low = (tail + delta).lower()
        new_from = len(tail)
        for check, pattern in self._phrases:
            if check in self._reported or (
                check == "placeholders" and "[" not in low and "{{" not in low
            ):
                continue
            m = pattern.search(low)
            while m is not None and m.end() <= new_from:
                m = pattern.search(low, m.start() + 1)
            if m is not None:
                self._reported.add(check)
                found.append(self.violation(check, f"found {m.group(0)!r}", self._pos + m.start()))
        keep = low[-_OVERLAP:]
        self._pos += len(low) - len(keep)
        self._tail = keep

    def _sentences(self, delta: str, *, final: bool, found: list[Violation]) -> None:
        if not final and "." not in delta and "!" not in delta and "?" not in delta:
            self._partial = (self._partial + delta)[-_MAX_SENTENCE:]
            return
        parts = _SENTENCE_END.split(self._partial + delta)
        self._partial = "" if final else parts.pop()[-_MAX_SENTENCE:]
        for raw in parts:
            sentence = " ".join(raw.lower().split())
            if len(sentence) <= _MIN_SENTENCE // 2:
                continue
            self._sentence_count += 1
            if not self._first:
                self._first = sentence
            self._last = sentence
            if len(sentence) <= _MIN_SENTENCE:
                continue
            n = self._seen.get(sentence, 0) + 1
            self._seen[sentence] = n
            if (
                n == self.repeat_limit
                and self.enabled("repetition")
                and "repetition" not in self._reported
            ):
                self._reported.add("repetition")
                found.append(
                    self.violation("repetition", f"sentence repeated {n} times: {sentence[:60]!r}")
                )

    def _final(self, content: str, found: list[Violation]) -> None:
        if (
            self.enabled("first_last_duplicate")
            and self._sentence_count >= 2
            and len(content) >= 100
            and self._first == self._last
        ):
            found.append(
                self.violation("first_last_duplicate", "the last sentence repeats the first")
            )
        head = content.lstrip()[:300]
        first_line = head.split("\n", 1)[0].strip().lower()
        if self.enabled("hedging") and _OPENER.fullmatch(first_line):
            found.append(self.violation("hedging", f"the answer opens with {first_line!r}", 0))
        if self.enabled("format_collapse"):
            m = _PREAMBLE.search("\n".join(head.lower().split("\n")[:3]))
            if m is not None:
                found.append(self.violation("format_collapse", f"preamble {m.group(0)!r}", 0))


class CustomPatternRule:
    """Your own regexes, scanned over bounded windows (see :mod:`l0.guardrails.windowed`).

    Args:
        patterns: Strings or compiled patterns; a match is a violation (first match each).
        message: The violation message (the match is appended).
        severity: ``"warning"``, ``"error"`` (default) or ``"fatal"``.
        name: The rule name (violations are ``"<name>"``).
        max_match: The longest match to find, in characters (default 256); each search sees
            at most ``2 * max_match + 1`` characters.
        timeout: Seconds one search may take when the ``regex`` package is installed
            (string and compiled patterns alike; default 0.05); a search that times out is
            a violation at ``severity`` (the pattern is then skipped for this answer).
        flags: ``re`` flags for string patterns (default ``re.IGNORECASE``).
        recoverable: Whether a retry may fix an ``error`` violation.
    """

    def __init__(
        self,
        patterns: Iterable[str | re.Pattern[str]],
        *,
        message: str = "custom pattern matched",
        severity: SeverityLike = "error",
        name: str = "custom_pattern",
        max_match: int = 256,
        timeout: float = 0.05,
        flags: int = re.IGNORECASE,
        recoverable: bool = True,
    ) -> None:
        if isinstance(patterns, (str, re.Pattern)):
            patterns = [patterns]
        self.timeout = timeout
        self.patterns = [compile_pattern(p, flags=flags, timeout=timeout) for p in patterns]
        if not self.patterns:
            raise ValueError("custom_pattern_rule needs at least one pattern")
        sev = to_severity("custom_pattern_rule(severity=...)", severity)
        self.severity = sev or Severity.ERROR
        self.name = name
        self.message = message
        self.recoverable = bool(recoverable) and self.severity is not Severity.FATAL
        self._scanner = WindowScanner(max_match)
        self.blocking: bool = self.severity is not Severity.WARNING
        """Whether a match rejects text (severity ``error`` or ``fatal``)."""
        self.lookahead: int = max(
            _width(
                p.pattern,
                getattr(p, "flags", flags) if isinstance(p, re.Pattern) else flags,
                max_match,
            )
            for p in self.patterns
        )
        """The longest match (the patterns' own maximum width, at most ``max_match``)."""
        self._hit: set[int] = set()

    def reset(self) -> None:
        """Forget the answer."""
        self._scanner.reset()
        self._hit = set()

    def check(self, delta: str, state: State, *, final: bool) -> Sequence[Violation]:
        """Search the new text (plus an overlap) with every pattern."""
        found: list[Violation] = []
        for window, pos, new_from, base in self._scanner.windows(delta):
            self._search_all(window, pos, new_from, len(window), base, found)
        if final:
            window, pos, base = self._scanner.rest()
            self._search_all(window, pos, len(window), len(window) + 1, base, found)
        return found or NO_VIOLATIONS

    def _search_all(
        self, window: str, pos: int, lo: int, hi: int, base: int, found: list[Violation]
    ) -> None:
        """Report the first match of each pattern whose end ``e`` has ``lo <= e < hi``."""
        for i, pattern in enumerate(self.patterns):
            if i in self._hit:
                continue
            try:
                m = pattern.search(window, pos)
                while m is not None and m.end() < lo and m.start() < len(window):
                    m = pattern.search(window, m.start() + 1)
            except PatternTimeoutError:
                self._hit.add(i)
                found.append(
                    Violation(
                        self.name,
                        f"pattern {pattern.pattern!r} timed out (search limit "
                        f"{self.timeout:g}s); skipped for this answer",
                        self.severity,
                        self.recoverable,
                        base + pos,
                    )
                )
                continue
            if m is not None and lo <= m.end() < hi:
                self._hit.add(i)
                text = m.group(0)[:80]
                found.append(
                    Violation(
                        self.name,
                        f"{self.message}: {text!r}",
                        self.severity,
                        self.recoverable,
                        base + m.start(),
                    )
                )


def _width(pattern: object, flags: int, max_match: int) -> int:
    """The longest match of ``pattern`` (bounded by ``max_match``)."""
    parser = getattr(re, "_parser", None)  # the stdlib's own pattern parser (3.11+)
    if isinstance(pattern, str) and parser is not None:
        try:
            return min(int(parser.parse(pattern, flags).getwidth()[1]), max_match)
        except Exception:
            return max_match
    return max_match


_ALNUM = re.compile(r"\w")


class ZeroOutputRule(BaseRule):
    """Empty or meaningless output.

    Sub-checks: ``empty`` (nothing but whitespace at the end, error) and ``noise`` (no letter
    or digit at all, warning: "?" or "—" can be a real answer; "11" is never noise).
    """

    def __init__(
        self,
        *,
        empty: SeverityLike = "error",
        noise: SeverityLike = "warning",
        recoverable: bool = True,
    ) -> None:
        super().__init__("zero_output", {"empty": empty, "noise": noise}, recoverable=recoverable)
        self.reset()

    def reset(self) -> None:
        """Forget the answer."""
        self._meaningful = False

    def check(self, delta: str, state: State, *, final: bool) -> Sequence[Violation]:
        """Note the first letter or digit; at the end report empty or noise-only output."""
        if self._meaningful:
            return NO_VIOLATIONS
        if _ALNUM.search(delta) is not None:
            self._meaningful = True
            return NO_VIOLATIONS
        if not final:
            return NO_VIOLATIONS
        text = state.content.strip()
        if not text:
            return (
                (self.violation("empty", "the output is empty"),)
                if self.enabled("empty")
                else NO_VIOLATIONS
            )
        if self.enabled("noise"):
            return (self.violation("noise", f"the output is only punctuation: {text[:20]!r}"),)
        return NO_VIOLATIONS


pattern_rule = PatternRule
"""Factory of a fresh pattern rule (each call returns a new instance)."""

custom_pattern_rule = CustomPatternRule
"""Factory of a fresh custom-pattern rule (each call returns a new instance)."""

zero_output_rule = ZeroOutputRule
"""Factory of a fresh zero-output rule (each call returns a new instance)."""
