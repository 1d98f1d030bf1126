"""A resumed stream that ignores the prefix and starts the answer over in other words is a
restart (issue 11): never glued onto the checkpoint; ``RESET`` for text already shown."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import l0
from l0.runtime.continuation import OverlapResolver, opening_similarity
from l0.testing import FakeClock
from tests.fixtures.exactly_once import assemble, secret_rule

FIRST = "Rivers carve deep valleys over many thousand years while patient wind "
AGAIN = "Over many thousand years, rivers carve deep valleys, and wind shapes the stone."
ON = "shapes the stone of tall cliffs and quiet meadows."


def _resolver(delivered: str, **kw: object) -> OverlapResolver:
    return OverlapResolver(delivered, len(delivered.rstrip()), restart_similarity=0.75, **kw)  # type: ignore[arg-type]


def _feed(r: OverlapResolver, text: str, size: int = 5) -> str:
    out = []
    for i in range(0, len(text), size):
        got = r.feed(text[i : i + size])
        if got is not None:
            out.append(got)
    out.append(r.flush())
    return "".join(out)


def test_a_restart_in_other_words_is_recognised_and_kept_whole() -> None:
    r = _resolver(FIRST)
    assert _feed(r, AGAIN) == AGAIN
    assert r.restarted and r.overlap == 0 and r.ambiguity is None


def test_a_continuation_in_other_words_is_not_a_restart() -> None:
    r = _resolver(FIRST)
    assert _feed(r, "gusts " + ON) == "gusts " + ON  # diverged from the held-back text
    assert not r.restarted and r.ambiguity is not None and r.ambiguity.reason == "diverged"


def test_an_exact_continuation_is_released_without_waiting_for_the_opening() -> None:
    r = _resolver(FIRST)
    assert r.feed("wind ") == ""  # the held-back text restated: decided at once
    assert r.feed(ON) == ON and not r.restarted


def test_detection_off_or_opening_too_short() -> None:
    off = OverlapResolver(FIRST, len(FIRST.rstrip()))
    _feed(off, AGAIN)
    assert not off.restarted  # the divergence policy: the loop glues it onto the checkpoint
    assert off.ambiguity is not None and off.ambiguity.reason == "diverged"
    short = _resolver("Yes, rivers ")  # 12 chars: never compared
    _feed(short, "Rivers, yes.")
    assert not short.restarted
    assert opening_similarity("Yes, rivers", "Rivers, yes", 48) is None


@pytest.mark.parametrize(
    ("resumed", "restart"),
    [
        (AGAIN, True),
        ("Deep valleys are carved by rivers over many thousand years.", True),
        ("Sure! Rivers carve deep valleys over many years, and wind blows.", True),
        ("shapes the stone of tall cliffs and quiet meadows hold flowers.", False),
        ("and quiet meadows hold small flowers near cold streams today.", False),
    ],
)
def test_threshold_separates_restarts_from_continuations(resumed: str, restart: bool) -> None:
    r = _resolver(FIRST)
    _feed(r, resumed)
    assert r.restarted is restart


def test_the_threshold_and_window_are_validated() -> None:
    with pytest.raises(ValueError, match="restart_similarity"):
        l0.Continuation(restart_similarity=1.5)
    with pytest.raises(TypeError, match="restart_similarity"):
        l0.Continuation(restart_similarity="high")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="restart_window"):
        l0.Continuation(restart_window=4)
    assert l0.Continuation(restart_similarity=None).restart_similarity is None


def _source(calls: list[int]) -> object:
    def factory(attempt: l0.Attempt) -> AsyncIterator[str]:
        calls.append(attempt.number)

        async def gen() -> AsyncIterator[str]:
            if attempt.number == 1:
                for word in FIRST.split(" ")[:-1]:
                    yield word + " "
                raise ConnectionResetError("connection reset by peer")
            assert attempt.checkpoint  # asked to continue; starts over instead
            for word in AGAIN.split(" "):
                yield word if word.endswith(".") else word + " "

        return gen()

    return factory


@pytest.mark.anyio
@pytest.mark.parametrize("release", ["stream", "checked"])
async def test_through_the_loop_the_restart_replaces_the_checkpoint(release: str) -> None:
    for _ in range(5):
        calls: list[int] = []
        seen: list[l0.ObservabilityEvent] = []
        events = []
        async with l0.stream(
            _source(calls),  # type: ignore[arg-type]
            continuation=True,
            guardrails=[secret_rule()],
            release=release,
            retry=l0.Retry(base_delay=0),
            clock=FakeClock(),
            on_event=seen.append,
        ) as s:
            async for ev in s:
                events.append(ev)
        text, _ = assemble(events)
        assert text == AGAIN == s.result.text
        resets = [e for e in events if e.type is l0.EventType.RESET]
        assert len(resets) == 1 and calls == [1, 2]
        shown = len(FIRST.rstrip()) + 1 if release == "stream" else resets[0].data["discard"]
        assert resets[0].data["discard"] == shown
        assert [e.name for e in seen].count("RESET") == 1


@pytest.mark.anyio
async def test_a_restart_before_anything_was_shown_is_a_silent_replacement() -> None:
    # checked release with a rule whose look-ahead covers the whole first answer.
    calls: list[int] = []
    events = []
    rule = l0.guardrails.custom_pattern_rule([r"SECRET \d+"], severity="fatal")
    async with l0.stream(
        _source(calls),  # type: ignore[arg-type]
        continuation=True,
        guardrails=[rule],
        release="checked",
        retry=l0.Retry(base_delay=0),
        clock=FakeClock(),
    ) as s:
        async for ev in s:
            events.append(ev)
    assert not [e for e in events if e.type is l0.EventType.RESET]
    assert assemble(events)[0] == AGAIN
