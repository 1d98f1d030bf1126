"""Decoding of OpenAI-shaped chat-completion chunks, shared by the OpenAI adapter
(``ChatCompletionChunk``) and the LiteLLM adapter (``ModelResponseStream``).

Per chunk the fast path reads five attributes and builds at most one :class:`Event`; tool
calls, refusals, reasoning, the finish reason and usage take the slow path.
"""

from __future__ import annotations

from typing import Any

from l0.adapters._common import RefusalError, ToolCallAssembler, reason_or_none, usage_of
from l0.adapters._shape import (
    count_or_none,
    field,
    is_record,
    malformed,
    record_or_none,
    seq_or_none,
    str_or_none,
)
from l0.adapters.base import AdapterStream, Decoded
from l0.types import Event, EventType

__all__ = ["ChatChunkStream"]

_TOKEN = EventType.TOKEN
_PROGRESS = EventType.PROGRESS
_TOOL_CALL = EventType.TOOL_CALL
_PLAIN_KEYS = frozenset({"content", "role"})


class ChatChunkStream(AdapterStream):
    """Reads chat-completion chunks: text, tool calls, refusal, reasoning, finish, usage.

    Only the choice with ``index == 0`` is read (``n > 1`` is not supported). The stream has
    ended normally once that choice carries a ``finish_reason``; the usage-only chunk that
    ``stream_options={"include_usage": True}`` adds after it is read too.
    """

    expects_end = True
    chunk_class: type | None = None
    """When set, chunks of any other class go to :meth:`decode_other`."""

    def __init__(self, chunks: Any, *, source: object = None, keep_raw: bool = False) -> None:
        super().__init__(chunks, source=source, keep_raw=keep_raw)
        self._tools = ToolCallAssembler()
        self._refusal: list[str] = []

    def reasoning(self, delta: Any) -> str | None:
        """Reasoning text carried by ``delta`` (OpenAI-compatible servers put it in an extra
        ``reasoning_content``/``reasoning`` field)."""
        extra = delta if isinstance(delta, dict) else field(delta, "__pydantic_extra__")
        if not extra or not isinstance(extra, dict):
            return None
        text = extra.get("reasoning_content") or extra.get("reasoning")
        return text if isinstance(text, str) else None

    def plain(self, delta: Any) -> bool:
        """True when ``delta`` carries nothing but text (no refusal, no extra fields)."""
        if isinstance(delta, dict):
            return delta.keys() <= _PLAIN_KEYS
        return field(delta, "refusal") is None and not field(delta, "__pydantic_extra__")

    def decode_other(self, chunk: Any) -> Decoded:
        """Chunks that are not :attr:`chunk_class`: a mapping is read as a chat chunk (a
        plain iterable of parsed JSON); a subclass reads its other event kinds."""
        if isinstance(chunk, dict):
            return self.decode_chat(chunk)
        raise malformed(f"unexpected {type(chunk).__name__} in a chat stream", chunk)

    def decode(self, chunk: Any) -> Decoded:
        cls = self.chunk_class
        if cls is not None and chunk.__class__ is not cls:
            return self.decode_other(chunk)
        return self.decode_chat(chunk)

    def decode_chat(self, chunk: Any) -> Decoded:
        """One chat-completion chunk (an SDK object or a mapping), shape-checked."""
        if not is_record(chunk):
            raise malformed(f"a chat chunk must be an object, got {type(chunk).__name__}", chunk)
        choices = field(chunk, "choices")
        if not choices:
            # Usage-only chunks, and Azure's first chunk (prompt-filter results, no choices).
            self._read_usage(chunk)
            return None
        if choices.__class__ is not list and not isinstance(choices, (list, tuple)):
            raise malformed(f"choices must be an array, got {type(choices).__name__}", chunk)
        choice = choices[0]
        if field(choice, "index") != 0:
            choice = _primary(choices)
            if choice is None:
                return None
        if not is_record(choice):
            raise malformed(f"a choice must be an object, got {type(choice).__name__}", chunk)
        # A choice without a delta carries nothing (but may carry the finish reason).
        delta = record_or_none(field(choice, "delta"), "choices[0].delta", chunk)
        if delta is None:
            return self._slow(chunk, choice, None, None)
        content = field(delta, "content")
        # ``not finish_reason``: some servers send "" instead of null on every chunk.
        if (
            content.__class__ is str
            and not field(choice, "finish_reason")
            and field(delta, "tool_calls") is None
            and self.plain(delta)
        ):
            return Event(_TOKEN, content) if content else None
        return self._slow(chunk, choice, delta, content)

    def _slow(self, chunk: Any, choice: Any, delta: Any, content: object) -> Decoded:
        out: list[Event] = []
        if delta is not None:
            thinking = self.reasoning(delta)
            if thinking:
                out.append(Event(_PROGRESS, None, {"reasoning": thinking}))
            text = str_or_none(content, "delta.content", chunk)
            if text:
                out.append(Event(_TOKEN, text))
            refusal = str_or_none(field(delta, "refusal"), "delta.refusal", chunk)
            if refusal:
                self._refusal.append(refusal)
            tool_deltas = field(delta, "tool_calls")
            if tool_deltas:
                self._add_tools(tool_deltas, chunk)
        finish = reason_or_none(field(choice, "finish_reason"))
        if finish is not None:
            self._finish(finish, out)
            self._read_usage(chunk)
        if not out:
            return None
        return out[0] if len(out) == 1 else out

    def _add_tools(self, tool_deltas: Any, chunk: Any) -> None:
        add_tool_deltas(self._tools, tool_deltas, chunk)

    def _finish(self, reason: str, out: list[Event]) -> None:
        finish_chat(self, self._tools, self._refusal, reason, out)

    def _read_usage(self, chunk: Any) -> None:
        usage = field(chunk, "usage")
        if not is_record(usage):
            return  # absent, or a shape that says nothing (usage is informational)
        self.usage = usage_of(
            count_or_none(field(usage, "prompt_tokens")),
            count_or_none(field(usage, "completion_tokens")),
            count_or_none(field(usage, "total_tokens")),
            prompt_tokens_details=field(usage, "prompt_tokens_details"),
            completion_tokens_details=field(usage, "completion_tokens_details"),
        )

    def end(self) -> list[Event]:
        """Tool calls still open when the chunks ran out (a cut stream) are dropped: their
        arguments may be incomplete, and the missing finish reason already fails the attempt."""
        return []


