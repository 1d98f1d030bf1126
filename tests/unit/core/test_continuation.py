"""Overlap removal when a resumed stream restates the checkpoint."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import l0
from l0.runtime.continuation import OverlapResolver, find_overlap
from l0.testing import FakeClock, ScriptedSource, drop, tokens


def resolve(checkpoint: str, pieces: list[str], lo: int = 2, hi: int = 500) -> str:
    r = OverlapResolver(checkpoint, min_overlap=lo, max_overlap=hi)
    out = []
    for p in pieces:
        got = r.feed(p)
        if got is not None:
            out.append(got)
    out.append(r.flush())
    return checkpoint + "".join(out)


def test_restated_suffix_is_removed() -> None:
    assert resolve("The quick brown fox", [" brown", " fox jumps"]) == "The quick brown fox jumps"


def test_plain_continuation_is_kept() -> None:
    assert resolve("The quick brown", [" fox", " jumps"]) == "The quick brown fox jumps"


def test_full_restart_is_recognised_at_any_length() -> None:
    checkpoint = "x" * 10 + "The answer is long. " * 60  # longer than max_overlap
    assert (
        resolve(checkpoint, [checkpoint[:700], checkpoint[700:], " More."]) == checkpoint + " More."
    )


def test_overlap_below_minimum_is_not_removed() -> None:
    assert resolve("abc d", ["d!"], lo=2) == "abc dd!"


def test_output_is_released_as_soon_as_the_overlap_is_decided() -> None:
    r = OverlapResolver("Hello world", min_overlap=2, max_overlap=500)
    assert r.feed("zz") == "zz"  # "zz" occurs nowhere in the checkpoint: decided at once
    assert r.overlap == 0
    assert r.feed(" more") == " more"


def ambiguous(text: str, cut: int, overlap: int, lo: int, hi: int) -> bool:
    """True when a different overlap than the restated one is an equally valid reading."""
    checkpoint, resumed = text[:cut], text[cut - overlap :]
    return find_overlap(checkpoint, resumed, lo, hi) != overlap


@settings(max_examples=250, deadline=None)
@given(
    text=st.text(min_size=1, max_size=900),
    cut_frac=st.floats(0, 1),
    overlap=st.integers(0, 500),
    chunk=st.integers(1, 40),
)
def test_property_dedupe_reproduces_the_text(
    text: str, cut_frac: float, overlap: int, chunk: int
) -> None:
    """For any text, cut point and restated overlap (0 or 2..500 chars) the result is exact.

    Ambiguous cases — where the text around the cut is periodic, so a different overlap reads
    equally well — are excluded: no text-only method can tell them apart.
    """
    cut = int(cut_frac * len(text))
    overlap = min(overlap, cut)
    assume(overlap != 1)
    assume(not ambiguous(text, cut, overlap, 2, 500))
    resumed = text[cut - overlap :]
    pieces = [resumed[i : i + chunk] for i in range(0, len(resumed), chunk)]
    assert resolve(text[:cut], pieces) == text


@pytest.mark.anyio
@pytest.mark.parametrize("overlap", [0, 2, 7, 40])
async def test_drop_after_n_with_continuation_gives_byte_exact_text(overlap: int) -> None:
    text = " ".join(f"word{i}-{i * i % 17}" for i in range(60))  # no periodic stretches
    first = text[:130]

    def resumed(attempt: l0.Attempt) -> list[str]:
        return tokens(text[len(attempt.checkpoint) - overlap :], 5)

    source = ScriptedSource([*tokens(first, 5), drop()], [])
    calls: list[l0.Attempt] = []

    def factory(attempt: l0.Attempt):  # type: ignore[no-untyped-def]
        calls.append(attempt)
        return source(attempt) if attempt.number == 1 else resumed(attempt)

    shown: list[str] = []
    async with l0.stream(factory, continuation=True, clock=FakeClock()) as s:
        async for ev in s:
            if ev.type is l0.EventType.TOKEN:
                shown.append(ev.text or "")
            assert ev.type is not l0.EventType.RESET
    assert s.result.text == text
    assert "".join(shown) == text  # what the consumer saw: no duplicated span
    assert calls[1].checkpoint == first
    assert calls[1].is_continuation and calls[1].is_retry
    assert s.result.state.resumed and s.result.state.resume_point == len(first)
    assert source.closed == 1


def test_continuation_messages_appends_the_checkpoint() -> None:
    msgs = [{"role": "user", "content": "hi"}]
    a = l0.Attempt(
        number=2, checkpoint="Hello, wor", continuation=l0.Continuation(prompt="Continue.")
    )
    assert a.continuation_messages(msgs) == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello, wor"},
        {"role": "user", "content": "Continue."},
    ]
    assert msgs == [{"role": "user", "content": "hi"}]
    assert l0.Attempt().continuation_messages(msgs) == msgs


def test_continuation_config_is_validated() -> None:
    with pytest.raises(ValueError, match="min_overlap"):
        l0.Continuation(min_overlap=10, max_overlap=5)
    with pytest.raises(TypeError):
        l0.Continuation(min_overlap="2")  # type: ignore[arg-type]


def test_trailing_whitespace_is_left_out_of_the_prefix_and_not_doubled() -> None:
    a = l0.Attempt(number=2, checkpoint="Hello, world ")
    assert a.continuation_messages([])[-1] == {"role": "assistant", "content": "Hello, world"}
    assert resolve("Hello, world ", [" again"]) == "Hello, world again"
    assert resolve("Hello, world\n\n", ["\nNext"]) == "Hello, world\n\nNext"
    assert resolve("Hello, world ", ["again"]) == "Hello, world again"
