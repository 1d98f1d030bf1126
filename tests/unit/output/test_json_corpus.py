"""The JSON repair corpus: every case gives the right value or raises; never a wrong value.

Each case is (text, expected value) or (text, RAISES). ``parse_or_repair`` is checked on every
case; ``extract_json`` on the cases that need no repair inside the document.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import l0

RAISES = object()
F = "```"

CORPUS: list[tuple[str, Any]] = [
    # plain and valid
    ('{"a": 1}', {"a": 1}),
    ("[1, 2, 3]", [1, 2, 3]),
    ('  {"nested": {"x": [true, false, null]}}  ', {"nested": {"x": [True, False, None]}}),
    ('{"u": "\\u00e9\\ud83d\\ude00"}', {"u": "é😀"}),
    ('{"big": 123456789012345678901234567890}', {"big": 123456789012345678901234567890}),
    # fenced
    (f'{F}json\n{{"a": 1}}\n{F}', {"a": 1}),
    (f"{F}\n[1]\n{F}", [1]),
    (f'{F}JSON\n{{"a": 2}}\n{F}', {"a": 2}),
    (f'{F}json5\n{{"a": 3}}\n{F}\nDone.', {"a": 3}),
    (f'Here you go:\n{F}json\n{{"a": "b"}}\n{F}\nAnything else?', {"a": "b"}),
    (f'{F}json\n{{"a": 1}}', {"a": 1}),  # the closing fence never came
    # fences whose strings contain backticks
    (
        f'{F}json\n{{"code": "use {F}js{F} here", "n": 1}}\n{F}',
        {"code": f"use {F}js{F} here", "n": 1},
    ),
    (f'{F}json\n{{"md": "{F}\\nx\\n{F}"}}\n{F}', {"md": f"{F}\nx\n{F}"}),
    (f'{F}json\n{{"tick": "`a` and ``b``"}}\n{F}', {"tick": "`a` and ``b``"}),
    # a non-JSON fence before the JSON one
    (f'{F}python\nd = {{"x": 1}}\n{F}\n{F}json\n{{"y": 2}}\n{F}', {"y": 2}),
    (f"{F}js\n[0]\n{F}", [0]),
    (f'{F}bash\necho {{"x": 1}}\n{F}\nThe answer: {{"y": 3}}', {"y": 3}),
    (f"{F}python\nprint([1, 2])\n{F}", RAISES),
    (f"{F}yaml\na: [1]\n{F}", RAISES),
    # prose around the document
    ('Here is the JSON: {"a": 1}\n\nHope this helps!', {"a": 1}),
    ('[the list] {"k": null}', {"k": None}),
    ("Result: [1, 2] (two items)", [1, 2]),
    ('Sure! {"name": "Oslo", "population": 709000}', {"name": "Oslo", "population": 709000}),
    ('The {name} field is set: {"name": "x"}', {"name": "x"}),
    # reasoning blocks
    ('<think>maybe {"a": 1}</think>\n{"a": 2}', {"a": 2}),
    ('<think>draft: [1]\nno, better</think>{"final": true}', {"final": True}),
    ('<thinking>{"x": 0}</thinking>\n```json\n{"x": 1}\n```', {"x": 1}),
    ('<reasoning>{"v": "draft"}</reasoning> {"v": "real"}', {"v": "real"}),
    ('<THINK>{"a": 0}</THINK>{"a": 9}', {"a": 9}),
    ('<think>only a draft {"a": 1}', RAISES),
    ('<think>{"a": 1}</think>', RAISES),
    # truncated
    ('{"a": [1, 2', {"a": [1, 2]}),
    ('[{"a": "x', [{"a": "x"}]),
    ('{"a": 1, "b": tr', {"a": 1}),
    ('{"a": 1, "b":', {"a": 1}),
    ('{"a": 1, "b"', {"a": 1}),
    ("[1.", [1]),
    ("[1, 2, -", [1, 2]),
    ('{"a": {"b": {"c": [1, {"d": "e', {"a": {"b": {"c": [1, {"d": "e"}]}}}),
    ('{"s": "cut escape \\', {"s": "cut escape "}),
    ('{"s": "emoji \\ud83d', {"s": "emoji "}),
    ('{"ok": true, "list": [tr', {"ok": True, "list": []}),
    # trailing commas and comments
    ("[1, 2,]", [1, 2]),
    ('{"a": 1,}', {"a": 1}),
    ('{"a": [1, 2,], "b": 3,}', {"a": [1, 2], "b": 3}),
    ('{"a": 1, // note\n"b": 2 /* x */}', {"a": 1, "b": 2}),
    ('{\n  // the name\n  "name": "x"\n}', {"name": "x"}),
    ('{"url": "https://x.y/a//b"} // done', {"url": "https://x.y/a//b"}),
    ('{"c": "/* not a comment */"}', {"c": "/* not a comment */"}),
    # unescaped control characters in strings
    ('{"a": "two\nlines"}', {"a": "two\nlines"}),
    ('{"a": "tab\there"}', {"a": "tab\there"}),
    # single quotes, Python literals, unquoted keys (json-repair's part)
    ("{'a': 1}", {"a": 1}),
    ("{'a': 'b', 'c': [1, 2]}", {"a": "b", "c": [1, 2]}),
    ('{"ok": True, "no": False, "none": None}', {"ok": True, "no": False, "none": None}),
    ("{'flag': True}", {"flag": True}),
    ('{a: 1, b: "x"}', {"a": 1, "b": "x"}),
    ("Here: {'y': 2, 'ok': True}", {"y": 2, "ok": True}),
    # strings that look like structure
    (
        '{"braces": "}{][", "quote": "\\"", "fence": "```json"}',
        {"braces": "}{][", "quote": '"', "fence": "```json"},
    ),
    ('{"a": "x}"', {"a": "x}"}),
    ('["]", "[", "{"', ["]", "[", "{"]),
    # nothing to find
    ("", RAISES),
    ("   ", RAISES),
    ("hello world", RAISES),
    ("I cannot help with that.", RAISES),
    ("[the result]", RAISES),
    ("{name}", RAISES),
    ("{" * 600, RAISES),
    ("```", RAISES),
    ("<think></think>", RAISES),
]


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 60
    assert sum(1 for _, v in CORPUS if v is RAISES) >= 10


@pytest.mark.parametrize(("text", "expected"), CORPUS, ids=range(len(CORPUS)))
def test_parse_or_repair_gives_the_right_value_or_raises(text: str, expected: Any) -> None:
    if expected is RAISES:
        with pytest.raises(l0.StructuredOutputError) as info:
            l0.parse_or_repair(text)
        assert info.value.raw == text
        return
    assert l0.parse_or_repair(text) == expected
    assert json.loads(l0.repair_json(text)) == expected


@pytest.mark.parametrize(("text", "expected"), CORPUS, ids=range(len(CORPUS)))
def test_extract_json_never_returns_a_wrong_value(text: str, expected: Any) -> None:
    try:
        extracted = l0.extract_json(text)
    except l0.StructuredOutputError:
        return  # extraction alone may refuse what repair accepts
    assert expected is not RAISES
    assert json.loads(extracted) == expected
    assert extracted in text  # a slice, nothing edited


def test_extract_json_refuses_a_document_that_needs_repair() -> None:
    assert l0.extract_json('Sure:\n```json\n{"a": 1}\n```') == '{"a": 1}'
    with pytest.raises(l0.StructuredOutputError, match="repair"):
        l0.extract_json('{"a": [1, 2')


@pytest.mark.parametrize("helper", [l0.extract_json, l0.repair_json, l0.parse_or_repair])
def test_helpers_name_the_bad_input_type(helper: Any) -> None:
    with pytest.raises(TypeError, match="expects str, got bytes"):
        helper(b"{}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"":[],"x":{"```":null},"a":[', {"": [], "x": {"```": None}, "a": []}),
        ('{"k```": 1, "l": [2', {"k```": 1, "l": [2]}),
        ('Sure! ```json\n{"a": 1}\n```', {"a": 1}),
    ],
)
def test_backticks_in_a_key_are_not_a_fence(text: str, expected: Any) -> None:
    assert l0.parse_or_repair(text) == expected
