"""json_rule and strict_json_rule: examples, and the property that valid JSON never trips
json_rule whatever the chunking (engine-level and end to end through l0.run)."""

from __future__ import annotations

import itertools

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import l0
from l0.guardrails import GuardrailEngine, Severity, json_rule, strict_json_rule
from tests.unit.guardrails.helpers import feed, rules_of, split
from tests.unit.json_strategies import documents, dumps, styles


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '  \n[1, 2, {"b": [true, false, null]}]',
        '{"s": "braces } ] { [ and \\"quotes\\" and \\\\", "u": "https://x.y/{a}//b"}',
        '{"a": "\\\\"}',
        "[]",
        '{"nested": {"deep": [[[]]]}}',
    ],
)
@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_valid_json_passes_in_any_chunk_size(text: str, size: int) -> None:
    assert feed(json_rule(), split(text, size)) == []


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ('{"a": 1}}', "json.premature_close"),
        ('{"a": [1, 2}', "json.balance"),
        ("]", "json.balance") if False else ("[1]]", "json.premature_close"),
        ('{"a": 1,, "b": 2}', "json.malformed"),
        ('{, "a": 1}', "json.malformed"),
        ("[1, 2,]", "json.malformed"),
        ('{"a":, 1}', "json.malformed"),
        ('{"a": 1', "json.incomplete"),
        ('{"a": "unterminated', "json.incomplete"),
        ('{"a": tru}', "json.parse"),
    ],
)
@pytest.mark.parametrize("size", [1, 4, 1000])
def test_malformed_json_is_reported(text: str, rule: str, size: int) -> None:
    found = feed(json_rule(), split(text, size))
    assert rules_of(found) == [rule]
    assert found[0].severity is Severity.ERROR
    assert found[0].recoverable


def test_structural_errors_are_reported_while_streaming_with_position() -> None:
    rule = json_rule()
    found = feed(rule, ['{"a": 1}', "}"], final=False)
    assert rules_of(found) == ["json.premature_close"]
    assert found[0].position == 8


def test_trailing_prose_is_a_warning_and_the_document_still_parses() -> None:
    found = feed(json_rule(), split('{"a": 1}\n\nHope this helps!', 3))
    assert [(v.rule, v.severity) for v in found] == [("json.trailing_text", Severity.WARNING)]


def test_plain_text_turns_the_rule_off() -> None:
    rule = json_rule()
    assert feed(rule, ["Hello {", "}}} ]]", " [,,]"]) == []


def test_sub_checks_are_configurable() -> None:
    assert feed(json_rule(malformed=None, parse=None), ["[1, 2,]"]) == []
    found = feed(json_rule(balance="fatal"), ['{"a": ]'])
    assert found[0].severity is Severity.FATAL
    assert not found[0].recoverable
    with pytest.raises(ValueError, match="json_rule"):
        json_rule(balance="loud")  # type: ignore[arg-type]


def test_reset_starts_a_new_document() -> None:
    rule = json_rule()
    feed(rule, ['{"a": ['], final=False)
    rule.reset()
    assert feed(rule, ['{"b": 2}']) == []


def test_strict_json_rule() -> None:
    assert feed(strict_json_rule(), ['{"a": ', "1}"]) == []
    assert rules_of(feed(strict_json_rule(), ["Sure: {}"])) == [
        "strict_json.start",
        "strict_json.parse",
    ]
    assert rules_of(feed(strict_json_rule(), ["[1,"])) == ["strict_json.parse"]
    assert rules_of(feed(strict_json_rule(start=None), ['"just a string"'])) == ["strict_json.root"]


def _cuts(text: str, points: list[int]) -> list[str]:
    bounds = [0, *sorted({p for p in points if 0 < p < len(text)}), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@pytest.mark.timeout(120)  # ~5 s alone; hypothesis sometimes draws large documents
@settings(max_examples=200, deadline=None)
@given(doc=documents, style=styles, points=st.lists(st.integers(0, 4000), max_size=40))
def test_property_valid_json_never_violates_json_rule_in_any_chunking(
    doc: object, style: dict[str, object], points: list[int]
) -> None:
    text = dumps(doc, style)
    assert feed(GuardrailEngine([json_rule()]), _cuts(text, points)) == []


@settings(max_examples=60, deadline=None)
@given(
    doc=documents,
    style=styles,
    points=st.lists(st.integers(0, 4000), max_size=40),
    interval=st.integers(1, 4),
)
def test_property_valid_json_never_violates_end_to_end(
    doc: object, style: dict[str, object], points: list[int], interval: int
) -> None:
    chunks = _cuts(dumps(doc, style), points)

    async def main() -> l0.Result:
        return await l0.run(
            lambda: iter(chunks),
            guardrails=[json_rule()],
            check_intervals=l0.CheckIntervals(guardrails=interval),
        )

    result = anyio.run(main)
    assert result.state.violations == []
    assert result.text == "".join(chunks)
