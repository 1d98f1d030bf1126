"""create_window: exact-slice chunking strategies, navigation, and l0 over every chunk."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import l0
from l0.orchestration.window import Chunk, create_window, merge_results
from l0.testing import FakeClock, ScriptedSource, drop, fail, tokens

pytestmark = pytest.mark.anyio

PARAS = "First para one.\n\nSecond para two.\n\nThird para three.\n\nFourth para four."
TEXT = "Alpha beta gamma. Delta epsilon! Zeta eta theta? Iota kappa lambda."


def exact(window: Any, document: str) -> None:
    for chunk in window:
        assert document[chunk.start : chunk.end] == chunk.text


def test_char_windows_are_exact_slices_bounded_by_size_with_overlap() -> None:
    doc = " ".join(f"word{i}" for i in range(200))
    window = create_window(doc, size=100, overlap=20, strategy="char")
    exact(window, doc)
    assert all(len(c.text) <= 100 for c in window)
    assert window[0].start == 0 and window[-1].end == len(doc)
    for a, b in zip(window.chunks, window.chunks[1:], strict=False):
        assert 0 < a.end - b.start <= 20  # they overlap, by at most `overlap`
        assert a.text.endswith(" ")  # cut after a whitespace, not mid-word


def test_paragraph_strategy_packs_whole_paragraphs_and_repeats_the_last_as_overlap() -> None:
    window = create_window(PARAS, size=40, overlap=20, strategy="paragraph")
    exact(window, PARAS)
    assert [c.text for c in window] == [
        "First para one.\n\nSecond para two.",
        "Second para two.\n\nThird para three.",
        "Third para three.\n\nFourth para four.",
    ]
    no_overlap = create_window(PARAS, size=40, overlap=0, strategy="paragraph")
    assert len(no_overlap) == 2


def test_sentence_strategy_splits_after_terminal_punctuation() -> None:
    window = create_window(TEXT, size=35, overlap=0, strategy="sentence")
    exact(window, TEXT)
    assert [c.text for c in window] == [
        "Alpha beta gamma. Delta epsilon!",
        "Zeta eta theta? Iota kappa lambda.",
    ]


def test_an_oversize_paragraph_is_cut_by_characters() -> None:
    doc = "short\n\n" + "x " * 50
    window = create_window(doc, size=30, overlap=0, strategy="paragraph")
    exact(window, doc)
    assert window[0].text == "short" and all(len(c.text) <= 30 for c in window)
    assert "".join(c.text for c in window[1:]) == "x " * 50


def test_navigation() -> None:
    window = create_window(PARAS, size=20, overlap=0, strategy="paragraph")
    assert len(window) == 4 and window.current.is_first and not window.has_prev
    assert window.next() == window[1] and window.prev() == window[0]
    assert window.prev() is None and window.current.index == 0
    last = window.jump(-1)
    assert last.is_last and last.total == 4 and window.next() is None
    assert window.reset().index == 0
    assert window.context(1) == PARAS[window[0].start : window[2].end]
    assert [c.index for c in window.find("THIRD")] == [2]
    assert window.find("THIRD", case_sensitive=True) == []
    with pytest.raises(IndexError, match="out of range"):
        window.jump(4)


@pytest.mark.parametrize(
    ("document", "options", "error", "message"),
    [
        ("   \n ", {}, ValueError, "document is empty"),
        (b"bytes", {}, TypeError, "document must be a str"),
        ("text", {"size": 0}, ValueError, "size must be >= 1"),
        ("text", {"size": 10, "overlap": 10}, ValueError, "overlap"),
        ("text", {"overlap": -1}, ValueError, "overlap must be >= 0"),
        ("text", {"strategy": "tokens"}, ValueError, "did you mean 'token'"),
        ("text", {"preset": "mediun"}, ValueError, "did you mean 'medium'"),
        ("text", {"tokenizer": "tiktok"}, TypeError, "tiktoken:<encoding or model>"),
        ("text", {"tokenizer": 3}, TypeError, "got int"),
    ],
)
def test_bad_input(
    document: Any, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        create_window(document, **options)


async def test_process_runs_l0_over_every_chunk_in_order_with_retries() -> None:
    window = create_window(PARAS, size=20, overlap=0, strategy="paragraph")
    made: dict[int, ScriptedSource] = {}

    def factory(chunk: Chunk) -> ScriptedSource:
        head = chunk.text.split()[0].upper()
        script = [*tokens(head[:2]), drop()] if chunk.index == 1 else []
        made[chunk.index] = (
            ScriptedSource(script, tokens(head)) if script else ScriptedSource(tokens(head))
        )
        return made[chunk.index]

    results = await window.process(
        factory, concurrency=2, retry=l0.Retry(base_delay=0.001), clock=FakeClock()
    )
    assert [r.chunk.index for r in results] == [0, 1, 2, 3]
    assert merge_results(results, " ") == "FIRST SECOND THIRD FOURTH"
    assert made[1].calls == 2


async def test_process_keeps_failures_in_place() -> None:
    window = create_window(PARAS, size=20, overlap=0, strategy="paragraph")

    def factory(chunk: Chunk) -> ScriptedSource:
        if chunk.index == 2:
            return ScriptedSource([fail(l0.AuthenticationError("no"))])
        return ScriptedSource([str(chunk.index)])

    results = await window.process(factory)
    assert [r.ok for r in results] == [True, True, False, True]
    assert isinstance(results[2].error, l0.AuthenticationError)
    assert merge_results(results, ",") == "0,1,3"


async def test_process_rejects_bad_arguments() -> None:
    window = create_window("text")
    with pytest.raises(TypeError, match="source_factory"):
        await window.process("not callable")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="concurrency"):
        await window.process(lambda c: ScriptedSource(["x"]), concurrency=0)


@settings(max_examples=60, deadline=None)
@given(
    document=st.text("ab. \n", min_size=1, max_size=300).filter(lambda d: d.strip() != ""),
    size=st.integers(4, 60),
    overlap_share=st.floats(0, 0.9),
    strategy=st.sampled_from(["char", "paragraph", "sentence"]),
)
def test_property_character_strategies_give_exact_ordered_slices_within_size(
    document: str, size: int, overlap_share: float, strategy: Any
) -> None:
    overlap = int(size * overlap_share)
    chunks = list(create_window(document, size=size, overlap=overlap, strategy=strategy))
    # Only whitespace between units (what paragraph/sentence windows trim) is left out.
    assert document[: chunks[0].start].strip() == "" == document[chunks[-1].end :].strip()
    for chunk in chunks:
        assert document[chunk.start : chunk.end] == chunk.text
        assert len(chunk.text) <= size
    for a, b in itertools.pairwise(chunks):
        assert a.start < b.start  # progressing
        assert document[a.end : b.start].strip() == ""  # no text skipped
        assert a.end - b.start <= overlap  # overlap honoured
