"""Document windows: cut a long document into overlapping chunks and run l0 over each.

::

    window = l0.create_window(document, size=1000, overlap=100)  # tokens, paragraph-first
    results = await window.process(
        lambda chunk: lambda: client.chat.completions.create(..., chunk.text, stream=True),
        concurrency=4,
        retry=l0.Retry(attempts=2),
    )
    summary = merge_results(results)  # from l0.orchestration.window import merge_results

The default strategy, ``"token"``, sizes windows in tokens as ``tokenizer=`` counts them
(``"estimate"``: 4 characters a token; ``"tiktoken:cl100k_base"``; any ``str -> int`` counter
or object with ``encode``; see :mod:`l0.orchestration.tokens`) and cuts at paragraph, then
sentence, then word boundaries. ``"char"``, ``"paragraph"`` and ``"sentence"`` size in
characters. Every chunk is an exact slice of the document: ``document[c.start:c.end] ==
c.text``, separators included, nothing trimmed.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from typing_extensions import Unpack

from l0.orchestration.parallel import parallel
from l0.orchestration.tokens import TokenCounter, resolve_tokenizer, token_spans
from l0.types import Result

if TYPE_CHECKING:
    from l0.runtime.options import RunOptions

__all__ = [
    "WINDOW_PRESETS",
    "Chunk",
    "ChunkResult",
    "DocumentWindow",
    "WindowStats",
    "create_window",
    "merge_results",
]

WindowStrategy = Literal["token", "char", "paragraph", "sentence"]
_STRATEGIES = ("token", "char", "paragraph", "sentence")
WINDOW_PRESETS: dict[str, dict[str, int]] = {
    "small": {"size": 1000, "overlap": 100},
    "medium": {"size": 2000, "overlap": 200},
    "large": {"size": 4000, "overlap": 400},
}
"""Token sizes of the ``preset=`` names of :func:`create_window` (strategy ``"token"``)."""
_SEPARATORS = {
    "paragraph": re.compile(r"\n[ \t]*\n\s*"),
    # After ., ! or ? and whitespace, or at a blank line.
    "sentence": re.compile(r"(?<=[.!?])\s+|\n[ \t]*\n\s*"),
}
Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Chunk:
    """One window of the document.

    Attributes:
        index: Position among the chunks.
        text: The chunk's text, ``document[start:end]``.
        start: Offset of its first character in the document.
        end: Offset just past its last character.
        total: How many chunks the document has.
        tokens: Its token count, by the window's tokenizer.
    """

    index: int
    text: str
    start: int
    end: int
    total: int
    tokens: int = 0

    @property
    def is_first(self) -> bool:
        """Whether this is the first chunk."""
        return self.index == 0

    @property
    def is_last(self) -> bool:
        """Whether this is the last chunk."""
        return self.index == self.total - 1


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """What :meth:`DocumentWindow.process` produced for one chunk.

    Attributes:
        chunk: The chunk.
        result: Its :class:`l0.Result`, or ``None`` when the run failed.
        error: The exception that ended the run, if any.
    """

    chunk: Chunk
    result: Result | None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """Whether the chunk's run succeeded."""
        return self.error is None


