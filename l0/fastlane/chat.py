"""OpenAI chat completions over the fast lane: the SSE body read without the SDK's models.

Gives the events, tool calls, usage, finish reason and errors of
:class:`l0.adapters.openai.OpenAIStream` over ``ChatCompletionChunk`` objects, for the same
bytes: a plain text delta is handed to the loop as a ``str``; every other chunk is decoded
here from its JSON, field by field as the SDK's model would expose it.
"""

from __future__ import annotations

from typing import Any

from l0.adapters._chat import add_tool_deltas, finish_chat
from l0.adapters._common import ToolCallAssembler, reason_or_none, usage_of
from l0.adapters._shape import str_or_none
from l0.adapters.base import Decoded
from l0.fastlane.base import DONE, FastStream, load_json
from l0.fastlane.direct import DirectRoute, open_direct
from l0.types import Event, EventType

__all__ = ["OpenAIChatFastStream"]

_TOKEN = EventType.TOKEN
_PROGRESS = EventType.PROGRESS
_TOOL_CALL = EventType.TOOL_CALL
_DELTA_FIELDS = frozenset({"audio", "content", "function_call", "refusal", "role", "tool_calls"})
"""``ChoiceDelta``'s declared fields; any other key is an extra (reasoning, …)."""


def _chat_imports() -> tuple[type, Any, Any, Any]:
    from openai import AsyncStream
    from openai.resources.chat.completions import AsyncCompletions
    from openai.types.chat import ChatCompletion, ChatCompletionChunk
    from openai.types.chat.completion_create_params import CompletionCreateParamsStreaming

    return (
        AsyncCompletions,
        CompletionCreateParamsStreaming,
        ChatCompletion,
        AsyncStream[ChatCompletionChunk],
    )


CHAT_ROUTE = DirectRoute(("chat", "completions"), "/chat/completions", _chat_imports)
"""What ``chat.completions.create`` posts (see :mod:`l0.fastlane.direct`)."""


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if obj.__class__ is dict else None


def openai_error(payload: Any, request: Any) -> BaseException:
    """The ``openai.APIError`` the SDK raises for ``{"error": …}`` inside a 200 stream."""
    import openai

    error = payload.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    if not message or not isinstance(message, str):
        message = "An error occurred during streaming"
    return openai.APIError(message=message, request=request, body=error)


def openai_transport_error(exc: BaseException, timeout: bool, request: Any) -> BaseException:
    """The SDK's ``APITimeoutError``/``APIConnectionError`` for a mid-body transport error."""
    import openai

    if timeout:
        return openai.APITimeoutError(request=request)
    return openai.APIConnectionError(request=request)


