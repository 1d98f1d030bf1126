"""Hypothesis strategies for hostile provider data: arbitrary JSON values biased toward the
field names and event types of each protocol, protocol templates with one to three nodes
replaced or deleted, and SSE bodies (framed or raw bytes) made of them."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

KEYS = (
    "choices", "delta", "content", "index", "finish_reason", "usage", "tool_calls",
    "function", "name", "arguments", "id", "type", "text", "message", "content_block",
    "input", "partial_json", "stop_reason", "input_tokens", "output_tokens", "prompt_tokens",
    "completion_tokens", "total_tokens", "refusal", "error", "chunk", "response", "item",
    "output_index", "thinking", "status", "code", "reasoning_content", "role",
    "prompt_tokens_details", "incomplete_details", "reason", "call_id",
)  # fmt: skip
TYPES = (
    "content_block_delta", "text_delta", "input_json_delta", "thinking_delta",
    "message_start", "content_block_start", "content_block_stop", "message_delta",
    "message_stop", "ping", "error", "tool_use", "text", "thinking", "chunk", "function_call",
    "response.output_text.delta", "response.completed", "response.incomplete",
    "response.output_item.added", "response.output_item.done", "response.failed",
    "response.function_call_arguments.delta", "response.refusal.delta",
    "response.reasoning_text.delta", "stop", "tool_calls", "overloaded_error",
)  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-2, max_value=3),
    st.floats(),
    st.text(max_size=6),
    st.sampled_from(TYPES),
)
json_values = st.recursive(
    scalars,
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), kids, max_size=5)
    ),
    max_leaves=16,
)

_CALL = {"index": 0, "id": "call_1", "function": {"name": "f", "arguments": '{"a":'}}
CHAT = (
    {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]},
    {"choices": [{"index": 0, "delta": {"content": "lo", "refusal": None}, "finish_reason": None}]},
    {"choices": [{"index": 0, "delta": {"tool_calls": [_CALL]}}]},
    {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}}]},
    {"choices": [{"index": 0, "delta": {"reasoning_content": "hmm"}}]},
    {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5,
                              "prompt_tokens_details": {"cached_tokens": 1}}},
)  # fmt: skip
RESPONSES = (
    {"type": "response.output_text.delta", "delta": "Hi", "output_index": 0},
    {"type": "response.output_item.added", "output_index": 1,
     "item": {"type": "function_call", "call_id": "c1", "name": "f", "arguments": ""}},
    {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": '{"a":1}'},
    {"type": "response.output_item.done", "output_index": 1,
     "item": {"type": "function_call", "call_id": "c1", "name": "f", "arguments": '{"a":1}'}},
    {"type": "response.reasoning_text.delta", "delta": "hmm"},
    {"type": "response.completed", "response": {"status": "completed",
     "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}}},
    {"type": "response.failed", "response": {"error": {"code": "server_error", "message": "x"}}},
)  # fmt: skip
ANTHROPIC = (
    {"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 3, "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
    {"type": "content_block_start", "index": 1,
     "content_block": {"type": "tool_use", "id": "t1", "name": "f", "input": {}}},
    {"type": "content_block_delta", "index": 1,
     "delta": {"type": "input_json_delta", "partial_json": '{"a": 1}'}},
    {"type": "content_block_delta", "index": 2, "delta": {"type": "thinking_delta", "thinking": "x"}},
    {"type": "content_block_stop", "index": 1},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}},
    {"type": "message_stop"},
    {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}},
)  # fmt: skip


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for key, value in obj.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            out.extend(_paths(value, (*prefix, i)))
    return out


@st.composite
def mutated(draw: st.DrawFn, templates: tuple[dict[str, Any], ...]) -> Any:
    """A template with one to three nodes replaced by arbitrary JSON or deleted."""
    obj: Any = copy.deepcopy(draw(st.sampled_from(templates)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(obj)))
        if not path:
            obj = draw(json_values)
            continue
        parent = obj
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return obj


def chunks(templates: tuple[dict[str, Any], ...]) -> st.SearchStrategy[Any]:
    """One chunk: a template as it is, a mutated template, or any JSON value."""
    return st.one_of(st.sampled_from(templates), mutated(templates), json_values)


def sequences(templates: tuple[dict[str, Any], ...]) -> st.SearchStrategy[list[Any]]:
    """A stream of one to six chunks."""
    return st.lists(chunks(templates), min_size=1, max_size=6)


def _frame(event: str | None, data: Any) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


@st.composite
def sse_bodies(draw: st.DrawFn, templates: tuple[dict[str, Any], ...], *, named: bool) -> bytes:
    """An SSE body: framed chunks (named events for Anthropic, ``[DONE]`` for OpenAI),
    sometimes with a raw fragment spliced in, or raw bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    parts = []
    for chunk in draw(sequences(templates)):
        event = None
        if named:
            kind = chunk.get("type") if isinstance(chunk, dict) else None
            event = kind if isinstance(kind, str) and kind else draw(st.sampled_from(TYPES))
        parts.append(_frame(event, chunk))
    if not named and draw(st.booleans()):
        parts.append(b"data: [DONE]\n\n")
    if draw(st.integers(0, 4)) == 0:
        at = draw(st.integers(0, len(parts)))
        parts.insert(at, draw(st.binary(max_size=40) | st.sampled_from([b"data: {\n\n", b":\n\n"])))
    return b"".join(parts)
