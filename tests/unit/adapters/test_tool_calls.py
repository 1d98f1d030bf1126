"""The shared tool-call assembler: one rule set for every index convention providers use."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from l0.adapters.tool_calls import (
    ToolCallAssembler,
    index_or_none,
    reason_or_none,
    text_or_none,
)
from l0.errors import MalformedChunkError
from l0.types import ToolCall

CONVENTIONS = ("present", "interleaved", "absent", "zero", "ids_everywhere")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)
arguments = st.dictionaries(st.text(max_size=5), json_values, max_size=3).map(
    lambda d: orjson.dumps(d).decode()
)


@st.composite
def calls(draw: st.DrawFn) -> list[tuple[str, str, str]]:
    n = draw(st.integers(1, 4))
    names = draw(st.lists(st.sampled_from(["search", "get_weather", "f"]), min_size=n, max_size=n))
    return [(f"call-{k}", names[k], draw(arguments)) for k in range(n)]


def _pieces(draw: st.DrawFn, text: str) -> list[str]:
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=4)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@st.composite
def fragments(draw: st.DrawFn, convention: str) -> tuple[list[tuple[Any, ...]], list[ToolCall]]:
    """Fragments ``(index, id, name, arguments)`` of some calls, and the calls expected."""
    wanted = draw(calls())
    absent = st.sampled_from([None, ""])
    queues: list[list[tuple[Any, ...]]] = []
    for k, (cid, name, args) in enumerate(wanted):
        queue = []
        for i, piece in enumerate(_pieces(draw, args)):
            if convention in ("present", "interleaved"):
                index: Any = k
            elif convention == "zero":
                index = 0
            else:
                index = draw(absent)
            first = i == 0
            frag_id = cid if first or convention == "ids_everywhere" else draw(absent)
            frag_name = name if first else draw(absent)
            queue.append((index, frag_id, frag_name, piece or draw(absent)))
        queues.append(queue)
    out: list[tuple[Any, ...]] = []
    if convention in ("interleaved", "ids_everywhere"):
        while any(queues):
            live = [q for q in queues if q]
            out.append(draw(st.sampled_from(live)).pop(0))
    else:
        for queue in queues:
            out.extend(queue)
    if convention == "ids_everywhere":  # no index: calls come out in the order they opened
        first_seen = list(dict.fromkeys(frag[1] for frag in out))
        wanted.sort(key=lambda call: first_seen.index(call[0]))
    expected = [
        ToolCall(cid, name, orjson.loads(args), args, k)
        for k, (cid, name, args) in enumerate(wanted)
    ]
    return out, expected


@pytest.mark.parametrize("convention", CONVENTIONS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_fragmentation_under_any_index_convention_gives_the_same_calls(
    convention: str, data: st.DataObject
) -> None:
    frags, expected = data.draw(fragments(convention))
    tools = ToolCallAssembler()
    for frag in frags:
        tools.add(*frag)
    assert tools.finish_all() == expected
    assert not tools


@pytest.mark.parametrize("convention", CONVENTIONS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_a_cut_stream_never_releases_a_half_written_call(
    convention: str, data: st.DataObject
) -> None:
    frags, expected = data.draw(fragments(convention))
    cut = data.draw(st.integers(0, len(frags)))
    tools = ToolCallAssembler()
    for frag in frags[:cut]:
        tools.add(*frag)
    by_id = {call.id: call for call in expected}
    for call in tools.salvage():
        whole = by_id[call.id]
        # released only when whole, and then exactly as sent
        assert (call.name, call.arguments, call.raw_arguments) == (
            whole.name,
            whole.arguments,
            whole.raw_arguments,
        )
    assert not tools


def test_two_whole_calls_at_index_zero_with_distinct_ids() -> None:
    tools = ToolCallAssembler()
    tools.add(0, "call-1", "search", '{"query": "weather Oslo"}')
    tools.add(0, "call-2", "search", '{"query": "weather Rome"}')
    assert tools.finish_all() == [
        ToolCall("call-1", "search", {"query": "weather Oslo"}, '{"query": "weather Oslo"}', 0),
        ToolCall("call-2", "search", {"query": "weather Rome"}, '{"query": "weather Rome"}', 1),
    ]


def test_one_call_in_three_fragments_with_empty_string_placeholders() -> None:
    tools = ToolCallAssembler()
    tools.add("", "call-9", "get_weather", "")
    tools.add("", "", "", '{"city": ')
    tools.add("", "", "", '"Oslo"}')
    assert tools.finish_all() == [
        ToolCall("call-9", "get_weather", {"city": "Oslo"}, '{"city": "Oslo"}', 0)
    ]


def test_same_name_without_ids_opens_a_new_call_once_the_arguments_are_whole() -> None:
    tools = ToolCallAssembler()
    tools.add(None, None, "f", '{"a"')
    tools.add(None, None, "f", ": 1}")  # a server repeating the name on every fragment
    tools.add(None, None, "f", '{"a": 2}')
    assert [c.arguments for c in tools.finish_all()] == [{"a": 1}, {"a": 2}]


def test_an_id_arriving_after_the_name_names_the_same_call() -> None:
    tools = ToolCallAssembler()
    tools.add(3, None, "f", None)
    tools.add(3, "late-id", None, "{}")
    assert tools.finish(3) == ToolCall("late-id", "f", {}, "{}", 0)


def test_authoritative_arguments_win_and_parsed_arguments_are_accepted() -> None:
    tools = ToolCallAssembler()
    tools.add(0, "c", "f", '{"a"')
    assert tools.finish(0, '{"a": 2}') == ToolCall("c", "f", {"a": 2}, '{"a": 2}', 0)
    tools.add(None, "d", "g", {"k": [1]})
    assert tools.finish_all() == [ToolCall("d", "g", {"k": [1]}, '{"k":[1]}', 1)]


def test_fields_of_a_type_no_provider_sends_are_a_typed_error() -> None:
    tools = ToolCallAssembler()
    with pytest.raises(MalformedChunkError):
        tools.add(0, 17, "f", None)
    with pytest.raises(MalformedChunkError):
        tools.add(0, "c", "f", 3.5)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), (" ", None), (True, None), (-1, None), (0, 0), (2, 2), ("3", 3)],
)
def test_index_sentinels(value: object, expected: int | None) -> None:
    assert index_or_none(value) == expected


def test_text_and_reason_sentinels() -> None:
    assert text_or_none("") is None
    assert text_or_none("x") == "x"
    assert reason_or_none("") is None
    assert reason_or_none(None) is None
    assert reason_or_none("stop") == "stop"