def add_tool_deltas(tools: ToolCallAssembler, tool_deltas: Any, chunk: Any) -> None:
    """Feed a chat delta's ``tool_calls`` to ``tools``; an unexpected shape is a
    :class:`~l0.errors.MalformedChunkError` carrying ``chunk`` (SDK path and fast lane alike)."""
    seq = seq_or_none(tool_deltas, "delta.tool_calls", chunk) or ()
    add = tools.add
    for tc in seq:
        if not is_record(tc):
            raise malformed(f"a tool-call delta is a {type(tc).__name__}", chunk)
        fn = record_or_none(field(tc, "function"), "tool_calls[].function", chunk)
        add(field(tc, "index"), field(tc, "id"), field(fn, "name"), field(fn, "arguments"))


def finish_chat(
    stream: AdapterStream,
    tools: ToolCallAssembler,
    refusal: list[str],
    reason: str,
    out: list[Event],
) -> None:
    """A chat stream's end (SDK path and fast lane): record the finish reason, append the
    assembled tool calls to ``out`` as events, raise :class:`RefusalError` for a refusal."""
    stream.finish_reason = reason
    stream.ended = True
    for call in tools.finish_all():
        stream.tool_calls.append(call)
        out.append(Event(_TOOL_CALL, None, call))
    if refusal:
        raise RefusalError("".join(refusal))


def _primary(choices: Any) -> Any:
    """The choice with index 0 (a missing or ``""`` index counts as 0), or ``None``."""
    for choice in choices:
        index = field(choice, "index")
        if index == 0 or index is None or index == "":
            return choice
    return None