class OpenAIChatFastStream(FastStream):
    """Chat completions SSE (see the module docstring). Only the choice with ``index == 0``
    is read; the stream has ended once it carries a ``finish_reason``."""

    text_path = ("choices", 0, "delta", "content")

    wraps_transport_errors = True

    def __init__(self, request: Any, *, keep_raw: bool = False) -> None:
        super().__init__(request, keep_raw=keep_raw)
        self._tools = ToolCallAssembler()
        self._refusal: list[str] = []

    def start(self) -> Any:
        """The request ``client.chat.completions.with_streaming_response.create(stream=True,
        …)`` sends, posted directly when the arguments are plain JSON
        (:func:`~l0.fastlane.direct.open_direct`), else through that typed call."""
        request = self.request
        direct = open_direct(request.client, CHAT_ROUTE, request.kwargs)
        if direct is not None:
            return direct
        create = request.client.chat.completions.with_streaming_response.create
        return create(**request.kwargs, stream=True)

    def transport_error(self, exc: BaseException, timeout: bool) -> BaseException:
        """The openai SDK wraps it (see :func:`openai_transport_error`)."""
        return openai_transport_error(exc, timeout, self.response.request)

    def handle(self, event: str | None, data: bytes) -> Any:
        """``[DONE]`` ends the body; plain text deltas become ``str``; ``{"error": …}`` raises
        the SDK's ``APIError``."""
        if data[:6] == b"[DONE]":
            return DONE
        obj = load_json(data)
        if event is not None and event.startswith("thread."):
            return None  # the SDK wraps these as a chunk with no choices: liveness only
        if obj.__class__ is not dict:
            return obj
        if obj.get("error"):
            raise openai_error(obj, self.response.request)
        choices = obj.get("choices")
        if choices and choices.__class__ is list:
            choice = choices[0]
            if (
                choice.__class__ is dict
                and choice.get("index") == 0
                and not choice.get("finish_reason")
            ):
                delta = choice.get("delta")
                if (
                    delta.__class__ is dict
                    and delta.keys() <= _DELTA_FIELDS
                    and delta.get("refusal") is None
                    and delta.get("tool_calls") is None
                ):
                    content = delta.get("content")
                    if content.__class__ is str and content:
                        self.template.learn(event, data, obj, content)
                        return content
        return obj

    def decode(self, chunk: Any) -> Decoded:
        if chunk.__class__ is str:  # read after the end marker, or by a hedge race
            return Event(_TOKEN, chunk) if chunk else None
        if chunk.__class__ is not dict:
            return None
        choices = chunk.get("choices")
        if not choices:
            self._read_usage(chunk)
            return None
        choice = choices[0]
        if _get(choice, "index") != 0:
            choice = _primary(choices)
            if choice is None:
                return None
        delta = _get(choice, "delta")
        if delta.__class__ is not dict:
            return self._slow(chunk, choice, None)
        content = delta.get("content")
        if (
            (content is None or content.__class__ is str)  # anything else: a typed error
            and not choice.get("finish_reason")
            and delta.get("tool_calls") is None
            and delta.get("refusal") is None
            and delta.keys() <= _DELTA_FIELDS
        ):
            return Event(_TOKEN, content) if content else None
        return self._slow(chunk, choice, delta)

    def _slow(self, chunk: dict[str, Any], choice: Any, delta: Any) -> Decoded:
        out: list[Event] = []
        if delta is not None:
            thinking = _reasoning(delta)
            if thinking:
                out.append(Event(_PROGRESS, None, {"reasoning": thinking}))
            content = str_or_none(delta.get("content"), "delta.content", chunk)
            if content:
                out.append(Event(_TOKEN, content))
            refusal = delta.get("refusal")
            if refusal:
                self._refusal.append(str(refusal))
            tool_deltas = delta.get("tool_calls")
            if tool_deltas:
                self._add_tools(tool_deltas, chunk)
        finish = reason_or_none(_get(choice, "finish_reason"))
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

    def _read_usage(self, chunk: dict[str, Any]) -> None:
        usage = chunk.get("usage")
        if usage.__class__ is not dict:
            return
        self.usage = usage_of(
            usage.get("prompt_tokens"),
            usage.get("completion_tokens"),
            usage.get("total_tokens"),
            prompt_tokens_details=_details(usage.get("prompt_tokens_details")),
            completion_tokens_details=_details(usage.get("completion_tokens_details")),
        )


def _details(value: Any) -> Any:
    """Usage details as the SDK model's non-``None`` fields."""
    if value.__class__ is dict:
        return {k: v for k, v in value.items() if v is not None}
    return value


def _reasoning(delta: dict[str, Any]) -> str | None:
    """Reasoning text in the delta's extra ``reasoning_content``/``reasoning`` field."""
    if delta.keys() <= _DELTA_FIELDS:
        return None
    text = delta.get("reasoning_content") or delta.get("reasoning")
    return text if isinstance(text, str) else None


def _primary(choices: list[Any]) -> Any:
    """The choice with index 0 (a missing or ``""`` index counts as 0), or ``None``."""
    for choice in choices:
        index = _get(choice, "index")
        if index == 0 or index is None or index == "":
            return choice
    return None
