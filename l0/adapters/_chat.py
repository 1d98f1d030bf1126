"""Decoding of OpenAI-shaped chat-completion chunks, shared by the OpenAI adapter
(``ChatCompletionChunk``) and the LiteLLM adapter (``ModelResponseStream``).

Per chunk the fast path reads five attributes and builds at most one :class:`Event`; tool
calls, refusals, reasoning, the finish reason and usage take the slow path.
"""

from __future__ import annotations

from typing import Any

from l0.adapters._common import RefusalError, ToolCallAssembler, reason_or_none, usage_of
from l0.adapters.base import AdapterStream, Decoded
from l0.errors import InvalidStreamError
from l0.types import Event, EventType

__all__ = ["ChatChunkStream"]

_TOKEN = EventType.TOKEN
_PROGRESS = EventType.PROGRESS
_TOOL_CALL = EventType.TOOL_CALL


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
        extra = getattr(delta, "__pydantic_extra__", None)
        if not extra:
            return None
        text = extra.get("reasoning_content") or extra.get("reasoning")
        return text if isinstance(text, str) else None

    def plain(self, delta: Any) -> bool:
        """True when ``delta`` carries nothing but text (no refusal, no extra fields)."""
        return delta.refusal is None and not delta.__pydantic_extra__

    def decode_other(self, chunk: Any) -> Decoded:
        """Chunks that are not :attr:`chunk_class` (a subclass reads its other event kinds)."""
        raise InvalidStreamError(f"unexpected chunk {type(chunk).__name__} in a chat stream")

    def decode(self, chunk: Any) -> Decoded:
        cls = self.chunk_class
        if cls is not None and chunk.__class__ is not cls:
            return self.decode_other(chunk)
        choices = getattr(chunk, "choices", None)
        if not choices:
            # Usage-only chunks, and Azure's first chunk (prompt-filter results, no choices).
            self._read_usage(chunk)
            return None
        choice = choices[0]
        if choice.index != 0:
            choice = _primary(choices)
            if choice is None:
                return None
        delta = choice.delta
        if delta is None:
            return self._slow(chunk, choice, None, None)
        content = delta.content
        # ``not finish_reason``: some servers send "" instead of null on every chunk.
        if not choice.finish_reason and delta.tool_calls is None and self.plain(delta):
            return Event(_TOKEN, content) if content else None
        return self._slow(chunk, choice, delta, content)

    def _slow(self, chunk: Any, choice: Any, delta: Any, content: object) -> Decoded:
        out: list[Event] = []
        if delta is not None:
            thinking = self.reasoning(delta)
            if thinking:
                out.append(Event(_PROGRESS, None, {"reasoning": thinking}))
            if content:
                if not isinstance(content, str):
                    raise InvalidStreamError(
                        f"chat delta content must be a string, got {type(content).__name__}"
                    )
                out.append(Event(_TOKEN, content))
            refusal = getattr(delta, "refusal", None)
            if refusal:
                self._refusal.append(str(refusal))
            tool_deltas = getattr(delta, "tool_calls", None)
            if tool_deltas:
                self._add_tools(tool_deltas)
        finish = reason_or_none(getattr(choice, "finish_reason", None))
        if finish is not None:
            self._finish(finish, out)
            self._read_usage(chunk)
        if not out:
            return None
        return out[0] if len(out) == 1 else out

    def _add_tools(self, tool_deltas: Any) -> None:
        if not isinstance(tool_deltas, (list, tuple)):
            raise InvalidStreamError(
                f"delta.tool_calls must be a list, got {type(tool_deltas).__name__}"
            )
        add = self._tools.add
        for tc in tool_deltas:
            fn = _field(tc, "function")
            add(
                _field(tc, "index"),
                _field(tc, "id"),
                _field(fn, "name"),
                _field(fn, "arguments"),
            )

    def _finish(self, reason: str, out: list[Event]) -> None:
        self.finish_reason = reason
        self.ended = True
        for call in self._tools.finish_all():
            self.tool_calls.append(call)
            out.append(Event(_TOOL_CALL, None, call))
        if self._refusal:
            raise RefusalError("".join(self._refusal))

    def _read_usage(self, chunk: Any) -> None:
        usage = getattr(chunk, "usage", None)
        if usage is None:
            return
        self.usage = usage_of(
            getattr(usage, "prompt_tokens", None),
            getattr(usage, "completion_tokens", None),
            getattr(usage, "total_tokens", None),
            prompt_tokens_details=getattr(usage, "prompt_tokens_details", None),
            completion_tokens_details=getattr(usage, "completion_tokens_details", None),
        )

    def end(self) -> list[Event]:
        """Tool calls still open when the chunks ran out (a cut stream) are dropped: their
        arguments may be incomplete, and the missing finish reason already fails the attempt."""
        return []


def _primary(choices: Any) -> Any:
    """The choice with index 0 (a missing or ``""`` index counts as 0), or ``None``."""
    for choice in choices:
        index = getattr(choice, "index", None)
        if index == 0 or index is None or index == "":
            return choice
    return None


def _field(obj: Any, name: str) -> Any:
    """``obj.name`` or ``obj[name]`` (a server's extra fields arrive as plain dicts)."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)
