"""Between l0 and LangChain messages: input normalisation, continuation input, output chunks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    BaseMessageChunk,
    HumanMessage,
    convert_to_messages,
    message_chunk_to_message,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable
from langchain_core.runnables.base import RunnableBindingBase

from l0.adapters.langchain import LangChainStream
from l0.types import Continuation, Event, EventType, Result, Usage

__all__ = [
    "Accumulator",
    "OutputBuilder",
    "continued_input",
    "is_chat_model",
    "to_messages",
]


def is_chat_model(runnable: Runnable[Any, Any]) -> bool:
    """True for a chat model, also behind ``bind``/``bind_tools``/``with_config`` bindings."""
    while isinstance(runnable, RunnableBindingBase):
        runnable = runnable.bound
    return isinstance(runnable, BaseChatModel)


def to_messages(value: object) -> list[BaseMessage] | None:
    """The chat-model input ``value`` as a message list, or ``None`` when it is not one."""
    if isinstance(value, PromptValue):
        return value.to_messages()
    if isinstance(value, str):
        return [HumanMessage(content=value)]
    if isinstance(value, BaseMessage):
        return [value]
    if isinstance(value, Sequence):
        try:
            return convert_to_messages(value)
        except (ValueError, TypeError, NotImplementedError):
            return None
    return None


def continued_input(
    messages: list[BaseMessage], checkpoint: str, continuation: Continuation | None
) -> list[BaseMessage]:
    """``messages`` + the checkpoint as an assistant prefix.

    Trailing whitespace is cut from the prefix, as :meth:`l0.Attempt.continuation_messages`
    does (Anthropic rejects an assistant prefix that ends with whitespace); when the resumed
    stream restates it, l0's overlap removal drops it again.
    """
    out: list[BaseMessage] = [*messages, AIMessage(content=checkpoint.rstrip())]
    if continuation is not None and continuation.prompt:
        out.append(HumanMessage(content=continuation.prompt))
    return out


def _usage_metadata(usage: Usage) -> UsageMetadata:
    meta: dict[str, Any] = {
        "input_tokens": usage.input_tokens or 0,
        "output_tokens": usage.output_tokens or 0,
        "total_tokens": usage.total_tokens
        if usage.total_tokens is not None
        else (usage.input_tokens or 0) + (usage.output_tokens or 0),
    }
    meta.update(usage.details)
    result: UsageMetadata = UsageMetadata(**meta)  # type: ignore[typeddict-item]
    return result


class OutputBuilder:
    """Turns the events of one l0 run into the outputs an ``L0Runnable`` yields.

    Message streams come out as ``AIMessageChunk`` objects that all carry ``message_id``;
    text streams as ``str``; anything else (``DATA``) as the inner runnable produced it.
    Tool calls are released once, with the final chunk, from the attempt that completed:
    a call streamed by a failed attempt is never duplicated by the retry.
    """

    __slots__ = ("message_id",)

    def __init__(self, message_id: str | None) -> None:
        self.message_id = message_id

    def item(self, ev: Event, stream: LangChainStream | None) -> Any:
        """The output for a content event (``None``: nothing to yield)."""
        kind = ev.type
        if kind is EventType.TOKEN:
            if stream is not None and stream.saw_message:
                return AIMessageChunk(content=ev.text or "", id=self.message_id)
            return ev.text
        if kind is EventType.DATA:
            return ev.data
        if kind is EventType.PROGRESS and stream is not None and stream.saw_message:
            data = ev.data
            if isinstance(data, dict) and data.get("type") == "reasoning" and data.get("text"):
                return AIMessageChunk(
                    content="",
                    additional_kwargs={"reasoning_content": data["text"]},
                    id=self.message_id,
                )
        return None

    def last(self, result: Result, stream: LangChainStream | None) -> AIMessageChunk | None:
        """The closing chunk of a message stream: tool calls, usage, finish reason."""
        if stream is None or not stream.saw_message:
            return None
        # No top-level "model_provider": l0's chunks are in LangChain's provider-neutral
        # layout (str content + tool_call_chunks), which a provider's content-block
        # translator would misread (Anthropic's drops tool calls given str content).
        meta: dict[str, Any] = {
            "l0": {
                "attempts": result.telemetry.attempts,
                "retries": result.telemetry.retries,
                "fallback_index": result.fallback_index,
                "model_provider": stream.model_provider,
            }
        }
        if result.finish_reason is not None:
            meta["finish_reason"] = result.finish_reason
        if stream.model_name is not None:
            meta["model_name"] = stream.model_name
        calls = [
            {
                "type": "tool_call_chunk",
                "name": tc.name,
                "args": tc.raw_arguments,
                "id": tc.id or None,
                "index": tc.index,
            }
            for tc in result.tool_calls
        ]
        return AIMessageChunk(
            content="",
            id=self.message_id,
            additional_kwargs=dict(stream.extra),
            tool_call_chunks=calls,  # type: ignore[arg-type]
            usage_metadata=_usage_metadata(result.usage) if result.usage else None,
            response_metadata=meta,
            chunk_position="last",
        )


class Accumulator:
    """Merges streamed outputs into the ``invoke`` result (``str`` joined in O(n))."""

    __slots__ = ("_parts", "_value")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._value: Any = None

    def add(self, item: Any) -> None:
        """Add one output; an output that cannot be added replaces the value."""
        if isinstance(item, str) and self._value is None:
            self._parts.append(item)
            return
        value = self._raw()
        if value is None:
            self._value = item
            return
        try:
            self._value = value + item
        except TypeError:
            self._value = item

    def _raw(self) -> Any:
        if self._parts:
            self._value = "".join(self._parts)
            self._parts = []
        return self._value

    def reset(self) -> None:
        """Drop everything (a restart: the next outputs are a new answer)."""
        self._parts = []
        self._value = None

    @property
    def value(self) -> Any:
        """The merged value; message chunks become the matching message class."""
        value = self._raw()
        if isinstance(value, BaseMessageChunk):
            return message_chunk_to_message(value)
        return value
