"""Continuation alignment: the held-back tail and the resolver, on periodic text too.

The model stand-in continues the prefix l0 sends back exactly, after restating ``r`` of its
last characters (``r = 0`` is Anthropic's exact prefill continuation; chat models restate),
or restarts the answer when the prefix is empty.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from l0.runtime.continuation import OverlapResolver, resume_prefix_length

ISSUE_TABLE = "| 1 | ok | ok |\n| 2 | ok | ok |\n| 3 | ok | ok |\n"

CORPUS = {
    "table": "| id | status | owner |\n|----|--------|-------|\n"
    + "".join(f"| {i} | ok | ok |\n" for i in range(1, 9)),
    "identical_rows": "| a | b |\n|---|---|\n" + "| ok | ok |\n" * 14 + "\nDone.",
    "checklist": "Checklist:\n" + "".join(f"- [x] step {i} done\n" for i in range(1, 8)),
    "bare_checklist": "".join("- [ ] todo\n" for _ in range(12)) + "- [x] last\n",
    "code": "def f(x):\n"
    + "".join(f"    if x == {i}:\n        return {i}\n" for i in range(6))
    + "    return None\n",
    "phrases": "very " * 30 + "good. " + "ha ha ha " * 10 + "the end",
    "prose": "Mississippi is a river; the cat sat on the mat and that was that.",
}


def resume(
    text: str, cut: int, restate: int, chunk: int = 5, *, max_held_back: int = 500
) -> tuple[str, OverlapResolver]:
    """Break ``text`` at ``cut``; the resumed attempt restates ``restate`` chars of the prefix."""
    delivered = text[:cut]
    p = resume_prefix_length(delivered, max_held_back=max_held_back)
    resumed = text[max(0, p - restate) :]
    resolver = OverlapResolver(delivered, p)
    out = [resolver.feed(resumed[i : i + chunk]) for i in range(0, len(resumed), chunk)]
    return delivered + "".join(o for o in out if o is not None) + resolver.flush(), resolver


def test_the_issue_table_cut_after_ok_continued_exactly() -> None:
    cut = ISSUE_TABLE.index("| 2 | ok ") + len("| 2 | ok ")
    final, resolver = resume(ISSUE_TABLE, cut, restate=0)
    assert final == ISSUE_TABLE
    assert resolver.ambiguity is None
    # The prefix sent back stops where the tail is unique: the row number is held back.
    p = resume_prefix_length(ISSUE_TABLE[:cut])
    assert ISSUE_TABLE[p:cut] == " 2 | ok "


@pytest.mark.parametrize("restate", [0, 1, 5, 8, 12, 40, 500])
def test_the_issue_table_at_every_cut(restate: int) -> None:
    for cut in range(1, len(ISSUE_TABLE)):
        final, resolver = resume(ISSUE_TABLE, cut, restate)
        assert final == ISSUE_TABLE, (cut, restate)
        assert resolver.ambiguity is None


@pytest.mark.parametrize("name", sorted(CORPUS))
@pytest.mark.parametrize("restate", [0, 8, 12, 40])
def test_corpus_every_cut_point_loses_and_doubles_nothing(name: str, restate: int) -> None:
    text = CORPUS[name]
    lost = doubled = 0
    for cut in range(1, len(text)):
        final, resolver = resume(text, cut, restate, chunk=1 + cut % 7)
        lost += max(0, len(text) - len(final))
        doubled += max(0, len(final) - len(text))
        assert final == text, (cut, final[cut - 20 : cut + 20])
        assert resolver.ambiguity is None
    assert (lost, doubled) == (0, 0)


def test_text_periodic_beyond_the_hold_back_limit_restarts_and_aligns() -> None:
    text = "ab" * 400
    delivered = text[:701]
    assert resume_prefix_length(delivered) == 0  # no unique tail within 500 chars
    for restate in (0, 2, 40):
        final, resolver = resume(text, 701, restate)
        assert final == text and resolver.ambiguity is None


def test_prefix_never_ends_in_whitespace() -> None:
    for text in CORPUS.values():
        for cut in range(1, len(text)):
            p = resume_prefix_length(text[:cut])
            assert p == 0 or not text[p - 1].isspace()


def test_ordinary_prose_holds_back_only_a_few_characters() -> None:
    text = CORPUS["prose"]
    held = [cut - resume_prefix_length(text[:cut]) for cut in range(10, len(text))]
    assert max(held) <= 6, held


def test_release_is_immediate_once_one_reading_is_left() -> None:
    delivered = "Hello world"
    p = resume_prefix_length(delivered)
    assert delivered[p:] == "d"  # the shortest tail found nowhere else
    r = OverlapResolver(delivered, p)
    assert r.feed("wor") is None  # may restate "wor" before the held-back "d"
    assert r.feed("ld and more") == " and more"
    assert r.overlap == 5 and r.ambiguity is None  # "worl" restated + "d"
    assert r.feed("!") == "!"


def test_full_restart_is_recognised_at_any_length() -> None:
    delivered = "x" * 10 + "The answer is long. " * 60
    p = resume_prefix_length(delivered)
    r = OverlapResolver(delivered, p)
    assert r.feed(delivered[:700]) is None
    assert r.feed(delivered[700:] + " More.") == " More."
    assert r.overlap == len(delivered)


def test_stream_ending_inside_the_restatement_adds_nothing() -> None:
    r = OverlapResolver("The quick brown fox", 16)  # "fox" held back
    assert r.feed("brown f") is None
    assert r.flush() == ""
    assert r.ambiguity is None


def test_several_readings_remove_the_fewest_and_say_so() -> None:
    # Holding back only the trailing space (a prefix l0 would not choose) leaves the cut
    # periodic: "| ok " may be restated or new.
    delivered = "| 1 | ok | ok |\n| 2 | ok "
    r = OverlapResolver(delivered)
    out = r.feed(" | ok |\n| 3 | ok | ok |\n")
    assert out is not None and r.flush() == ""
    assert r.ambiguity is not None and r.ambiguity.reason == "several"
    assert r.overlap == 1  # only the restated trailing space: nothing new is dropped
    assert len(r.ambiguity.candidates) > 1 and r.ambiguity.candidates[0] == 1


def test_divergence_keeps_what_the_model_wrote_after_the_agreement() -> None:
    delivered = "The answer is 4"
    p = resume_prefix_length(delivered)
    assert delivered[p:] == " 4"
    r = OverlapResolver(delivered, p)
    assert r.feed(" 5, not 4.") == "5, not 4."
    assert r.ambiguity is not None and r.ambiguity.reason == "diverged"
    assert r.ambiguity.held_back == 2 and r.overlap == 1


def test_whitespace_restated_differently() -> None:
    assert OverlapResolver("Hello, world\n\n").feed("\nNext") == "Next"
    assert OverlapResolver("Hello, world ").feed(" again") == "again"
    assert OverlapResolver("Hello, world ").feed("again") == "again"


def test_bad_prefix_length_is_rejected() -> None:
    with pytest.raises(ValueError, match="prefix_length"):
        OverlapResolver("abc", 4)


def _periodic() -> st.SearchStrategy[str]:
    unit = st.text(alphabet="ab |-\nx0", min_size=1, max_size=12)
    return st.builds(
        lambda pre, u, k, post: pre + u * k + post,
        st.text(max_size=30),
        unit,
        st.integers(2, 80),
        st.text(max_size=30),
    )


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(st.text(min_size=1, max_size=900), _periodic()),
    cut_frac=st.floats(0, 1),
    restate=st.integers(0, 500),
    chunk=st.integers(1, 40),
)
def test_property_resume_reproduces_the_text(
    text: str, cut_frac: float, restate: int, chunk: int
) -> None:
    """Any text, periodic included, any cut, any restatement 0..500: byte-exact, unambiguous."""
    cut = int(cut_frac * len(text))
    final, resolver = resume(text, cut, restate, chunk)
    assert final == text
    assert resolver.ambiguity is None
