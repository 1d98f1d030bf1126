"""LangChain streams: ``Runnable.astream()`` iterators of ``AIMessageChunk`` (or ``str``).

``llm.astream(...)`` returns a plain async generator, so its type says nothing. Two ways in:

- :meth:`LangChainAdapter.detect` accepts an async generator created by the ``astream``
  method of a LangChain ``Runnable`` (its frame's ``self`` is a ``Runnable``);
- the text adapter hands a stream over to :meth:`LangChainAdapter.decodes` when its first
  non-text chunk is a LangChain message chunk (e.g. a chain wrapped in your own generator).

``adapter="langchain"`` on :func:`l0.run` skips detection. Nothing here imports
``langchain_core``: its classes are looked up in ``sys.modules`` (an object of a module that
was never imported cannot exist).

Decoding: ``str`` content and text blocks become ``TOKEN`` events; thinking/reasoning blocks
and ``additional_kwargs["reasoning_content"]`` become ``PROGRESS`` events (liveness, not
answer text); other ``additional_kwargs`` (e.g. ChatOpenAI's ``parsed`` structured output)
are kept in :attr:`LangChainStream.extra`; ``tool_call_chunks`` are assembled by the shared
rules of :mod:`l0.adapters.tool_calls` into one ``TOOL_CALL`` per call when the response
ends; ``usage_metadata`` is summed into :class:`l0.Usage`; the ``finish_reason``/
``stop_reason`` of ``response_metadata`` (``""`` counts as absent) marks a normal end. Any
other chunk (a dict or a parsed object from an output parser) passes through as a ``DATA``
event.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Mapping
from typing import Any

from l0.adapters.base import AdapterStream, Decoded
from l0.adapters.registry import register_adapter
from l0.adapters.tool_calls import ToolCallAssembler, reason_or_none
from l0.errors import InvalidStreamError, L0Error
from l0.types import Event, EventType, ToolCall, Usage

__all__ = ["LANGCHAIN_ADAPTER", "LangChainAdapter", "LangChainStream"]

_TOKEN = EventType.TOKEN
_PROGRESS = EventType.PROGRESS

# Providers whose LangChain integrations always report a finish/stop reason: a stream of
# theirs that ends without one was cut (ChatOpenAI ends silently on a truncated stream).
_REPORTS_FINISH = frozenset({"openai", "anthropic", "azure", "groq", "mistralai", "deepseek"})
_REASONING_BLOCKS = frozenset({"thinking", "reasoning", "redacted_thinking"})
# Block kinds that restate tool_call_chunks (decoded from those instead).
_TOOL_BLOCKS = frozenset({"tool_use", "input_json_delta", "tool_call_chunk", "tool_call"})
# additional_kwargs decoded elsewhere (reasoning) or restating tool_call_chunks.
_RAW_KWARGS = frozenset({"reasoning_content", "tool_calls", "function_call"})


def _message_types() -> tuple[type, ...]:
    """``(BaseMessage, ChatGenerationChunk)`` when langchain_core is loaded, else ``()``."""
    messages = sys.modules.get("langchain_core.messages.base")
    outputs = sys.modules.get("langchain_core.outputs.chat_generation")
    found: tuple[type, ...] = ()
    if messages is not None:
        found += (messages.BaseMessage,)
    if outputs is not None:
        found += (outputs.ChatGenerationChunk,)
    return found


class LangChainStream(AdapterStream):
    """Decodes LangChain message chunks (see the module docstring).

    Attributes:
        model_name: ``response_metadata["model_name"]``, once seen.
        model_provider: ``response_metadata["model_provider"]``, once seen.
        saw_message: True once a message chunk (not a bare ``str``) was decoded.
        extra: ``additional_kwargs`` other than reasoning and raw tool-call deltas, merged
            over the stream (strings concatenated, other values replaced).
    """

    def __init__(
        self, chunks: AsyncIterator[Any], *, source: object = None, keep_raw: bool = False
    ) -> None:
        super().__init__(chunks, source=source, keep_raw=keep_raw)
        self.expects_end = False
        self.model_name: str | None = None
        self.model_provider: str | None = None
        self.saw_message = False
        self.extra: dict[str, Any] = {}
        self._tools = ToolCallAssembler()
        self._usage: dict[str, Any] | None = None
        self._message_types = _message_types()

    def decode(self, chunk: Any) -> Decoded:
        if isinstance(chunk, str):
            return Event(_TOKEN, chunk) if chunk else None
        if isinstance(chunk, self._message_types):
            message = getattr(chunk, "message", chunk)  # ChatGenerationChunk wraps one
            return self._message(message)
        if isinstance(chunk, Event):
            return chunk
        return Event(EventType.DATA, None, chunk)

    def _message(self, m: Any) -> Decoded:
        self.saw_message = True
        content = m.content
        events: list[Event] = []
        if isinstance(content, str):
            if content:
                events.append(Event(_TOKEN, content))
        else:
            self._blocks(content, events)
        extra = m.additional_kwargs
        if extra:
            reasoning = extra.get("reasoning_content")
            if isinstance(reasoning, str) and reasoning:
                events.append(Event(_PROGRESS, None, {"type": "reasoning", "text": reasoning}))
            if len(extra) > (reasoning is not None):
                self._add_extra(extra)
        calls = getattr(m, "tool_call_chunks", None)
        if calls:
            self._add_call_chunks(calls)
        usage = getattr(m, "usage_metadata", None)
        if usage:
            self._add_usage(usage)
        meta = m.response_metadata
        if meta and (len(meta) > 1 or self.model_provider is None):
            self._metadata(meta, events)
        if not events:
            return None
        return events[0] if len(events) == 1 else events

    @staticmethod
    def _blocks(content: list[Any], events: list[Event]) -> None:
        for block in content:
            if isinstance(block, str):
                if block:
                    events.append(Event(_TOKEN, block))
                continue
            if not isinstance(block, Mapping):
                continue
            kind = block.get("type")
            if not isinstance(kind, str):
                kind = None  # an odd type says nothing: the block is passed on as data
            if kind == "text":
                text = block.get("text")
                if isinstance(text, str) and text:
                    events.append(Event(_TOKEN, text))
            elif kind in _REASONING_BLOCKS:
                text = block.get("thinking") or block.get("reasoning") or ""
                events.append(Event(_PROGRESS, None, {"type": "reasoning", "text": text}))
            elif kind not in _TOOL_BLOCKS:
                events.append(Event(_PROGRESS, None, dict(block)))

    def _add_extra(self, extra: Mapping[str, Any]) -> None:
        kept = self.extra
        for key, value in extra.items():
            if key in _RAW_KWARGS:
                continue
            old = kept.get(key)
            kept[key] = old + value if isinstance(old, str) and isinstance(value, str) else value

    def _add_call_chunks(self, chunks: Any) -> None:
        if not isinstance(chunks, (list, tuple)):
            raise InvalidStreamError(
                f"tool_call_chunks must be a list, got {type(chunks).__name__}"
            )
        add = self._tools.add
        for tc in chunks:
            if not isinstance(tc, Mapping):
                raise InvalidStreamError(
                    f"a tool_call_chunk must be a mapping, got {type(tc).__name__}"
                )
            add(tc.get("index"), tc.get("id"), tc.get("name"), tc.get("args"))

    def _add_usage(self, usage: Mapping[str, Any]) -> None:
        total = self._usage
        if total is None:
            self._usage = total = {}
        for key, value in usage.items():
            if isinstance(value, int):
                total[key] = total.get(key, 0) + value
            elif isinstance(value, Mapping):
                inner = total.setdefault(key, {})
                for k, v in value.items():
                    if isinstance(v, int):
                        inner[k] = inner.get(k, 0) + v
        self.usage = Usage(
            input_tokens=total.get("input_tokens"),
            output_tokens=total.get("output_tokens"),
            total_tokens=total.get("total_tokens"),
            details={k: v for k, v in total.items() if isinstance(v, dict)},
        )

    def _metadata(self, meta: Mapping[str, Any], events: list[Event]) -> None:
        provider = meta.get("model_provider")
        if isinstance(provider, str) and self.model_provider is None:
            self.model_provider = provider
            self.expects_end = provider in _REPORTS_FINISH
        name = meta.get("model_name") or meta.get("model")
        if isinstance(name, str):
            self.model_name = name
        reason = reason_or_none(meta.get("finish_reason")) or reason_or_none(
            meta.get("stop_reason")
        )
        if reason is not None:
            self.finish_reason = reason
            self.ended = True
            events.extend(self._release(self._tools.finish_all()))

    def _release(self, calls: list[ToolCall]) -> list[Event]:
        self.tool_calls.extend(calls)
        return [Event(EventType.TOOL_CALL, None, call) for call in calls]

    def end(self) -> list[Event]:
        """A response that ended without a finish reason releases only the tool calls whose
        arguments are whole JSON (a cut call is never emitted half-written)."""
        return self._release(self._tools.salvage())


class LangChainAdapter:
    """Adapter for LangChain ``astream()`` iterators (``adapter="langchain"``)."""

    name = "langchain"

    def detect(self, obj: object) -> bool:
        """True for an unstarted async generator made by a ``Runnable.astream`` method."""
        code = getattr(obj, "ag_code", None)
        if code is None or code.co_name != "astream":
            return False
        runnables = sys.modules.get("langchain_core.runnables.base")
        frame = getattr(obj, "ag_frame", None)
        if runnables is None or frame is None:
            return False
        return isinstance(frame.f_locals.get("self"), runnables.Runnable)

    def decodes(self, chunk: object) -> bool:
        """True for a LangChain message chunk (lets the text adapter hand a stream over)."""
        types = _message_types()
        return bool(types) and isinstance(chunk, types)

    def open(self, obj: object, *, keep_raw: bool = False) -> AdapterStream:
        if hasattr(obj, "__aiter__"):
            chunks: AsyncIterator[Any] = obj.__aiter__()
        else:
            raise InvalidStreamError(
                f"the langchain adapter reads async iterators (Runnable.astream()); "
                f"got {type(obj).__name__}"
            )
        return LangChainStream(chunks, source=obj, keep_raw=keep_raw)

    def map_error(self, exc: BaseException) -> L0Error | None:
        # LangChain re-raises the provider SDK's own exceptions: the generic rules apply.
        return None


LANGCHAIN_ADAPTER = LangChainAdapter()
register_adapter(LANGCHAIN_ADAPTER, priority=-10)
