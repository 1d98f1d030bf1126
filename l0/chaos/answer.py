"""The chaos server's answer text: deterministic, cut into tokens, continuation aware.

Every response streams the same answer (or what a configured callable returns). When the
request ends with an assistant message (assistant-prefix continuation, as
:meth:`l0.Attempt.continuation_messages` builds it; a trailing user continuation prompt is
allowed after it), and that message is a prefix of the answer, the server continues from where
the prefix ends — restating its last ``restate`` characters if asked, to exercise overlap
removal. A prefix that is not the start of the answer gets the whole answer again, as a model
that ignores the prefix would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_ANSWER",
    "Continuation",
    "find_continuation",
    "prompt_words",
    "split_tokens",
]

DEFAULT_ANSWER = (
    "Rivers carve canyons slowly, one grain at a time. Patient water shapes stone that "
    "seems permanent to every hurried traveller. Engineers learn a similar lesson from "
    "networks: packets vanish, sockets reset, and servers pause without warning. Reliable "
    "systems expect interruption, keep careful notes of progress, and resume exactly where "
    "they stopped. Nothing is duplicated, nothing is lost, and the reader never notices the "
    "storm beneath the surface."
)
"""The default answer: no word repeats next to itself, so a resumed stream's overlap with
the checkpoint is never ambiguous."""

_TOKEN = re.compile(r"\s*\S+|\s+")


def split_tokens(text: str) -> list[str]:
    """``text`` cut into word tokens (``"Hello world"`` -> ``["Hello", " world"]``).

    The tokens joined give ``text`` back exactly.
    """
    return _TOKEN.findall(text)


@dataclass(frozen=True, slots=True)
class Continuation:
    """Where a response starts within the answer.

    Attributes:
        prefix: The trailing assistant text the request carried (``None``: not a
            continuation request).
        start: Index in the answer where this response's text begins (0: the whole answer).
        matched: True when ``prefix`` is a prefix of the answer (the server continued it).
    """

    prefix: str | None = None
    start: int = 0
    matched: bool = False


def _text_of(content: Any) -> str | None:
    """The text of a message ``content``: a string or a list of text parts/blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = [
            part["text"]
            for part in content
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        ]
        return "".join(parts) if parts else None
    return None


def _messages(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The conversation of a chat, messages or Responses request body."""
    raw = body.get("messages")
    if raw is None:
        raw = body.get("input")
    if isinstance(raw, str):
        return [{"role": "user", "content": raw}]
    if isinstance(raw, Sequence):
        return [m for m in raw if isinstance(m, Mapping)]
    return []


def prompt_words(body: Mapping[str, Any]) -> int:
    """A deterministic stand-in for the prompt's token count: its whitespace-split words."""
    total = 0
    for message in _messages(body):
        text = _text_of(message.get("content"))
        if text:
            total += len(text.split())
    return total


def _trailing_assistant(messages: list[Mapping[str, Any]], answer: str) -> str | None:
    if not messages:
        return None
    last = messages[-1]
    if last.get("role") == "assistant":
        return _text_of(last.get("content"))
    if len(messages) >= 2 and last.get("role") == "user":
        before = messages[-2]
        if before.get("role") == "assistant":
            text = _text_of(before.get("content"))
            # A user turn after an assistant turn is ordinary dialogue, unless the assistant
            # text is a partial answer (a continuation prompt follows the prefix).
            if text and answer.startswith(text) and text != answer:
                return text
    return None


def find_continuation(body: Mapping[str, Any], answer: str, *, restate: int = 0) -> Continuation:
    """Where the response to ``body`` starts within ``answer``.

    Args:
        body: The parsed request body.
        answer: The full answer text.
        restate: Characters of a matched prefix to send again (clamped to the prefix).
    """
    prefix = _trailing_assistant(_messages(body), answer)
    if not prefix:
        return Continuation()
    if answer.startswith(prefix):
        return Continuation(prefix, max(len(prefix) - restate, 0), True)
    return Continuation(prefix, 0, False)