def _char_spans(text: str, start: int, end: int, size: int, overlap: int) -> list[Span]:
    """Windows of at most ``size`` characters over ``text[start:end]``, stepping back
    ``overlap`` characters; a window ends after a whitespace in its second half if any."""
    spans: list[Span] = []
    pos = start
    while pos < end:
        stop = min(pos + size, end)
        if stop < end:
            cut = max(
                text.rfind(" ", pos + size // 2, stop), text.rfind("\n", pos + size // 2, stop)
            )
            stop = cut + 1 if cut > pos else stop
        spans.append((pos, stop))
        if stop >= end:
            break
        pos = max(stop - overlap, pos + 1)
    return spans


def _units(text: str, separator: re.Pattern[str], size: int) -> list[Span]:
    """Spans between separators; units longer than ``size`` are cut into char windows."""
    units: list[Span] = []
    pos = 0
    for match in [*separator.finditer(text), None]:
        stop = match.start() if match else len(text)
        if stop > pos:
            units += _char_spans(text, pos, stop, size, 0) if stop - pos > size else [(pos, stop)]
        if match:
            pos = match.end()
    return units


def _pack(units: list[Span], size: int, overlap: int) -> list[Span]:
    """Consecutive units packed into chunks of at most ``size`` characters; each chunk after
    the first repeats the previous chunk's trailing whole units that fit in ``overlap``."""
    chunks: list[Span] = []
    i = 0
    while i < len(units):
        j = i
        while j + 1 < len(units) and units[j + 1][1] - units[i][0] <= size:
            j += 1
        chunks.append((units[i][0], units[j][1]))
        if j + 1 == len(units):
            break
        k = j + 1
        while k - 1 > i and units[j][1] - units[k - 1][0] <= overlap:
            k -= 1
        i = k
    return chunks


def _check_int(option: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"create_window: {option} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"create_window: {option} must be >= {minimum}, got {value}")


@dataclass(frozen=True, slots=True)
class WindowStats:
    """What :meth:`DocumentWindow.stats` reports.

    Attributes:
        chunks: How many chunks.
        characters: The document's length.
        tokens: The document's token count (by the window's tokenizer).
        chunk_tokens: The chunks' token counts summed (overlaps count twice).
        max_tokens: The largest chunk's token count.
        average_tokens: The chunks' mean token count.
        overlap_characters: Characters shared by neighbouring chunks, summed.
    """

    chunks: int
    characters: int
    tokens: int
    chunk_tokens: int
    max_tokens: int
    average_tokens: float
    overlap_characters: int


class DocumentWindow:
    """The chunks of a document, with a cursor for step-by-step navigation.

    Iterating, indexing and ``len()`` see every chunk; :attr:`current`, :meth:`next`,
    :meth:`prev`, :meth:`jump` and :meth:`reset` move the cursor.
    """

    def __init__(
        self, document: str, spans: Sequence[Span], count: TokenCounter | None = None
    ) -> None:
        self.document = document
        self.count = count or resolve_tokenizer("estimate")
        self.chunks = [
            Chunk(i, document[s:e], s, e, len(spans), self.count(document[s:e]))
            for i, (s, e) in enumerate(spans)
        ]
        self.position = 0

    def stats(self) -> WindowStats:
        """Sizes and overlaps of the chunks (see :class:`WindowStats`)."""
        tokens = [c.tokens for c in self.chunks]
        shared = sum(max(a.end - b.start, 0) for a, b in itertools.pairwise(self.chunks))
        return WindowStats(
            chunks=len(self.chunks),
            characters=len(self.document),
            tokens=self.count(self.document),
            chunk_tokens=sum(tokens),
            max_tokens=max(tokens, default=0),
            average_tokens=sum(tokens) / len(tokens) if tokens else 0.0,
            overlap_characters=shared,
        )

    def __len__(self) -> int:
        return len(self.chunks)

    def __iter__(self) -> Iterator[Chunk]:
        return iter(self.chunks)

    def __getitem__(self, index: int) -> Chunk:
        return self.chunks[index]

    @property
    def current(self) -> Chunk:
        """The chunk under the cursor."""
        return self.chunks[self.position]

    @property
    def has_next(self) -> bool:
        """Whether :meth:`next` can move."""
        return self.position + 1 < len(self.chunks)

    @property
    def has_prev(self) -> bool:
        """Whether :meth:`prev` can move."""
        return self.position > 0

    def next(self) -> Chunk | None:
        """Move to the next chunk and return it (``None`` at the end; the cursor stays)."""
        if not self.has_next:
            return None
        self.position += 1
        return self.current

    def prev(self) -> Chunk | None:
        """Move to the previous chunk and return it (``None`` at the start)."""
        if not self.has_prev:
            return None
        self.position -= 1
        return self.current

    def jump(self, index: int) -> Chunk:
        """Move to chunk ``index`` (negative counts from the end) and return it.

        Raises:
            IndexError: No such chunk.
        """
        if not -len(self.chunks) <= index < len(self.chunks):
            raise IndexError(f"chunk {index} out of range (the window has {len(self)})")
        self.position = index % len(self.chunks)
        return self.current

    def reset(self) -> Chunk:
        """Move back to the first chunk and return it."""
        self.position = 0
        return self.current

    def context(self, index: int, *, before: int = 1, after: int = 1) -> str:
        """The document text from ``before`` chunks before ``index`` to ``after`` chunks
        after it (an exact slice, so overlaps are not repeated)."""
        first = self.chunks[max(index - before, 0)]
        last = self.chunks[min(index + after, len(self.chunks) - 1)]
        return self.document[first.start : last.end]

    def find(self, text: str, *, case_sensitive: bool = False) -> list[Chunk]:
        """The chunks containing ``text``."""
        if case_sensitive:
            return [c for c in self.chunks if text in c.text]
        needle = text.casefold()
        return [c for c in self.chunks if needle in c.text.casefold()]

    async def process(
        self,
        source_factory: Callable[[Chunk], Any],
        *,
        concurrency: int = 5,
        fail_fast: bool = False,
        **run_options: Unpack[RunOptions],
    ) -> list[ChunkResult]:
        """Run :func:`l0.run` over every chunk, at most ``concurrency`` at a time.

        Args:
            source_factory: ``chunk -> source`` (a source as for :func:`l0.run`).
            concurrency: Runs in flight at once (>= 1).
            fail_fast: Cancel the other runs and raise at the first failure.
            **run_options: Options of :func:`l0.run` for every chunk.

        Returns:
            One :class:`ChunkResult` per chunk, in document order.
        """
        if not callable(source_factory):
            raise TypeError("process: source_factory must be a callable chunk -> source")
        sources = [source_factory(chunk) for chunk in self.chunks]
        outcomes = await parallel(
            sources, concurrency=concurrency, fail_fast=fail_fast, **run_options
        )
        return [
            ChunkResult(c, o, None) if isinstance(o, Result) else ChunkResult(c, None, o)
            for c, o in zip(self.chunks, outcomes, strict=True)
        ]


def _unknown(option: str, value: object, valid: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(value), valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"create_window: {option} must be one of {valid}, got {value!r}{hint}"


def create_window(
    document: str,
    *,
    size: int | None = None,
    overlap: int | None = None,
    strategy: WindowStrategy = "token",
    tokenizer: Any = "estimate",
    preset: str | None = None,
) -> DocumentWindow:
    """Cut ``document`` into overlapping chunks, each an exact slice of it.

    Strategies:
        ``"token"`` (default): windows of at most ``size`` tokens (``tokenizer=``), cut after
        a paragraph break, else a sentence end, else a space (a word over ``size`` is cut by
        characters); each window repeats the previous one's trailing whole pieces worth at
        most ``overlap`` tokens. Default size 2000, overlap 200.
        ``"char"``: windows of ``size`` characters, each ending after a whitespace in its
        second half when there is one; consecutive windows share ``overlap`` characters.
        ``"paragraph"`` / ``"sentence"``: whole paragraphs (split at blank lines) or
        sentences (split after ``.``, ``!``, ``?`` and whitespace) packed up to ``size``
        characters; each chunk repeats the previous one's trailing whole units that fit in
        ``overlap``. A unit longer than ``size`` is cut like ``"char"`` (without overlap).

    Args:
        document: The text (must contain a non-whitespace character).
        size: Maximum chunk size, in tokens (``"token"``) or characters (>= 1).
        overlap: Size shared between neighbouring chunks (>= 0, < ``size``).
        strategy: ``"token"``, ``"char"``, ``"paragraph"`` or ``"sentence"``.
        tokenizer: ``"estimate"``, ``"tiktoken:<encoding or model>"``, a ``str -> int``
            counter or an object with ``encode`` (see :mod:`l0.orchestration.tokens`); it also
            fills :attr:`Chunk.tokens` for the other strategies.
        preset: ``"small"``, ``"medium"`` or ``"large"`` (:data:`WINDOW_PRESETS`, tokens);
            ``size``/``overlap`` given explicitly win.

    Raises:
        TypeError, ValueError: Empty document, bad size, overlap, strategy or preset.
        l0.orchestration.tokens.TokenizerUnavailableError: The tokenizer cannot be loaded
            offline (the message says how to provide it).
    """
    if not isinstance(document, str):
        raise TypeError(f"create_window: document must be a str, got {type(document).__name__}")
    if not document.strip():
        raise ValueError("create_window: document is empty")
    if strategy not in _STRATEGIES:
        raise ValueError(_unknown("strategy", strategy, _STRATEGIES))
    if preset is not None and preset not in WINDOW_PRESETS:
        raise ValueError(_unknown("preset", preset, tuple(WINDOW_PRESETS)))
    defaults = WINDOW_PRESETS[preset or "medium"]
    size = defaults["size"] if size is None else size
    overlap = defaults["overlap"] if overlap is None else overlap
    _check_int("size", size, 1)
    _check_int("overlap", overlap, 0)
    if overlap >= size:
        raise ValueError(f"create_window: overlap ({overlap}) must be < size ({size})")
    count = resolve_tokenizer(tokenizer)
    if strategy == "token":
        spans = token_spans(document, size, overlap, count)
    elif strategy == "char":
        spans = _char_spans(document, 0, len(document), size, overlap)
    else:
        spans = _pack(_units(document, _SEPARATORS[strategy], size), size, overlap)
    return DocumentWindow(document, spans, count)


def merge_results(results: Sequence[ChunkResult], separator: str = "\n\n") -> str:
    """The texts of the successful chunk runs, in order, joined by ``separator``."""
    return separator.join(r.result.text for r in results if r.result is not None)
