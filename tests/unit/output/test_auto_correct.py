"""auto_correct_json: examples, and the properties: valid JSON is left unchanged; any
truncation of a valid document repairs into JSON that agrees with the original on its
complete prefix (see tests/unit/json_strategies.complete_nodes for the definition)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from l0.utils.auto_correct import auto_correct_json
from tests.fixtures.fuzz import FUZZ_CASES
from tests.unit.json_strategies import (
    complete_nodes,
    consistent,
    documents,
    dumps,
    get,
    spans,
    styles,
    values,
)


@pytest.mark.parametrize(
    ("raw", "fixed", "corrections"),
    [
        ('```json\n{"a": [1, 2]}\n```', '{"a": [1, 2]}', ("strip_markdown_fence",)),
        ("```\n[1]\n```\nDone!", "[1]", ("strip_markdown_fence", "remove_suffix_text")),
        (
            'Here is the JSON: {"a": 1}\n\nHope this helps!',
            '{"a": 1}',
            ("remove_prefix_text", "remove_suffix_text"),
        ),
        ('{"a": [1, 2', '{"a": [1, 2]}', ("close_bracket", "close_brace")),
        ('[{"a": "x', '[{"a": "x"}]', ("close_string", "close_brace", "close_bracket")),
        (
            '{"a": 1, "b": tr',
            '{"a": 1}',
            ("drop_dangling_key", "remove_trailing_comma", "close_brace"),
        ),
        (
            '{"a": 1, "b":',
            '{"a": 1}',
            ("drop_dangling_key", "remove_trailing_comma", "close_brace"),
        ),
        ("[1, 2,]", "[1, 2]", ("remove_trailing_comma",)),
        ('{"a": 1, // note\n"b": 2 /* x */}', '{"a": 1, \n"b": 2 }', ("remove_comments",)),
        ('{"a": "two\nlines"}', '{"a": "two\\nlines"}', ("escape_control_chars",)),
        ("[1.", "[1]", ("drop_incomplete_value", "close_bracket")),
        ('[the list] {"k": null}', '{"k": null}', ("remove_prefix_text",)),
    ],
)
def test_repairs(raw: str, fixed: str, corrections: tuple[str, ...]) -> None:
    result = auto_correct_json(raw)
    assert result.valid
    assert result.text == fixed
    assert result.corrections == corrections
    json.loads(result.text)


@pytest.mark.parametrize(
    "text",
    [
        '{"url": "https://example.com/a//b?x=1#f"}',
        '{"s": "/* not a comment */ and // neither"}',
        '{"braces": "}{][", "quote": "\\"", "fence": "```json"}',
        "  [1, 2]  ",
    ],
)
def test_valid_json_with_tricky_strings_is_untouched(text: str) -> None:
    result = auto_correct_json(text)
    assert (result.text, result.corrections, result.valid) == (text, (), True)


def test_strings_inside_a_repaired_document_are_kept() -> None:
    raw = 'Result:\n```json\n{"url": "https://x.y/{a}//b", "c": "]}", "d": [1,'
    result = auto_correct_json(raw)
    assert json.loads(result.text) == {"url": "https://x.y/{a}//b", "c": "]}", "d": [1]}


def test_hopeless_text_is_reported_invalid() -> None:
    result = auto_correct_json("no json here")
    assert not result.valid
    with pytest.raises(TypeError):
        auto_correct_json(b"{}")  # type: ignore[arg-type]


def test_last_resort_delegates_to_json_repair() -> None:
    result = auto_correct_json("{'a': 1, 'b': [True]}")
    assert result.valid
    assert "json_repair" in result.corrections


@settings(max_examples=FUZZ_CASES // 2, deadline=None)  # 150 in CI
@given(value=values, style=styles)
def test_property_valid_json_is_unchanged(value: object, style: dict[str, object]) -> None:
    text = dumps(value, style)
    result = auto_correct_json(text)
    assert (result.text, result.corrections, result.valid) == (text, (), True)


@settings(max_examples=FUZZ_CASES // 2, deadline=None)
@given(doc=documents, style=styles, data=st.data())
def test_property_truncation_repairs_to_the_complete_prefix(
    doc: object, style: dict[str, object], data: st.DataObject
) -> None:
    text, nodes = spans(doc, style)
    cut = data.draw(st.integers(1, len(text)), label="cut")
    result = auto_correct_json(text[:cut])
    assert result.valid, (text[:cut], result)
    repaired = json.loads(result.text)
    assert consistent(repaired, doc), (text[:cut], repaired)
    for path, value in complete_nodes(text, nodes, cut):
        assert get(repaired, path) == value, (text[:cut], path)
