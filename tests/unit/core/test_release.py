"""The release policy: ``checked`` holds back each rule's look-ahead, so rejected text never
reaches the consumer; ``stream`` releases at once and resets (issue 11)."""

from __future__ import annotations

import random

import pytest

import l0
from l0.guardrails import GuardrailEngine, Severity, Violation, custom_pattern_rule, recommended
from l0.runtime.checks import _STEP
from l0.testing import FakeClock
from tests.fixtures.exactly_once import FAULTS, SECRET, Scenario, assemble, secret_rule

pytestmark = pytest.mark.anyio

RUNS = 200


class Word:
    """A rule of unknown look-ahead that rejects a word seen in one delta."""

    name = "word"

    def __init__(self, word: str, severity: Severity = Severity.FATAL) -> None:
        self.word = word
        self.severity = severity

    def reset(self) -> None:
        pass

    def check(self, delta: str, state: object, *, final: bool) -> list[Violation]:
        if self.word in delta:
            return [Violation(self.name, "found", self.severity, False)]
        return []


async def _events(source: object, **options: object) -> list[l0.Event]:
    out: list[l0.Event] = []
    async with l0.stream(source, **options) as s:  # type: ignore[arg-type]
        async for ev in s:
            out.append(ev)
    return out


# -- the option --------------------------------------------------------------------------------


def test_default_is_checked_when_a_rule_can_reject_text() -> None:
    assert l0.stream(list, guardrails=recommended())._run.opts.release == "checked"
    assert l0.stream(list, guardrails=[secret_rule()])._run.opts.release == "checked"
    assert l0.stream(list, guardrails=[Word("x")])._run.opts.release == "checked"
    warn_only = [custom_pattern_rule(["x"], severity="warning")]
    assert l0.stream(list, guardrails=warn_only)._run.opts.release == "stream"
    assert l0.stream(list)._run.opts.release == "stream"
    assert l0.stream(list, guardrails=recommended(), release="stream")._run.opts.release == (
        "stream"
    )


def test_a_misspelt_policy_names_the_closest() -> None:
    with pytest.raises(ValueError, match="did you mean 'checked'"):
        l0.stream(list, release="checkd")


def test_rules_declare_their_look_ahead() -> None:
    assert secret_rule().lookahead == len(SECRET)
    assert custom_pattern_rule([r"SECRET \d+"], max_match=100).lookahead == 100
    assert GuardrailEngine(recommended()).lookahead == 32 + len("as a large language model")
    assert GuardrailEngine([Word("x")]).lookahead == 64  # undeclared: the default
    json_only = GuardrailEngine(l0.guardrails.json_only())
    assert json_only.blocking and json_only.lookahead == 0


# -- the five situations of issue 11, on the core (each 200 runs) ------------------------------


async def test_guardrail_restart_never_shows_the_rejected_answer() -> None:
    """Situations 1-4: a fatal rule and a fallback: the consumer gets the fallback's answer
    only (no RESET, since nothing was shown), at the default check interval."""
    rng = random.Random(1)
    for _ in range(RUNS):
        answer = "The launch code is SECRET 1234, do not share."
        cut = sorted(rng.sample(range(1, len(answer)), 6))
        pieces = [answer[i:j] for i, j in zip([0, *cut], [*cut, len(answer)], strict=True)]
        events = await _events(
            lambda p=pieces: iter(p),
            fallbacks=[lambda: iter(["I can't ", "share that."])],
            guardrails=[custom_pattern_rule([r"SECRET \d+"], severity="fatal")],
        )
        text, seen = assemble(events)
        assert text == "I can't share that."
        assert seen == ["I can't share that."]  # the held-back span covered the whole answer
        assert not any(ev.type is l0.EventType.RESET for ev in events)


async def test_a_violation_after_released_text_resets_only_what_was_shown() -> None:
    rng = random.Random(2)
    long = "Rivers carve valleys. " * 10
    for _ in range(RUNS):
        answer = long + "SECRET 1234 and more."
        size = rng.randint(1, 9)
        pieces = [answer[i : i + size] for i in range(0, len(answer), size)]
        events = await _events(
            lambda p=pieces: iter(p),
            fallbacks=[lambda: iter(["Clean."])],
            guardrails=[secret_rule()],
        )
        text, seen = assemble(events)
        assert text == "Clean."
        everything = "".join(seen)
        assert "S" not in everything.replace("Clean.", "")  # not one character of the secret
        resets = [ev for ev in events if ev.type is l0.EventType.RESET]
        assert len(resets) == 1
        shown = len(everything) - len("Clean.")
        assert resets[0].data == {"discard": shown}
        # Held back: the look-ahead, plus the tokens since the last check (every _STEP).
        assert len(long) - secret_rule().lookahead - _STEP * size <= shown <= len(long)


async def test_a_rule_of_unknown_look_ahead_is_given_the_default() -> None:
    events = await _events(
        lambda: iter(["a" * 50, "BAD", " tail"]),
        fallbacks=[lambda: iter(["ok"])],
        guardrails=[Word("BAD")],
    )
    assert assemble(events) == ("ok", ["ok"])


async def test_stream_release_keeps_todays_behaviour() -> None:
    events = await _events(
        lambda: iter(["ok ", "SECRET 1234", " more"]),
        fallbacks=[lambda: iter(["clean"])],
        guardrails=[secret_rule()],
        check_intervals=l0.CheckIntervals(guardrails=1),
        release="stream",
    )
    text, seen = assemble(events)
    assert text == "clean" and "".join(seen) == "ok SECRET 1234clean"  # shown, then reset
    assert [ev.data for ev in events if ev.type is l0.EventType.RESET] == [{"discard": 14}]


async def test_the_first_release_waits_for_no_more_than_the_look_ahead() -> None:
    rule = secret_rule()
    fed: list[int] = []
    answer = "abcdefghij" * 5

    async def source() -> object:
        for i in range(len(answer)):
            fed.append(i + 1)
            yield answer[i]

    async with l0.stream(source, guardrails=[rule]) as s:
        async for ev in s:
            if ev.type is l0.EventType.TOKEN:
                fed = s.state.token_count  # one character per token
                # Exactly the look-ahead is held back; checks run every _STEP characters.
                assert ev.text == answer[: fed - rule.lookahead]
                assert fed <= rule.lookahead + _STEP
                break


async def test_drop_with_restated_overlap_is_exact_under_checked_release() -> None:
    """Situation 5 on the core: a drop resumed with continuation; the resumed stream
    restates part of the prefix; the consumer's text is exact."""
    for seed in range(RUNS):
        sc = Scenario(seed, fault="drop")
        events = await _events(sc.primary, **sc.options())
        text, seen = assemble(events)
        sc.check(text, seen)
        assert not any(ev.type is l0.EventType.RESET for ev in events)


@pytest.mark.parametrize("fault", FAULTS)
async def test_random_faults_random_chunking_exactly_once(fault: str) -> None:
    for seed in range(RUNS):
        sc = Scenario(seed, fault=fault)
        events = await _events(sc.primary, **sc.options())
        text, seen = assemble(events)
        sc.check(text, seen)
        result = events[-1].data
        assert isinstance(result, l0.Result) and result.text == sc.final


async def test_checked_release_with_a_fake_clock_timeout_stack() -> None:
    events = await _events(
        lambda: iter(["Hello ", "world."]),
        guardrails=recommended(),
        timeout=l0.Timeout(inter_token=5),
        clock=FakeClock(),
    )
    assert assemble(events)[0] == "Hello world."
