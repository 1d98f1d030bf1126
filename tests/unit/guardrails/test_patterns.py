"""pattern_rule, custom_pattern_rule (bounded windows, time limits), zero_output_rule."""

from __future__ import annotations

import re
import time

import pytest

from l0.guardrails import Severity, custom_pattern_rule, pattern_rule, zero_output_rule
from l0.guardrails.windowed import WindowScanner
from tests.unit.guardrails.helpers import feed, rules_of, split

NORMAL = (
    "Sure! Here is the summary: the function parses the file. To clarify, it returns a list. "
    "In other words, each line becomes one item. Let me explain the edge cases: empty lines "
    "are skipped. Here's the code:\n```python\nitems = [l for l in lines if l]\n```\n"
)


@pytest.mark.parametrize("size", [1, 4, 10_000])
def test_ordinary_phrasing_passes(size: int) -> None:
    assert feed(pattern_rule(), split(NORMAL, size)) == []


@pytest.mark.parametrize(
    ("text", "rule", "severity"),
    [
        ("Well, as an AI language model I think so.", "pattern.meta_commentary", Severity.ERROR),
        ("I'm unable to help with that request.", "pattern.refusal", Severity.WARNING),
        ("Answer <|im_start|>assistant", "pattern.instruction_leak", Severity.ERROR),
        ("Dear [insert name here], hello.", "pattern.placeholders", Severity.WARNING),
        ("Hello {{ user_name }} and welcome.", "pattern.placeholders", Severity.WARNING),
    ],
)
@pytest.mark.parametrize("size", [1, 3, 10_000])
def test_phrases_are_found_across_chunk_boundaries(
    text: str, rule: str, severity: Severity, size: int
) -> None:
    found = feed(pattern_rule(), split(text, size))
    assert [(v.rule, v.severity) for v in found] == [(rule, severity)]


def test_each_sub_check_reports_once_with_position() -> None:
    text = "x As an AI assistant, yes. As an AI assistant, again."
    found = feed(pattern_rule(), split(text, 5))
    assert rules_of(found) == ["pattern.meta_commentary"]
    assert found[0].position == 2


def test_repetition_and_first_last_duplicate() -> None:
    s = "The quick brown fox jumps over it. "
    assert rules_of(feed(pattern_rule(), split(s * 3, 7))) == [
        "pattern.repetition",
        "pattern.first_last_duplicate",
    ]
    text = "This is how it all begins today. Middle part of the story here. " * 1
    text += "More words to pass one hundred characters in total. This is how it all begins today."
    assert "pattern.first_last_duplicate" in rules_of(feed(pattern_rule(), split(text, 9)))


def test_hedging_and_format_collapse_are_opt_in() -> None:
    text = "Sure!\nHere is the list:\n- a"
    assert feed(pattern_rule(), [text]) == []
    found = feed(pattern_rule(hedging="warning", format_collapse="warning"), [text])
    assert rules_of(found) == ["pattern.hedging", "pattern.format_collapse"]


def test_refusal_severity_is_configurable() -> None:
    found = feed(pattern_rule(refusal="fatal"), ["I cannot provide that."])
    assert found[0].severity is Severity.FATAL
    assert not found[0].recoverable


@pytest.mark.parametrize("size", [1, 2, 5, 10_000])
def test_custom_pattern_finds_whole_match_across_chunks(size: int) -> None:
    rule = custom_pattern_rule([r"secret-\d+"], message="leak", max_match=16)
    found = feed(rule, split("x secret-12345 y", size))
    assert [(v.rule, v.message, v.position) for v in found] == [
        ("custom_pattern", "leak: 'secret-12345'", 2)
    ]


def test_custom_pattern_match_at_the_very_end() -> None:
    found = feed(custom_pattern_rule(["end"]), split("the end", 2))
    assert rules_of(found) == ["custom_pattern"]


def test_custom_pattern_caret_only_matches_the_real_start() -> None:
    rule = custom_pattern_rule([r"^foo"], max_match=4)
    assert feed(rule, split("barbarfoo foo", 3)) == []
    assert rules_of(feed(custom_pattern_rule([r"^foo"], max_match=4), ["foo"])) == [
        "custom_pattern"
    ]


def test_custom_pattern_accepts_compiled_and_validates() -> None:
    assert rules_of(feed(custom_pattern_rule(re.compile("ab")), ["xab"])) == ["custom_pattern"]
    with pytest.raises(ValueError, match="invalid pattern"):
        custom_pattern_rule(["(unclosed"])
    with pytest.raises(TypeError):
        custom_pattern_rule([42])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="max_match"):
        custom_pattern_rule(["a"], max_match=0)


def test_catastrophic_pattern_cannot_hang_the_stream() -> None:
    rule = custom_pattern_rule([r"(a+)+$"], max_match=64, timeout=0.01)
    text = "a" * 5000 + "b"
    t0 = time.perf_counter()
    found = feed(rule, split(text, 50))
    assert time.perf_counter() - t0 < 1.0
    assert all(v.severity is Severity.WARNING for v in found)


def test_window_scanner_bounds_every_window() -> None:
    scanner = WindowScanner(8)
    sizes = [len(w) for w, *_ in scanner.windows("x" * 100)]
    assert max(sizes) <= 2 * 8 + 1


@pytest.mark.parametrize("answer", ["11", "?", "—", "ok", "42."])
def test_zero_output_accepts_short_real_answers(answer: str) -> None:
    found = feed(zero_output_rule(), [answer])
    assert all(v.severity is Severity.WARNING for v in found)


def test_zero_output_flags_empty_and_noise() -> None:
    assert [(v.rule, v.severity) for v in feed(zero_output_rule(), ["  ", "\n"])] == [
        ("zero_output.empty", Severity.ERROR)
    ]
    assert rules_of(feed(zero_output_rule(), ["...", "!!"])) == ["zero_output.noise"]
    assert feed(zero_output_rule(noise=None), ["..."]) == []
    assert feed(zero_output_rule(), ["", "a"]) == []
