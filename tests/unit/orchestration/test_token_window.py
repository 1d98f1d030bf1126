"""Token windows: exact slices, token counts within the size for the given tokenizer, overlap
honoured; tiktoken only from its offline cache (a missing encoding is a clear error)."""

from __future__ import annotations

import importlib.util
import itertools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import l0
from l0.orchestration.tokens import TokenizerUnavailableError, resolve_tokenizer
from l0.orchestration.window import WINDOW_PRESETS, WindowStats, create_window

DOC = (
    "The first paragraph has two sentences. It is short.\n\n"
    "The second paragraph is longer! It goes on for a while, with commas, clauses and more "
    "words than the first one. Does it end? Yes.\n\n"
    "Third."
)


class CharEncoder:
    """A tokenizer object with ``encode`` (one token per character)."""

    def encode(self, text: str) -> list[int]:
        return [ord(c) for c in text]


def words(text: str) -> int:
    return len(text.split())


TOKENIZERS: dict[str, Any] = {"estimate": "estimate", "words": words, "chars": CharEncoder()}


def _litellm_tiktoken_cache() -> str | None:
    """LiteLLM ships tiktoken's cl100k_base file; tests use it as an offline cache."""
    spec = importlib.util.find_spec("litellm")  # located, not imported (its import is slow)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "litellm_core_utils" / "tokenizers"
    return str(path) if (path / "9b5ad71b2ce5302211f9c61530b329a4922fc6a4").exists() else None


def test_token_is_the_default_strategy_and_sizes_are_tokens() -> None:
    window = create_window(DOC, size=12, overlap=3)
    assert len(window) > 1
    for chunk in window:
        assert DOC[chunk.start : chunk.end] == chunk.text
        assert chunk.tokens == l0.estimate_tokens(chunk.text) <= 12
    assert window.chunks[0].end <= window.chunks[1].end


def test_windows_cut_at_paragraphs_first() -> None:
    window = create_window(DOC, size=40, overlap=0)
    assert window[0].text.rstrip() == DOC.split("\n\n")[0]


def test_estimate_tokens_is_four_characters_a_token() -> None:
    assert [l0.estimate_tokens(t) for t in ("", "a", "abcd", "abcde")] == [0, 1, 1, 2]


def test_presets_and_stats() -> None:
    document = ("word " * 3000 + "\n\n") * 3
    window = create_window(document, preset="small")
    stats = window.stats()
    assert isinstance(stats, WindowStats)
    assert stats.chunks == len(window) > 1
    assert stats.max_tokens <= WINDOW_PRESETS["small"]["size"]
    assert stats.characters == len(document)
    assert stats.tokens == l0.estimate_tokens(document)
    assert stats.chunk_tokens == sum(c.tokens for c in window)
    assert stats.overlap_characters > 0
    assert create_window(document, preset="small", size=500).stats().max_tokens <= 500


def test_a_word_longer_than_the_size_is_cut_by_characters() -> None:
    document = "x" * 100 + " tail"
    window = create_window(document, size=5, overlap=0, tokenizer=CharEncoder())
    assert "".join(c.text for c in window) == document
    assert all(c.tokens <= 5 for c in window)


@settings(max_examples=150, deadline=None)
@given(
    paragraphs=st.lists(
        st.lists(st.text("abc xyz,", min_size=1, max_size=30), min_size=1, max_size=5).map(
            lambda s: ". ".join(s) + "."
        ),
        min_size=1,
        max_size=6,
    ),
    size=st.integers(3, 40),
    overlap_share=st.floats(0, 0.9),
    name=st.sampled_from(sorted(TOKENIZERS)),
)
def test_property_exact_slices_within_size_overlap_honoured(
    paragraphs: list[str], size: int, overlap_share: float, name: str
) -> None:
    document = "\n\n".join(paragraphs)
    if not document.strip():
        return
    overlap = int(size * overlap_share)
    count: Callable[[str], int] = resolve_tokenizer(TOKENIZERS[name])
    window = create_window(document, size=size, overlap=overlap, tokenizer=TOKENIZERS[name])
    chunks = list(window)
    assert chunks[0].start == 0 and chunks[-1].end == len(document)
    for chunk in chunks:
        assert document[chunk.start : chunk.end] == chunk.text
        assert count(chunk.text) <= size or chunk.end - chunk.start == 1
    for a, b in itertools.pairwise(chunks):
        assert a.start < b.start <= a.end  # ordered, progressing, no gap
        assert count(document[b.start : a.end]) <= max(overlap, 0) or b.start == a.end


def test_tiktoken_from_the_offline_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = _litellm_tiktoken_cache()
    if cache is None:
        pytest.skip("no offline copy of cl100k_base (litellm not installed)")
    import tiktoken

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", cache)
    encoding = tiktoken.get_encoding("cl100k_base")
    for tokenizer in ("tiktoken:cl100k_base", "tiktoken:gpt-4", encoding):
        window = create_window(DOC, size=15, overlap=4, tokenizer=tokenizer)
        for chunk in window:
            assert chunk.tokens == len(encoding.encode(chunk.text)) <= 15
            assert DOC[chunk.start : chunk.end] == chunk.text


def test_a_missing_tiktoken_encoding_is_a_clear_error_not_a_download(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    with pytest.raises(TokenizerUnavailableError) as info:
        create_window(DOC, tokenizer="tiktoken:o200k_base")
    message = str(info.value)
    assert "TIKTOKEN_CACHE_DIR" in message and "never" in message and "downloads" in message
    assert "tokenizer='estimate'" in message
    assert os.listdir(tmp_path) == []  # nothing fetched into the cache


def test_an_unknown_tiktoken_name_lists_the_encodings() -> None:
    with pytest.raises(TokenizerUnavailableError, match="cl100k_base"):
        create_window(DOC, tokenizer="tiktoken:no-such-model")
