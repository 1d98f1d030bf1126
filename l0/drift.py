"""Drift detection: is the output wandering off its expected course?

:class:`DriftDetector` implements :class:`l0.guardrails.hooks.DriftHook`. Each check consumes only
the new text (``delta``) and a sliding window of the last ``window`` characters; nothing ever
rescans the whole output, so a check costs O(delta + window) however long the answer grows.
The per-check work is a handful of C-level string operations (``lower``, ``split``, ``count``,
set intersection, one literal-alternation regex search); per-word Python loops run only when
a marker word is actually present.

Signals (confidence in brackets):

- ``meta_commentary`` (0.9): the model talks about itself — "as an AI language model",
  "I don't have personal …". Ordinary connectives ("To clarify", "In other words") do not count.
- ``format_collapse`` (0.8): chat-template or turn markers leak into the answer
  (``<|im_start|>``, ``[INST]``, a blank line then "Human:"): the model left the answer.
- ``repetition`` (0.8): a sentence of more than 20 characters seen ``repetition_threshold``
  times among the recent ones, or the last 80 characters repeated that many times in the window
  (a generation loop).
- ``tone_shift`` (0.7): one stretch (a batch of about 400 characters) is clearly formal
  ("therefore", "moreover") and one of the next two clearly casual ("gonna", "yeah"), or the
  reverse.
- ``markdown_collapse`` (0.7): a well-formatted answer (headings, lists, fences, bold) turns
  into two stretches of text with no markdown and no line break at all.
- ``entropy_spike`` (0.6): the character entropy of two consecutive samples jumps more than
  ``entropy_threshold`` standard deviations above its running mean: sustained garbage output.
  The measure is the Hartley (Rényi order 0) entropy, log2 of the number of distinct characters
  in the last 64 characters of each batch of prose: exact Shannon entropy needs a per-character
  count, which costs several times more, and both separate prose (about 4.5 bits) from garbage
  (about 5.6 bits) equally well. It needs 8 samples (about 3,200 characters of prose) before
  it can judge.
- ``hedging`` (0.5): hedge words ("perhaps", "possibly", "might", …) make up at least 8% of
  the recent words. A "Sure!" opener is *not* hedging.

Inside a code fence, tone, markdown, entropy and hedging signals are suspended.
A check reports the signals that fired in that delta; the final check reports every signal of
the answer, which the runtime turns into a content retry (:class:`l0.DriftError`).
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Iterable

from l0.guardrails.hooks import DriftResult
from l0.guardrails.rules import META_COMMENTARY, literal_pattern

__all__ = ["DRIFT_TYPES", "DriftDetector"]

DRIFT_TYPES = (
    "meta_commentary",
    "tone_shift",
    "repetition",
    "entropy_spike",
    "format_collapse",
    "markdown_collapse",
    "hedging",
)
"""Every signal name a :class:`DriftDetector` can report."""

_CONFIDENCE = {
    "meta_commentary": 0.9,
    "format_collapse": 0.8,
    "repetition": 0.8,
    "tone_shift": 0.7,
    "markdown_collapse": 0.7,
    "entropy_spike": 0.6,
    "hedging": 0.5,
}


_META = literal_pattern(*META_COMMENTARY)
_TEMPLATE = literal_pattern(
    "<|im_start|>",
    "<|im_end|>",
    "<|eot_id|>",
    "<|endoftext|>",
    "<|start_header_id|>",
    "[inst]",
    "[/inst]",
    "\n\nhuman:",
    "\n\nassistant:",
)
_OVERLAP = 24  # longer than any phrase above


def _words(*words: str) -> frozenset[str]:
    """The words and their forms followed by common punctuation."""
    return frozenset(w + p for w in words for p in ("", ",", ".", "!", "?", ";", ":"))


_FORMAL = _words("therefore", "thus", "hence", "moreover", "furthermore", "consequently")
_INFORMAL = _words("gonna", "wanna", "gotta", "yeah", "yep", "nope", "lol", "kinda", "dunno")
_HEDGES = _words(
    "perhaps",
    "possibly",
    "maybe",
    "might",
    "arguably",
    "presumably",
    "supposedly",
    "conceivably",
    "uncertain",
    "unclear",
)
_MARKERS = _FORMAL | _INFORMAL | _HEDGES
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_MAX_SENTENCE = 1000  # longer runs without a sentence end are not sentences
_STRIDE = 400  # characters analysed together (one tone / markdown segment)
_LOOP = 80  # the tail length whose repetition marks a generation loop
_ENTROPY_SAMPLE = 64  # characters whose entropy is measured, per batch of prose
_ENTROPY_MIN_SAMPLES = 8  # samples needed before a spike can be judged


class _Segment:
    """Counts over one stretch of about ``_SEGMENT`` characters of prose."""

    __slots__ = ("chars", "formal", "hedges", "informal", "markdown", "newlines", "words")

    def __init__(self) -> None:
        self.chars = self.formal = self.informal = self.hedges = self.words = 0
        self.markdown = self.newlines = 0


class DriftDetector:
    """Drift signals over a sliding window (see the module docstring for each signal).

    Args:
        window: Characters of recent text kept for the window checks (default 1000).
        signals: The signals to look for (default: all of :data:`DRIFT_TYPES`).
        repetition_threshold: Occurrences that make a repetition (default 3).
        entropy_threshold: Standard deviations above the mean that make a spike (default 2.5).
        entropy_window: Entropy samples kept for the mean (default 50).
        min_confidence: Signals below this confidence are never reported (default 0.5).

    Raises:
        ValueError: An unknown signal name or an out-of-range number.
    """

    def __init__(
        self,
        *,
        window: int = 1000,
        signals: Iterable[str] = DRIFT_TYPES,
        repetition_threshold: int = 3,
        entropy_threshold: float = 2.5,
        entropy_window: int = 50,
        min_confidence: float = 0.5,
    ) -> None:
        chosen = frozenset(signals)
        unknown = chosen - set(DRIFT_TYPES)
        if unknown:
            raise ValueError(f"DriftDetector(signals=...): unknown {sorted(unknown)}")
        if window < 3 * _LOOP:
            raise ValueError(f"DriftDetector(window=...) must be >= {3 * _LOOP}, got {window}")
        if repetition_threshold < 2:
            raise ValueError("DriftDetector(repetition_threshold=...) must be >= 2")
        if entropy_threshold <= 0 or entropy_window < 10:
            raise ValueError("DriftDetector needs entropy_threshold > 0 and entropy_window >= 10")
        self.signals = frozenset(s for s in chosen if _CONFIDENCE[s] >= min_confidence)
        self.window = window
        self.repetition_threshold = repetition_threshold
        self.entropy_threshold = entropy_threshold
        self.entropy_window = entropy_window
        self.reset()

    def reset(self) -> None:
        """Forget the answer."""
        self._pending: list[str] = []  # text not analysed yet
        self._pending_len = 0
        self._win = ""
        self._tail = ""  # lower-cased end of the text, for phrases cut by a batch boundary
        self._in_code = False
        self._fired: dict[str, None] = {}  # every signal of this answer, in order
        self._partial = ""  # the unfinished sentence (its last _MAX_SENTENCE chars)
        self._recent: deque[str] = deque()
        self._counts: dict[str, int] = {}
        self._segments: deque[_Segment] = deque(maxlen=4)
        self._md_seen = 0
        self._entropy: deque[float] = deque(maxlen=self.entropy_window)
        self._e_sum = self._e_sq = 0.0
        self._spikes = 0

    def check(self, delta: str, *, final: bool) -> DriftResult:
        """Feed ``delta`` and report drift (every signal of the answer when ``final``).

        Text is analysed in batches of at least ``_STRIDE`` characters (a streaming check
        with less new text only buffers it), so a signal is reported at most one stride late.
        """
        if delta:
            self._pending.append(delta)
            self._pending_len += len(delta)
        fired: list[str] = []
        if self._pending_len >= _STRIDE or (final and self._pending):
            text = "".join(self._pending)
            self._pending = []
            self._pending_len = 0
            self._analyse(text, fired)
        if final:
            if self._partial:
                self._sentences("", final=True, fired=fired)
            fired = list(self._fired)
        if not fired:
            return _NO_DRIFT
        return DriftResult(
            detected=True,
            types=tuple(fired),
            confidence=max(_CONFIDENCE[t] for t in fired),
            details="; ".join(fired),
        )

    def _fire(self, signal: str, fired: list[str]) -> None:
        if signal in self.signals and signal not in fired:
            fired.append(signal)
            self._fired[signal] = None

    def _analyse(self, text: str, fired: list[str]) -> None:
        low = self._tail + text.lower()
        self._tail = low[-_OVERLAP:]
        # Cheap substring pre-filters: the regexes run only when a phrase may be present.
        if (
            " ai" in low or "model" in low or "personal" in low or "actually" in low
        ) and _META.search(low) is not None:
            self._fire("meta_commentary", fired)
        if (
            "<|" in low or "inst]" in low or "\n\nhuman:" in low or "\n\nassistant:" in low
        ) and _TEMPLATE.search(low):
            self._fire("format_collapse", fired)
        if "." in text or "!" in text or "?" in text:
            self._sentences(text, final=False, fired=fired)
        else:
            self._partial = (self._partial + text)[-_MAX_SENTENCE:]
        win = self._win + text
        self._win = win = win[-self.window :]
        if len(win) >= _LOOP * self.repetition_threshold:
            tail = win[-_LOOP:]
            if win.count(tail) >= self.repetition_threshold and len(set(tail)) >= 8:
                self._fire("repetition", fired)
        fences = text.count("```")
        in_code = self._in_code
        if fences % 2:
            self._in_code = not in_code
        if not (in_code or fences):
            self._prose(text, low[-len(text) :], fired)

    def _sentences(self, delta: str, *, final: bool, fired: list[str]) -> None:
        parts = _SENTENCE_END.split(self._partial + delta)
        self._partial = "" if final else parts.pop()[-_MAX_SENTENCE:]
        recent, counts = self._recent, self._counts
        for raw in parts:
            sentence = " ".join(raw.lower().split())
            if len(sentence) <= 20:
                continue
            n = counts.get(sentence, 0) + 1
            counts[sentence] = n
            recent.append(sentence)
            if n >= self.repetition_threshold:
                self._fire("repetition", fired)
            if len(recent) > 64:
                old = recent.popleft()
                if counts[old] == 1:
                    del counts[old]
                else:
                    counts[old] -= 1

    def _prose(self, text: str, low: str, fired: list[str]) -> None:
        """Tone, markdown, hedging and entropy over one batch of text outside code fences."""
        words = low.split()
        seg = _Segment()
        seg.chars = len(text)
        seg.words = len(words)
        if "\n" in text:
            seg.newlines = text.count("\n")
            seg.markdown = (
                text.count("\n#") + text.count("\n- ") + text.count("\n* ") + text.count("\n1.")
            )
        if "*" in text:
            seg.markdown += text.count("**") // 2
        if "](" in text:
            seg.markdown += text.count("](")
        markers = _MARKERS.intersection(words)
        if markers:
            for w in markers:
                n = words.count(w)
                if w in _FORMAL:
                    seg.formal += n
                elif w in _INFORMAL:
                    seg.informal += n
                else:
                    seg.hedges += n
        self._close_segment(seg, fired)
        if "entropy_spike" in self.signals:
            self._entropy_check(text[-_ENTROPY_SAMPLE:], fired)

    def _close_segment(self, seg: _Segment, fired: list[str]) -> None:
        segs = self._segments
        if segs:
            prev = segs[-1]
            # Compare with the last two stretches: the shift itself usually falls inside one.
            if _shifted(prev, seg) or (len(segs) > 1 and _shifted(segs[-2], seg)):
                self._fire("tone_shift", fired)
            # Hedging over the last two stretches: at least 5 hedges and 1 word in 12.
            hedges, words = prev.hedges + seg.hedges, prev.words + seg.words
            if hedges >= 5 and hedges * 12 >= words:
                self._fire("hedging", fired)
        segs.append(seg)
        self._md_seen += seg.markdown
        if (
            self._md_seen >= 4
            and len(segs) >= 3
            and all(not s.markdown and not s.newlines for s in (segs[-1], segs[-2]))
        ):
            self._fire("markdown_collapse", fired)

    def _entropy_check(self, sample: str, fired: list[str]) -> None:
        """Hartley entropy (log2 of distinct characters) of a sample; spike detection."""
        h = math.log2(len(set(sample)) or 1)
        samples = self._entropy
        if len(samples) >= _ENTROPY_MIN_SAMPLES:
            mean = self._e_sum / len(samples)
            var = max(self._e_sq / len(samples) - mean * mean, 1e-4)
            if h > mean + self.entropy_threshold * math.sqrt(var):
                self._spikes += 1
                if self._spikes >= 2:
                    self._fire("entropy_spike", fired)
                return  # a spike does not become the new normal
            self._spikes = 0
        if len(samples) == samples.maxlen:
            old = samples[0]
            self._e_sum -= old
            self._e_sq -= old * old
        samples.append(h)
        self._e_sum += h
        self._e_sq += h * h


def _shifted(before: _Segment, after: _Segment) -> bool:
    """One stretch clearly formal and the other clearly casual (either way round)."""
    return (
        before.formal >= 2 and not before.informal and after.informal >= 2 and not after.formal
    ) or (before.informal >= 2 and not before.formal and after.formal >= 2 and not after.informal)


_NO_DRIFT = DriftResult(detected=False)
