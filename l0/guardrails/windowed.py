"""Bounded regex scanning over a stream: the guarantee behind user-supplied patterns.

A :class:`WindowScanner` hands each regex search a window of at most ``2 * max_match + 1``
characters: the last ``max_match`` characters already scanned (so a match cut by a chunk
boundary is still found), then at most ``max_match`` new characters. A long delta is split
into several windows. So the cost of one search is bounded by the window, never by the
length of the output, and the whole stream is scanned in O(output) searches of bounded size.

Consequences, documented in ``docs/guardrails.md``: a match longer than ``max_match`` is not
found; ``^`` and ``$`` (without MULTILINE) only match at the very start and the very end of
the output (a match touching the end of a window is taken from the next window).

Exponential backtracking can still be slow on a bounded input; patterns (strings, and
compiled stdlib patterns recompiled from their source and flags) are therefore compiled with
the third-party ``regex`` package when it is installed, and each search is then stopped after
``timeout`` seconds (a violation at the rule's severity, never a frozen event loop).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Protocol

__all__ = ["Matcher", "PatternTimeoutError", "WindowScanner", "compile_pattern"]

try:  # optional: per-search time limits
    import regex as _regex
except ImportError:  # pragma: no cover - exercised where regex is absent
    _regex = None


class PatternTimeoutError(Exception):
    """A search ran past its time limit (only with the ``regex`` package)."""


class Matcher(Protocol):
    """A compiled pattern: what :class:`WindowScanner` needs."""

    @property
    def pattern(self) -> Any:
        """The pattern's source."""
        ...

    def search(self, string: str, pos: int = ..., endpos: int = ...) -> Any:
        """Search ``string[pos:endpos]``."""
        ...


class _TimedPattern:
    """A ``regex`` pattern whose searches give up after ``timeout`` seconds."""

    __slots__ = ("_compiled", "pattern", "timeout")

    def __init__(self, compiled: Any, timeout: float) -> None:
        self._compiled = compiled
        self.pattern = compiled.pattern
        self.timeout = timeout

    def search(self, string: str, pos: int = 0, endpos: int | None = None) -> Any:
        try:
            return self._compiled.search(
                string, pos, len(string) if endpos is None else endpos, timeout=self.timeout
            )
        except TimeoutError as exc:
            raise PatternTimeoutError(str(exc)) from exc


def compile_pattern(pattern: str | re.Pattern[str], *, flags: int, timeout: float) -> Matcher:
    """Compile ``pattern``; with the ``regex`` package every pattern gets a time limit
    (a compiled stdlib pattern is recompiled from its source and flags).

    Raises:
        TypeError: ``pattern`` is neither a string nor a compiled pattern.
        ValueError: ``pattern`` does not compile.
    """
    if isinstance(pattern, re.Pattern):
        # A compiled stdlib pattern would run unbounded on the event loop: recompile its
        # source and flags on the ``regex`` engine, whose searches take a time limit.
        if _regex is not None and isinstance(pattern.pattern, str):
            try:
                timed = _regex.compile(pattern.pattern, pattern.flags | _regex.VERSION0)
            except _regex.error:  # a construct only the stdlib accepts: kept as given
                return pattern
            return _TimedPattern(timed, timeout)
        return pattern
    if not isinstance(pattern, str):
        raise TypeError(f"patterns must be str or re.Pattern, got {type(pattern).__name__}")
    try:
        re.compile(pattern, flags)  # the stdlib's error messages, and the same syntax
    except re.error as exc:
        raise ValueError(f"invalid pattern {pattern!r}: {exc}") from exc
    if _regex is not None:
        return _TimedPattern(_regex.compile(pattern, flags | _regex.VERSION0), timeout)
    return re.compile(pattern, flags)


class WindowScanner:
    """Cuts a stream into bounded, overlapping windows (see module docstring).

    Args:
        max_match: The longest match that must be found (characters).
    """

    __slots__ = ("_max", "_tail", "_tail_start")

    def __init__(self, max_match: int) -> None:
        if isinstance(max_match, bool) or not isinstance(max_match, int) or max_match < 1:
            raise ValueError(f"max_match must be an int >= 1, got {max_match!r}")
        self._max = max_match
        self.reset()

    def reset(self) -> None:
        """Start a new stream."""
        self._tail = ""
        self._tail_start = 0  # absolute position of self._tail[0]

    def windows(self, delta: str) -> Iterator[tuple[str, int, int, int]]:
        """Yield ``(window, pos, new_from, base)`` per piece of ``delta``.

        Search ``window`` from ``pos``. A match is new when ``new_from <= end < len(window)``:
        one ending earlier was seen in a previous window; one ending at the window's end may
        still grow with the next text, so it is taken from the next window (or
        :meth:`rest` at the end of the stream). ``base`` is the absolute position of
        ``window[0]``.
        """
        size = self._max
        for start in range(0, len(delta), size):
            piece = delta[start : start + size]
            tail = self._tail
            window = tail + piece
            # One character before the overlap stays in the window but outside the search,
            # so "^" and lookbehinds do not see a false start of text.
            pos = 1 if self._tail_start > 0 and tail else 0
            yield window, pos, len(tail), self._tail_start
            keep = window[-(size + 1) :]
            self._tail_start += len(window) - len(keep)
            self._tail = keep

    def rest(self) -> tuple[str, int, int]:
        """``(window, pos, base)`` of the text kept at the end of the stream: search it for
        matches ending at its very end (held back by :meth:`windows`)."""
        pos = 1 if self._tail_start > 0 and self._tail else 0
        return self._tail, pos, self._tail_start
