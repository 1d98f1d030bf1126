"""Token counting for document windows: a pluggable tokenizer, never a download.

A tokenizer is any of:

- ``"estimate"`` (the default): :func:`estimate_tokens`, one token per 4 characters rounded
  up (OpenAI's rule of thumb for English; fast, no dependency, deliberately approximate);
- a callable ``str -> int`` counting the tokens of a text;
- an object with ``encode(str) -> sequence`` (a ``tiktoken.Encoding``, a Hugging Face
  tokenizer, …): its length is the count;
- ``"tiktoken:<encoding>"`` (``cl100k_base``, ``o200k_base``, ``p50k_base``, ``r50k_base``)
  or ``"tiktoken:<model>"`` (``gpt-4o``…), with the ``tiktoken`` package
  (``pip install 'l0[all]'``). tiktoken downloads its encodings on first use; l0 never lets it:
  the encoding must already be in tiktoken's cache (``TIKTOKEN_CACHE_DIR``), else
  :class:`TokenizerUnavailableError` says how to provide it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "TokenCounter",
    "TokenizerUnavailableError",
    "estimate_tokens",
    "resolve_tokenizer",
    "token_spans",
]

TokenCounter = Callable[[str], int]
CHARS_PER_TOKEN = 4
_BLOB = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"
# The .tiktoken file behind each encoding l0 can load from tiktoken's cache.
_FILES = {
    "cl100k_base": "cl100k_base",
    "o200k_base": "o200k_base",
    "o200k_harmony": "o200k_base",
    "p50k_base": "p50k_base",
    "p50k_edit": "p50k_base",
    "r50k_base": "r50k_base",
}


class TokenizerUnavailableError(ValueError):
    """The requested tokenizer cannot be used here (package missing, encoding not cached)."""


def estimate_tokens(text: str) -> int:
    """An estimate of ``text``'s token count: ``ceil(len(text) / 4)``.

    Example:
        >>> estimate_tokens("Hello, world!")
        4
    """
    return -(-len(text) // CHARS_PER_TOKEN)


def _cache_dir() -> str:
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if var in os.environ:
            return os.environ[var]
    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


def _tiktoken(name: str) -> TokenCounter:
    try:
        import tiktoken
    except ImportError as exc:
        raise TokenizerUnavailableError(
            f"tokenizer {'tiktoken:' + name!r} needs the tiktoken package: "
            "pip install 'l0[all]' (or pass tokenizer='estimate' or your own counter)"
        ) from exc
    encoding = name
    if name not in _FILES:
        try:
            encoding = tiktoken.encoding_name_for_model(name)
        except KeyError:
            raise TokenizerUnavailableError(
                f"tiktoken knows no encoding or model {name!r}; encodings: {sorted(_FILES)}"
            ) from None
    if encoding not in _FILES:
        raise TokenizerUnavailableError(
            f"l0 cannot load tiktoken encoding {encoding!r} offline; "
            f"use one of {sorted(_FILES)} or pass tokenizer=tiktoken.get_encoding(...)"
        )
    key = hashlib.sha1(_BLOB.format(_FILES[encoding]).encode()).hexdigest()
    path = os.path.join(_cache_dir(), key)
    if not os.path.exists(path):
        raise TokenizerUnavailableError(
            f"tiktoken encoding {encoding!r} is not in tiktoken's cache ({path}) and l0 never "
            "downloads at run time. Fix: on a machine with network run "
            f"`python -c \"import tiktoken; tiktoken.get_encoding('{encoding}')\"` with "
            "TIKTOKEN_CACHE_DIR set, ship that directory and set TIKTOKEN_CACHE_DIR to it here; "
            "or pass tokenizer='estimate' or any str -> int counter"
        )
    enc = tiktoken.get_encoding(encoding)  # read from the cache, checked above
    return lambda text: len(enc.encode(text, disallowed_special=()))


def resolve_tokenizer(tokenizer: Any) -> TokenCounter:
    """The ``str -> int`` counter for a ``tokenizer=`` option (see the module docstring).

    Raises:
        TokenizerUnavailableError: ``"tiktoken:..."`` cannot be loaded offline.
        TypeError: ``tokenizer`` is none of the accepted kinds.
    """
    if tokenizer == "estimate":
        return estimate_tokens
    if isinstance(tokenizer, str):
        if tokenizer.startswith("tiktoken:"):
            return _tiktoken(tokenizer.removeprefix("tiktoken:"))
        raise TypeError(
            f"tokenizer={tokenizer!r}: use 'estimate', 'tiktoken:<encoding or model>', a "
            "str -> int counter or an object with encode()"
        )
    encode = getattr(tokenizer, "encode", None)
    if callable(encode):
        return lambda text: len(encode(text))
    if callable(tokenizer):
        return tokenizer  # type: ignore[no-any-return]
    raise TypeError(
        f"tokenizer must be 'estimate', 'tiktoken:<encoding>', a str -> int counter or an "
        f"object with encode(), got {type(tokenizer).__name__}"
    )


# -- token windows -----------------------------------------------------------------------------

Span = tuple[int, int]
# Paragraph first, then sentence, then word; a word over the size is cut by characters.
_LEVELS = (
    re.compile(r"\n[ \t]*\n\s*"),
    re.compile(r"(?<=[.!?])\s+"),
    re.compile(r"\s+"),
)


def _units(
    text: str, start: int, end: int, size: int, count: TokenCounter, level: int
) -> Iterator[tuple[int, int, int]]:
    """Contiguous units ``(start, end, tokens)`` covering ``text[start:end]``, each at most
    ``size`` tokens, cut after separators (paragraph, then sentence, then word)."""
    cuts = [m.end() for m in _LEVELS[level].finditer(text, start, end) if start < m.end() < end]
    pos = start
    for stop in [*cuts, end]:
        tokens = count(text[pos:stop])
        if tokens <= size:
            yield pos, stop, tokens
        elif level + 1 < len(_LEVELS):
            yield from _units(text, pos, stop, size, count, level + 1)
        else:
            yield from _char_units(text, pos, stop, size, count)
        pos = stop


def _char_units(
    text: str, start: int, end: int, size: int, count: TokenCounter
) -> Iterator[tuple[int, int, int]]:
    """A piece without separators over ``size`` tokens: the longest prefixes that fit."""
    pos = start
    while pos < end:
        lo, hi = pos + 1, end  # the longest fitting prefix, by bisection (at least 1 char)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count(text[pos:mid]) <= size:
                lo = mid
            else:
                hi = mid - 1
        yield pos, lo, count(text[pos:lo])
        pos = lo


def token_spans(text: str, size: int, overlap: int, count: TokenCounter) -> list[Span]:
    """Exact-slice windows of at most ``size`` tokens (as ``count`` counts them); each window
    after the first repeats the previous one's trailing whole units worth at most ``overlap``
    tokens."""
    units = list(_units(text, 0, len(text), size, count, 0))
    spans: list[Span] = []
    i = 0
    while i < len(units):
        j, total = i, units[i][2]
        while j + 1 < len(units) and total + units[j + 1][2] <= size:
            j += 1
            total += units[j][2]
        while j > i and count(text[units[i][0] : units[j][1]]) > size:
            j -= 1  # the units' counts summed under the size, the joined text did not
        spans.append((units[i][0], units[j][1]))
        if j + 1 == len(units):
            break
        k, shared = j + 1, 0
        while k - 1 > i and shared + units[k - 1][2] <= overlap:
            k -= 1
            shared += units[k][2]
        i = k
    return spans
