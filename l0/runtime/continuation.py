"""Remove what a resumed stream restates of the checkpoint.

A provider asked to continue an answer often repeats its last words, or (when it ignores the
prefix) restarts the whole answer. :class:`OverlapResolver` buffers the start of the resumed
stream only until the overlap is decided, then releases the rest:

- *suffix overlap*: the longest ``k`` in ``[min_overlap, max_overlap]`` such that the
  checkpoint ends with the first ``k`` resumed characters;
- *full restart*: the resumed stream begins with the entire checkpoint (any length);
- *restated whitespace*: the checkpoint's trailing whitespace, which the continuation prefix
  leaves out (Anthropic rejects a final assistant turn ending in whitespace), repeated at the
  start of the resumed stream.

Buffering stops as soon as no longer overlap is possible, so a resumed stream that simply
continues is held back by at most a few characters. Ambiguity is inherent: when the text
around the cut is periodic ("abab|ab…") the longest overlap wins.
"""

from __future__ import annotations

__all__ = ["OverlapResolver", "find_overlap"]


def find_overlap(
    checkpoint: str, resumed: str, min_overlap: int = 2, max_overlap: int = 500
) -> int:
    """Number of leading characters of ``resumed`` that restate the end of ``checkpoint``.

    A full restart (``resumed`` starts with the whole ``checkpoint``) counts at any length;
    otherwise the longest suffix/prefix match within ``[min_overlap, max_overlap]``; else 0.
    """
    if checkpoint and resumed.startswith(checkpoint):
        return len(checkpoint)
    upper = min(len(checkpoint), len(resumed), max_overlap)
    for k in range(upper, min_overlap - 1, -1):
        if checkpoint.endswith(resumed[:k]):
            return k
    # The prefix is sent without its trailing whitespace (see Attempt.continuation_messages),
    # so a model that resumes with that whitespace is restating it, however short.
    trailing = checkpoint[len(checkpoint.rstrip()) :]
    k = 0
    while k < len(trailing) and k < len(resumed) and resumed[k] == trailing[k]:
        k += 1
    return k


class OverlapResolver:
    """Incremental overlap removal for one resumed attempt.

    Feed the resumed text piece by piece; :meth:`feed` returns ``None`` while the overlap is
    undecided and the text to deliver once it is (possibly empty). :meth:`flush` decides with
    whatever arrived when the stream ends early.
    """

    __slots__ = ("_buf", "_checkpoint", "_max", "_min", "_tail", "overlap")

    def __init__(self, checkpoint: str, *, min_overlap: int = 2, max_overlap: int = 500) -> None:
        self._checkpoint = checkpoint
        self._tail = checkpoint[-max_overlap:]
        self._min = min_overlap
        self._max = max_overlap
        self._buf = ""
        self.overlap: int | None = None
        """Characters removed, once decided."""

    def _undecided(self) -> bool:
        buf = self._buf
        if len(buf) < len(self._checkpoint) and self._checkpoint.startswith(buf):
            return True  # may still be a full restart
        if len(buf) >= self._max:
            return False
        # A longer suffix overlap needs ``buf`` inside the tail, not ending at its end.
        return self._tail.find(buf, 0, len(self._tail) - 1) != -1

    def feed(self, text: str) -> str | None:
        """Add resumed text; the text to deliver once decided, else ``None``."""
        if self.overlap is not None:
            return text
        self._buf += text
        if self._undecided():
            return None
        return self.flush()

    def flush(self) -> str:
        """Decide now and return the buffered text minus the overlap."""
        if self.overlap is not None:
            return ""
        buf = self._buf
        self.overlap = find_overlap(self._checkpoint, buf, self._min, self._max)
        self._buf = ""
        return buf[self.overlap :]
