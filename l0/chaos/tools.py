"""Tool-call answers of the chaos server: the calls, and how they are cut into fragments.

When a request offers ``tools`` (and the server has tool calls to give), the response is
those calls instead of text. Each call's JSON arguments are cut into ``pieces`` fragments
(one whole fragment under a profile with ``whole_tool_calls``); the fragments are the
response's "tokens" for token-counted faults.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "DEFAULT_TOOL_CALLS",
    "ToolCallSpec",
    "ToolFragment",
    "check_tool_calls",
    "fragments",
    "wants_tools",
]

ToolCallSpec = tuple[str, Mapping[str, Any]]
"""``(name, arguments)`` of one call the server answers with."""

DEFAULT_TOOL_CALLS: tuple[ToolCallSpec, ...] = (
    ("search", {"query": "weather Oslo"}),
    ("search", {"query": "weather Rome"}),
)
"""Two parallel calls to the same tool: the case index conventions get wrong."""


def check_tool_calls(calls: Sequence[Any]) -> tuple[ToolCallSpec, ...]:
    """``calls`` as ``(name, arguments)`` pairs; arguments given as a JSON object string are
    parsed.

    Raises:
        TypeError: An item is not a ``(name, arguments)`` pair with a string name and an
            object (a mapping, or the JSON text of one) as arguments.
    """
    out: list[ToolCallSpec] = []
    for i, call in enumerate(calls):
        if not (isinstance(call, (tuple, list)) and len(call) == 2 and isinstance(call[0], str)):
            raise TypeError(
                f"tool_calls[{i}] must be a (name, arguments) pair, e.g. "
                f"('search', {{'query': 'x'}}); got {call!r}"
            )
        name, arguments = call
        if isinstance(arguments, (str, bytes)):
            try:
                arguments = orjson.loads(arguments)
            except orjson.JSONDecodeError:
                arguments = None
        if not isinstance(arguments, Mapping):
            raise TypeError(
                f"tool_calls[{i}] ({name!r}): arguments must be an object (a dict, or its JSON "
                f"text); got {call[1]!r}"
            )
        out.append((name, dict(arguments)))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ToolFragment:
    """One streamed piece of a tool call.

    Attributes:
        call: The call's position (0, 1, …).
        id: The call id (``call-1``, ``call-2``, …).
        name: The tool name.
        arguments: This fragment's piece of the argument JSON.
        first: Whether this is the call's first fragment (it carries id and name).
        last: Whether this is the call's last fragment.
    """

    call: int
    id: str
    name: str
    arguments: str
    first: bool
    last: bool


def wants_tools(body: Mapping[str, Any]) -> bool:
    """True when the request offers tools (OpenAI ``tools``/``functions``, Anthropic
    ``tools``)."""
    tools = body.get("tools") or body.get("functions")
    return isinstance(tools, Sequence) and len(tools) > 0


def _cut(text: str, pieces: int) -> list[str]:
    if pieces <= 1 or len(text) < pieces:
        return [text]
    size = -(-len(text) // pieces)
    return [text[i : i + size] for i in range(0, len(text), size)]


def fragments(calls: Sequence[ToolCallSpec], *, pieces: int = 3) -> list[ToolFragment]:
    """The fragments of ``calls``, call after call, each call's arguments in ``pieces``."""
    out: list[ToolFragment] = []
    for k, (name, arguments) in enumerate(calls):
        parts = _cut(orjson.dumps(dict(arguments)).decode(), pieces)
        for i, part in enumerate(parts):
            out.append(
                ToolFragment(
                    call=k,
                    id=f"call-{k + 1}",
                    name=name,
                    arguments=part,
                    first=i == 0,
                    last=i == len(parts) - 1,
                )
            )
    return out
