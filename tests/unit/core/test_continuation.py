"""Continuation through the attempt loop (the alignment itself: test_alignment.py)."""

from __future__ import annotations

import pytest

import l0
from l0.testing import FakeClock, ScriptedSource, drop, tokens


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
    assert calls[1].checkpoint + calls[1].held_back == first
    assert first.startswith(calls[1].checkpoint) and len(calls[1].held_back) < 8
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


ISSUE_TABLE = "| 1 | ok | ok |\n| 2 | ok | ok |\n| 3 | ok | ok |\n"


@pytest.mark.anyio
@pytest.mark.parametrize("restate", [0, 5, 12])
async def test_issue_table_dropped_after_ok_through_the_loop(restate: int) -> None:
    """The issue's input: drop after ``"...| 2 | ok "``, the resumed stream restating nothing
    (or ``restate`` chars of the prefix it was sent)."""
    first = ISSUE_TABLE[: ISSUE_TABLE.index("| 2 | ok ") + 9]

    def factory(attempt: l0.Attempt):  # type: ignore[no-untyped-def]
        if attempt.number == 1:
            return ScriptedSource([*tokens(first, 3), drop()])(attempt)
        start = max(0, len(attempt.checkpoint) - restate)
        return tokens(ISSUE_TABLE[start:], 4)

    seen: list[l0.ObservabilityEvent] = []
    result = await l0.run(factory, continuation=True, clock=FakeClock(), on_event=seen.append)
    assert result.text == ISSUE_TABLE
    assert "CONTINUATION_AMBIGUOUS" not in [e.name for e in seen]
    resume = next(e for e in seen if e.name == "RESUME_START")
    assert resume.data["checkpoint_length"] == len(first)
    assert resume.data["held_back"] == len(" 2 | ok ")


@pytest.mark.anyio
async def test_a_resumed_stream_that_diverges_is_reported_and_loses_nothing() -> None:
    first = "The answer is 4"

    def factory(attempt: l0.Attempt):  # type: ignore[no-untyped-def]
        if attempt.number == 1:
            return ScriptedSource([first, drop()])(attempt)
        assert (attempt.checkpoint, attempt.held_back) == ("The answer is", " 4")
        return [" 5, or so."]  # not the held-back " 4" again

    seen: list[l0.ObservabilityEvent] = []
    result = await l0.run(factory, continuation=True, clock=FakeClock(), on_event=seen.append)
    assert result.text == "The answer is 45, or so."  # delivered text kept, model text kept
    amb = [e for e in seen if e.name == "CONTINUATION_AMBIGUOUS"]
    assert len(amb) == 1
    assert amb[0].data["reason"] == "diverged"
    assert amb[0].data["removed"] == 1 and amb[0].data["held_back"] == 2


def test_max_held_back_is_validated() -> None:
    with pytest.raises(ValueError, match="max_held_back"):
        l0.Continuation(max_held_back=0)
    with pytest.raises(TypeError, match="max_held_back"):
        l0.Continuation(max_held_back=1.5)  # type: ignore[arg-type]
