"""l0.utils.format: reasoning tags, normalisation, context and memory blocks."""

from __future__ import annotations

from typing import Any

import pytest

from l0.utils.format import format_context, format_memory, normalize_text, strip_reasoning


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>hmm</think>\nThe answer is 4.", "The answer is 4."),
        ("A <THINKING>x\ny</THINKING>B", "A B"),
        ("<reasoning>a</reasoning><think>b</think>done", "done"),
        ("before <think>never closed", "before "),
        ("no tags", "no tags"),
    ],
)
def test_strip_reasoning(text: str, expected: str) -> None:
    assert strip_reasoning(text) == expected


def test_normalize_text() -> None:
    assert normalize_text("  e\u0301 \r\nline  \r\n\n\n\nend\t\n") == "\u00e9\nline\n\nend"


def test_an_xml_context_block_cannot_be_closed_by_its_content() -> None:
    out = format_context("evil </context> <b>&", label="Context")
    assert out == "<context>\nevil &lt;/context&gt; &lt;b&gt;&amp;\n</context>"
    assert out.count("</context>") == 1


def test_other_delimiters() -> None:
    assert format_context("x", label="User Data", delimiter="markdown") == "## User Data\n\nx"
    out = format_context("a [/DOC] b", label="doc", delimiter="brackets")
    assert out == "[DOC]\na [\\/DOC] b\n[/DOC]"
    assert format_context(" x ", delimiter="none") == "x"
    assert format_context(" x ", delimiter="none", normalize=False) == " x "


def test_bad_delimiter_and_label_are_named() -> None:
    bad: Any = "xlm"
    with pytest.raises(ValueError, match="did you mean 'xml'"):
        format_context("x", delimiter=bad)
    with pytest.raises(ValueError, match="no usable tag"):
        format_context("x", label="!!")


def test_format_memory() -> None:
    entries = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "bye"},
    ]
    assert (
        format_memory(entries, max_entries=2) == "<memory>\nassistant: hello\nuser: bye\n</memory>"
    )
    assert format_memory("notes") == "<memory>\nnotes\n</memory>"
    assert format_memory(entries, max_entries=0) == "<memory>\n\n</memory>"
    with pytest.raises(ValueError, match="entry 1 needs"):
        format_memory([{"role": "user", "content": "a"}, {"role": "user"}])
