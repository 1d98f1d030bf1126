"""Continue an answer from the delivered text without losing or doubling a character.

When a stream breaks after text was delivered, the next attempt is asked to continue it. The
resumed stream ``R`` is the rest of the answer started somewhere at or before the end of what
it was sent: a provider that continues an assistant prefix exactly (Anthropic) starts right
after it; chat models often restate a few words first; some restart the whole answer. Text
alone cannot always tell a restatement from new text: in ``"| 1 | ok |\\n| 2 | ok "`` a resumed
``"| ok |\\n| 3 …"`` may restate ``"| ok "`` or may be the exact continuation. Two steps make
the decision by evidence instead of by the longest match:

1. **Shape the request** (:func:`resume_prefix_length`). l0 sends back the delivered text
   ``D`` minus a short tail ``H`` it *holds back*: the shortest tail that occurs nowhere else
   near the cut (nor at the very start of ``D``), and after which the prefix does not end in
   whitespace (Anthropic rejects a trailing-whitespace assistant turn). The model, continuing
   the prefix ``P = D[:-len(H)]``, writes ``H`` again.
2. **Align** (:class:`OverlapResolver`). Every reading of ``R`` is a start ``s`` in ``D``:
   ``s = len(P) - r`` for a restatement of ``r`` characters (``0 <= r <= max_overlap``), or
   ``s = 0`` for a full restart. A reading is *confirmed* when ``R`` begins with ``D[s:]``.
   Because ``H`` is unique in that window, at most one reading is confirmed, so exactly
   ``len(D) - s`` characters are removed — periodic text (tables, lists, code, repeated
   words) included.

When the text is periodic for longer than ``max_held_back`` characters, no short tail is
unique: the prefix is then empty (the next attempt restarts the answer) and the only reading
is the full restart. Ambiguity remains only when the model does not write the held-back text
again (it *diverged*), or when the resolver is given a prefix not chosen this way. The policy
then, reported by :attr:`OverlapResolver.ambiguity` (the loop emits
``CONTINUATION_AMBIGUOUS``):

- several readings confirmed: remove the fewest characters (assume the least restatement,
  which is what an exact-continuation provider does) — a restatement may then be doubled,
  but nothing the model wrote is dropped;
- no reading confirmed: remove the longest run of ``R`` that agrees with ``D`` under a
  reading whose restated part agrees in full, and deliver the rest; the delivered text is
  never taken back.

Buffering stops as soon as a single reading is left, so a resumed stream that simply
continues is held back only by the length of ``H`` plus what it restates.

**A restart in other words.** A model may ignore the prefix and start the answer over,
phrased differently. No reading fits it, and the divergence policy would glue it onto the
delivered text mid-sentence. With ``restart_similarity`` set, a diverged stream is buffered
until its first ``restart_window`` characters are in (or it ends) and compared with the
opening of the delivered text (``rapidfuzz`` ``token_set_ratio`` of the case-folded words):
at or above the threshold it is a **restart** (:attr:`OverlapResolver.restarted`; nothing is
removed, and the caller discards the delivered text). What cannot be told apart: a
continuation whose opening reuses the opening's words (a list that repeats its lead-in), a
restart that opens with other words than the first answer, and openings shorter than 16
characters (never called a restart).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Ambiguity", "OverlapResolver", "opening_similarity", "resume_prefix_length"]

_MIN_OPENING = 16  # shorter openings are never compared


def opening_similarity(delivered: str, resumed: str, window: int) -> float | None:
    """How alike the openings of ``delivered`` and ``resumed`` are, in ``[0, 1]``.

    Compares the first ``min(window, len(delivered))`` characters of each (``rapidfuzz``
    ``token_set_ratio`` of the case-folded words). ``None`` when the opening is shorter than
    16 characters or ``rapidfuzz`` is not installed (``pip install 'l0[all]'``).
    """
    w = min(window, len(delivered))
    if w < _MIN_OPENING or len(resumed) < min(w, _MIN_OPENING):
        return None
    try:
        from rapidfuzz import fuzz
        from rapidfuzz.utils import default_process
    except ImportError:  # optional: without it, a restart is aligned as a divergence
        return None
    score = fuzz.token_set_ratio(delivered[:w], resumed[:w], processor=default_process)
    return float(score) / 100.0


def _unique_tail(delivered: str, p: int, window: int) -> bool:
    """True when ``delivered[p:]`` (non-empty) starts at no position ``q < p`` with
    ``q >= p - window`` (a restatement reading) or ``q <= window`` (a full-restart reading)."""
    tail = delivered[p:]
    m = len(tail)
    if m == 0:
        return False
    if delivered.find(tail, max(0, p - window), p - 1 + m) != -1:
        return False
    return delivered.find(tail, 0, min(window, p - 1) + m) == -1


def resume_prefix_length(
    delivered: str, *, max_overlap: int = 500, max_held_back: int = 500
) -> int:
    """Length of the prefix of ``delivered`` to send back when continuing.

    The rest (the held-back tail) is the shortest one that makes every restatement of up to
    ``max_overlap`` characters, and a full restart, recognisable (see the module docstring);
    the prefix never ends in whitespace. When no tail of at most ``max_held_back`` characters
    is unique (the text is periodic for longer than that), the answer is 0: the next attempt
    restarts the answer, and the resolver aligns it with the whole delivered text.

    Args:
        delivered: The text delivered so far.
        max_overlap: The longest restatement a provider may make (chars).
        max_held_back: The longest tail l0 holds back before it falls back to a restart.
    """
    base = len(delivered.rstrip())
    n = len(delivered)
    for p in range(base, max(1, n - max_held_back) - 1, -1):
        if not delivered[p - 1].isspace() and _unique_tail(delivered, p, max_overlap):
            return p
    return 0


@dataclass(frozen=True, slots=True)
class Ambiguity:
    """How a resumed stream could not be aligned with certainty (see the module docstring).

    Attributes:
        reason: ``"several"`` (more than one reading fits) or ``"diverged"`` (none fits: the
            model did not write the held-back text again).
        removed: Characters removed from the start of the resumed stream.
        candidates: For ``"several"``, the removal of every fitting reading (ascending); for
            ``"diverged"``, the longest agreement found.
        held_back: Characters of the delivered text that were not sent back.
    """

    reason: str
    removed: int
    candidates: tuple[int, ...]
    held_back: int


class OverlapResolver:
    """Incremental alignment of one resumed attempt with the delivered text.

    Feed the resumed text piece by piece; :meth:`feed` returns ``None`` while the alignment
    is undecided and the text to deliver once it is (possibly empty), then every later piece
    unchanged. :meth:`flush` decides with whatever arrived when the stream ends early.

    Args:
        delivered: The text delivered before the break.
        prefix_length: How much of it was sent back (:func:`resume_prefix_length`); the
            default, ``len(delivered.rstrip())``, holds back only trailing whitespace.
        max_overlap: The longest restatement looked for (chars). A full restart is
            recognised at any length.
        restart_similarity: Threshold in ``(0, 1]`` above which a diverged stream whose
            opening resembles the delivered text's opening is a restart (``None``: off).
        restart_window: Characters of each opening compared.
    """

    __slots__ = (
        "_agree",
        "_alive",
        "_buf",
        "_confirmed",
        "_d",
        "_len",
        "_p",
        "_similarity",
        "_window",
        "ambiguity",
        "overlap",
        "restarted",
    )

    def __init__(
        self,
        delivered: str,
        prefix_length: int | None = None,
        *,
        max_overlap: int = 500,
        restart_similarity: float | None = None,
        restart_window: int = 48,
    ) -> None:
        d = delivered
        p = len(d.rstrip()) if prefix_length is None else prefix_length
        if not 0 <= p <= len(d):
            raise ValueError(f"prefix_length must be in [0, {len(d)}], got {p}")
        self._d = d
        self._p = p
        starts = {0, *range(max(0, p - max_overlap), p + 1)}
        self._alive = sorted(s for s in starts if s < len(d))  # still a prefix of D[s:]
        self._confirmed = [s for s in starts if s == len(d)]  # R begins with D[s:]
        self._agree: dict[int, int] = {}  # dead reading -> chars of R that agreed
        self._buf: list[str] = []
        self._len = 0
        self.overlap: int | None = None
        """Characters removed from the resumed stream, once decided."""
        self.ambiguity: Ambiguity | None = None
        """Set when the decision was not forced by the evidence (see the module docstring)."""
        self.restarted = False
        """True once the resumed stream was found to restart the answer in other words."""
        self._similarity = restart_similarity
        self._window = min(restart_window, len(d))

    @property
    def prefix(self) -> str:
        """The part of the delivered text sent back to the provider."""
        return self._d[: self._p]

    @property
    def held_back(self) -> str:
        """The rest of the delivered text, which the resumed stream is expected to restate."""
        return self._d[self._p :]

    def _advance(self, piece: str) -> None:
        d, n, at = self._d, len(self._d), self._len
        alive: list[int] = []
        for s in self._alive:
            need = n - s - at
            if d.startswith(piece[:need], s + at):
                if len(piece) >= need:
                    self._confirmed.append(s)
                else:
                    alive.append(s)
                continue
            k = 0
            limit = min(need, len(piece))
            while k < limit and piece[k] == d[s + at + k]:
                k += 1
            self._agree[s] = at + k
        self._alive = alive
        self._buf.append(piece)
        self._len = at + len(piece)

    def feed(self, text: str) -> str | None:
        """Add resumed text; the text to deliver once decided, else ``None``."""
        if self.overlap is not None:
            return text
        if text:
            self._advance(text)
        if self._alive:
            return None
        if self._awaiting_opening():
            return None
        return self._decide()

    def _awaiting_opening(self) -> bool:
        """Diverged, and restart detection needs more of the resumed stream's opening."""
        return (
            self._similarity is not None
            and not self._confirmed
            and self._window >= _MIN_OPENING
            and self._len < self._window
        )

    def _is_restart(self, buf: str) -> bool:
        if self._similarity is None:
            return False
        score = opening_similarity(self._d, buf, self._window)
        return score is not None and score >= self._similarity

    def flush(self) -> str:
        """Decide now and return the buffered text minus what restates delivered text."""
        if self.overlap is not None:
            return ""
        return self._decide()

    def _decide(self) -> str:
        n, buf = len(self._d), "".join(self._buf)
        removals = sorted({n - s for s in self._confirmed})
        if self._alive and not removals:
            # The stream ended inside a restatement: everything it sent is already delivered.
            removals = [len(buf)]
        elif self._alive:
            removals = sorted({*removals, len(buf)})
        held = n - self._p
        if len(removals) == 1:
            removed = removals[0]
        elif removals:
            removed = removals[0]
            self.ambiguity = Ambiguity("several", removed, tuple(removals), held)
        elif self._is_restart(buf):
            removed = 0
            self.restarted = True
        else:
            removed = self._diverged()
            self.ambiguity = Ambiguity("diverged", removed, (removed,), held)
        self.overlap = removed
        self._buf = []
        self._alive = []
        return buf[removed:]

    def _diverged(self) -> int:
        """The longest agreement under a reading whose restated part agreed in full."""
        p = self._p
        best = 0
        for s, agreed in self._agree.items():
            if agreed >= p - s and agreed > best:
                best = agreed
        return best
