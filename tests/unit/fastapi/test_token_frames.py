"""The encoders' token hot path writes exactly the bytes their general ``encode`` writes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from l0.integrations.fastapi.formats import make_encoder

TEXTS = ["a", "", " word", 'quote " and \\ backslash', "line\nbreak\r\n", "\x00\x01\u2028é😀", None]
EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("retry", {"attempt": 2}),
    ("tool_call", {"id": "c1", "name": "f", "arguments": {"x": 1}}),
    ("reset", {"discard": 3}),
]


def _pair(fmt: Any, model: str = "gpt-x") -> tuple[Any, Any]:
    return (
        make_encoder(fmt, stream_id="s1", model=model),
        make_encoder(fmt, stream_id="s1", model=model),
    )


@pytest.mark.parametrize("fmt", ["l0", "openai", "vercel"])
@settings(max_examples=40)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(TEXTS),
            st.text(max_size=8),
            st.sampled_from(range(len(EVENTS))),
        ),
        max_size=12,
    )
)
def test_token_is_encode_byte_for_byte(fmt: Any, items: list[Any]) -> None:
    fast, slow = _pair(fmt)
    fast.created = slow.created = 1  # the openai encoder's clock
    for n, item in enumerate(items, 1):
        if isinstance(item, int):
            kind, data = EVENTS[item]
            assert fast.encode(kind, data, n) == slow.encode(kind, data, n)
        else:
            assert fast.token(item, n) == slow.encode("token", {"text": item}, n)


def test_a_model_name_holding_the_mark_is_encoded_the_general_way() -> None:
    fast, slow = _pair("openai", model="m\x01l0-text\x01")
    fast.created = slow.created = 1
    for n, text in enumerate(["a", "b", "c"], 1):
        assert fast.token(text, n) == slow.encode("token", {"text": text}, n)
