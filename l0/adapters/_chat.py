"""Decoding of OpenAI-shaped chat-completion chunks, shared by the OpenAI adapter
(``ChatCompletionChunk``) and the LiteLLM adapter (``ModelResponseStream``).

Per chunk the fast path reads five attributes and builds at most one :class:`Event`; tool
calls, refusals, reasoning, the finish reason and usage take the slow path.
"""

from __future__ import annotations

from typing import Any

from l0.adapters._common import RefusalError, ToolCallAssembler, usage_of
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
        choices = chunk.choices
        if not choices:
            self._read_usage(chunk)
            return None
        choice = choices[0]
        if choice.index != 0:
            choice = next((c for c in choices if c.index == 0), None)
            if choice is None:
                return None
        delta = choice.delta
        content = delta.content
        if choice.finish_reason is None and delta.tool_calls is None and self.plain(delta):
            return Event(_TOKEN, content) if content else None
        return self._slow(chunk, choice, delta, content)

    def _slow(self, chunk: Any, choice: Any, delta: Any, content: str | None) -> Decoded:
        out: list[Event] = []
        thinking = self.reasoning(delta)
        if thinking:
            out.append(Event(_PROGRESS, None, {"reasoning": thinking}))
        if content:
            out.append(Event(_TOKEN, content))
        refusal = getattr(delta, "refusal", None)
        if refusal:
            self._refusal.append(refusal)
        tool_deltas = delta.tool_calls
        if tool_deltas:
            add = self._tools.add
            for tc in tool_deltas:
                fn = tc.function
                add(
                    tc.index,
                    tc.id,
                    fn.name if fn is not None else None,
                    fn.arguments if fn is not None else None,
                )
        finish = choice.finish_reason
        if finish is not None:
            self._finish(str(finish), out)
            self._read_usage(chunk)
        if not out:
            return None
        return out[0] if len(out) == 1 else out

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
