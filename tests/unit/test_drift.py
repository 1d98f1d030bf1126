"""DriftDetector: each signal fires on drifting text, ordinary answers never trigger, the
cost of a check does not depend on how long the answer already is, and the runtime retries
on final drift."""

from __future__ import annotations

import pytest

import l0
from l0.drift import DRIFT_TYPES, DriftDetector
from l0.runtime.hooks import DriftHook, DriftResult
from l0.testing import FakeClock
from tests.fixtures.normal_answers import NORMAL_ANSWERS


def run_detector(text: str, size: int, detector: DriftDetector | None = None) -> DriftResult:
    d = detector or DriftDetector()
    for i in range(0, len(text), size):
        d.check(text[i : i + size], final=False)
    return d.check("", final=True)


def test_corpus_is_large_enough() -> None:
    assert len(NORMAL_ANSWERS) >= 30


@pytest.mark.parametrize("size", [4, 40, 160, 100_000])
@pytest.mark.parametrize("index", range(len(NORMAL_ANSWERS)))
def test_normal_answers_do_not_drift(index: int, size: int) -> None:
    result = run_detector(NORMAL_ANSWERS[index], size)
    assert not result.detected, result


MARKDOWN = "## Plan\n\n- **one** item\n- **two** item\n- [link](https://x.y)\n\n" * 2
SIGNALS = {
    "meta_commentary": "The data shows growth. As an AI language model, I cannot browse.",
    "format_collapse": "The answer is 4.\n\nHuman: what about 5?\n\nAssistant: 5 is five.",
    "repetition": "Intro text here. " + "I will now repeat this same sentence again. " * 3,
    "tone_shift": (
        "The result is therefore valid. Moreover, the bound is tight. Thus the lemma holds, "
        "and consequently the theorem follows from it directly as stated in the text above. "
        "The second part is similar; hence we only sketch it. Furthermore, the constant is "
        "optimal, and therefore no better bound exists for this family of inputs at all. "
        "The result is therefore valid. Moreover, the bound is tight. Thus the lemma holds, "
        "and consequently the theorem follows from it directly as stated in the text above. "
        "The second part is similar; hence we only sketch it. Furthermore, the constant is "
        "optimal, and therefore no better bound exists for this family of inputs at all. "
        "yeah so basically it works lol, gonna try it tomorrow, yeah it's kinda cool really "
        "and stuff, you know how it goes with these things, yep that is about it for now. "
        "gonna grab lunch, dunno what yet, kinda hungry lol. yeah, talk later, wanna meet? "
        "nope, not today, gotta run, yeah, ok bye then, see ya soon, yep yep that is that."
        "yeah so basically it works lol, gonna try it tomorrow, yeah it's kinda cool really "
        "and stuff, you know how it goes with these things, yep that is about it for now. "
        "gonna grab lunch, dunno what yet, kinda hungry lol. yeah, talk later, wanna meet? "
        "nope, not today, gotta run, yeah, ok bye then, see ya soon, yep yep that is that."
    ),
    "markdown_collapse": MARKDOWN * 3
    + "and then the text just keeps going without any structure at all " * 20,
    "entropy_spike": " ".join(a for a in NORMAL_ANSWERS if "```" not in a)
    + " x9$Qz!#Kp@2&vL^7*Wm(8)Rb%4~Tn`5|Hs3Jd[6]Yc<1>Gf?0/Ue+=_-;:,.AoQ" * 10,
    "hedging": "Perhaps it might work, or possibly not; maybe later, arguably, perhaps. " * 14,
}


@pytest.mark.parametrize("signal", sorted(SIGNALS))
@pytest.mark.parametrize("size", [7, 120])
def test_each_signal_fires(signal: str, size: int) -> None:
    result = run_detector(SIGNALS[signal], size)
    assert result.detected, result
    assert signal in result.types, result
    assert 0.5 <= result.confidence <= 1.0


def test_signals_can_be_switched_off_and_validated() -> None:
    result = run_detector(SIGNALS["meta_commentary"], 10, DriftDetector(signals=["repetition"]))
    assert not result.detected
    assert set(DRIFT_TYPES) == set(SIGNALS)
    with pytest.raises(ValueError, match="unknown"):
        DriftDetector(signals=["vibes"])
    with pytest.raises(ValueError, match="window"):
        DriftDetector(window=10)
    assert isinstance(DriftDetector(), DriftHook)


def test_streaming_check_reports_once_and_final_reports_all() -> None:
    d = DriftDetector()
    first = d.check("As an AI language model, " + "x " * 200, final=False)
    assert first.types == ("meta_commentary",)
    assert not d.check(" ".join(NORMAL_ANSWERS[5:9]), final=False).detected
    assert d.check("", final=True).types == ("meta_commentary",)
    d.reset()
    assert not d.check("fresh answer.", final=True).detected


def test_state_stays_bounded_however_long_the_answer() -> None:
    # What makes a check O(delta + window): nothing the detector keeps grows with the answer.
    d = DriftDetector(window=600)
    answer = " ".join(NORMAL_ANSWERS)
    for _ in range(40):  # about 200,000 characters
        for i in range(0, len(answer), 90):
            d.check(answer[i : i + 90], final=False)
    assert len(d._win) <= 600
    assert d._pending_len < 200
    assert len(d._recent) <= 64
    assert len(d._counts) <= 64
    assert len(d._segments) <= 4
    assert len(d._partial) <= 1000
    d.reset()
    for _ in range(2000):  # no sentence end at all
        d.check("word " * 30, final=False)
    assert len(d._partial) <= 1000


@pytest.mark.anyio
async def test_final_drift_retries_and_recovers() -> None:
    answers = iter(
        [
            ["Paris is the capital. ", "As an AI language model, I have no opinion."],
            ["Paris is the capital of France."],
        ]
    )
    result = await l0.run(lambda: next(answers), drift=True, clock=FakeClock())
    assert result.text == "Paris is the capital of France."
    assert result.state.model_retry_count == 1
    assert isinstance(result.errors[0], l0.DriftError)
    assert result.errors[0].types == ("meta_commentary",)
