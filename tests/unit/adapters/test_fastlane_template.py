"""The fast lane's text template: a matched event's text is exactly what parsing its JSON
gives, and anything the template cannot prove is left to the parser."""

from __future__ import annotations

import sys
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from l0.fastlane.template import TextTemplate

PATH = ("choices", 0, "delta", "content")


def chunk(content: Any, **extra: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": {"content": content}, "finish_reason": None}
    return {"id": "chatcmpl-1", "model": "m", "choices": [choice], **extra}


def learnt(obj: dict[str, Any], event: str | None = None) -> TextTemplate:
    template = TextTemplate(PATH)
    data = orjson.dumps(obj)
    template.learn(event, data, orjson.loads(data), obj["choices"][0]["delta"]["content"])
    return template


def test_a_plain_text_delta_is_read_from_its_bytes() -> None:
    template = learnt(chunk("Hello"))
    assert template.match(None, orjson.dumps(chunk(" wörld 👋"))) == " wörld 👋"


@pytest.mark.parametrize(
    "text", ['say "hi"', "back\\slash", "tab\there", "line\nbreak", "\x00", "\u2028"]
)
def test_text_needing_an_escape_is_left_to_the_parser(text: str) -> None:
    template = learnt(chunk("Hello"))
    data = orjson.dumps(chunk(text))
    got = template.match(None, data)
    assert got is None or got == orjson.loads(data)["choices"][0]["delta"]["content"]
    if "\\" in data.decode():
        assert got is None


def test_invalid_utf8_is_left_to_the_parser() -> None:
    template = learnt(chunk("Hello"))
    good = orjson.dumps(chunk("é"))
    assert template.match(None, good.replace("é".encode(), b"\xc3(")) is None


def test_an_escaped_literal_equal_to_another_value_is_never_learnt() -> None:
    # The text "chatcmpl-1" is written escaped; its plain spelling is the id's literal.
    data = orjson.dumps(chunk("X")).replace(b'"X"', b'"\\u0063hatcmpl-1"')
    template = TextTemplate(PATH)
    template.learn(None, data, orjson.loads(data), "chatcmpl-1")
    assert template.match(None, orjson.dumps(chunk("Hi"))) is None


def test_a_text_equal_to_another_value_is_never_learnt() -> None:
    template = learnt(chunk("m"))  # the model's literal too: which one is the text?
    assert template.match(None, orjson.dumps(chunk("Hi"))) is None


def test_a_changing_field_never_matches_and_learning_stops() -> None:
    template = TextTemplate(PATH)
    for n in range(10):
        data = orjson.dumps(chunk(f"t{n}", sequence_number=n))
        assert template.match(None, data) is None
        template.learn(None, data, orjson.loads(data), f"t{n}")
    assert template._budget == 0


def test_another_event_name_never_matches() -> None:
    template = learnt(chunk("Hello"), event="delta")
    data = orjson.dumps(chunk("Hi"))
    assert template.match("delta", data) == "Hi"
    assert template.match(None, data) is None
    assert template.match("other", data) is None


VALUE = st.none() | st.integers(-(2**40), 2**40) | st.text(max_size=4)


@settings(max_examples=40, deadline=None)
@given(
    first=st.text(min_size=1, max_size=8),
    text=st.text(min_size=1, max_size=8),
    extra=st.dictionaries(st.sampled_from(["id", "model", "x", "usage"]), VALUE, max_size=2),
)
def test_a_match_is_what_the_parser_reads(first: str, text: str, extra: dict[str, Any]) -> None:
    template = learnt(chunk(first))
    data = orjson.dumps(chunk(text, **extra))
    got = template.match(None, data)
    if got is not None:
        parsed = orjson.loads(data)
        assert parsed["choices"][0]["delta"]["content"] == got
        parsed["choices"][0]["delta"]["content"] = first
        assert parsed == chunk(first)
    plain = orjson.dumps(text) == b'"' + text.encode() + b'"'
    if not extra and plain and template._total < sys.maxsize:  # learnt: plain text is read
        assert got == text
