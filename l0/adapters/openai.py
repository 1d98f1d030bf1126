"""The OpenAI adapter: chat completions and Responses API streams of the ``openai`` SDK.

Reads, with no ``adapter=`` needed:

* ``await client.chat.completions.create(..., stream=True)`` (``AsyncStream``) and the sync
  client's ``Stream`` (read in a worker thread, one chunk at a time, so the event loop never
  blocks);
* ``client.chat.completions.stream(...)`` managers (entered by l0 on the first read);
* ``client.responses.create(..., stream=True)`` and ``client.responses.stream(...)``;
* any async iterable of ``ChatCompletionChunk`` (through the text adapter's by-type dispatch).

Text deltas become ``TOKEN`` events; tool-call fragments are assembled by index into one
``TOOL_CALL`` per call; reasoning deltas are ``PROGRESS`` events (liveness, never text); a
refusal raises :class:`~l0.errors.RefusalError` (fatal: the next fallback is tried).

This module never imports ``openai`` at import time: detection looks at ``sys.modules``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from l0.adapters._chat import ChatChunkStream
from l0.adapters._common import (
    SDKAdapter,
    StreamKinds,
    attach,
    inband_error,
    loaded,
    reason_or_none,
    usage_of,
)
from l0.adapters._shape import (
    count_or_none,
    field,
    is_record,
    malformed,
    record_or_none,
    str_or_none,
)
from l0.adapters.base import Decoded
from l0.adapters.registry import register_adapter
from l0.errors import L0Error
from l0.errors.classify import error_from_status
from l0.types import Event, EventType

__all__ = ["OPENAI_ADAPTER", "OpenAIAdapter", "OpenAIStream"]

_TOKEN = EventType.TOKEN
_PROGRESS = EventType.PROGRESS
_TOOL_CALL = EventType.TOOL_CALL


class OpenAIStream(ChatChunkStream):
    """Decodes ``ChatCompletionChunk`` objects (fast path), the chat stream manager's
    ``chunk`` events and Responses API events."""

    def __init__(self, chunks: Any, *, source: object = None, keep_raw: bool = False) -> None:
        super().__init__(chunks, source=source, keep_raw=keep_raw)
        kinds = OPENAI_ADAPTER.kinds()
        self.chunk_class = kinds.chunks[0] if kinds is not None else None

    def decode_other(self, chunk: Any) -> Decoded:
        kind = field(chunk, "type")
        if kind == "response.output_text.delta":
            delta = str_or_none(field(chunk, "delta"), "delta", chunk)
            return Event(_TOKEN, delta) if delta else None
        if kind == "chunk":  # chat.completions.stream(): the raw chunk rides on a ChunkEvent
            return self.decode_chat(field(chunk, "chunk"))
        if isinstance(kind, str):
            handler = _RESPONSES.get(kind)
            return handler(self, chunk) if handler is not None else None  # a newer event
        if is_record(chunk) and field(chunk, "choices") is not None:
            return self.decode_chat(chunk)  # a chat chunk as a mapping
        raise malformed("neither a chat chunk nor a typed event", chunk)

    # -- Responses API ---------------------------------------------------------------------

    def _reasoning_delta(self, event: Any) -> Decoded:
        delta = str_or_none(field(event, "delta"), "delta", event)
        return Event(_PROGRESS, None, {"reasoning": delta}) if delta else None

    def _refusal_delta(self, event: Any) -> Decoded:
        delta = str_or_none(field(event, "delta"), "delta", event)
        if delta:
            self._refusal.append(delta)
        return None

    def _item_added(self, event: Any) -> Decoded:
        item = record_or_none(field(event, "item"), "item", event)
        if field(item, "type") == "function_call":
            self._tools.add(
                field(event, "output_index"),
                field(item, "call_id"),
                field(item, "name"),
                field(item, "arguments"),
            )
        return None

    def _arguments_delta(self, event: Any) -> Decoded:
        self._tools.add(field(event, "output_index"), None, None, field(event, "delta"))
        return None

    def _item_done(self, event: Any) -> Decoded:
        item = record_or_none(field(event, "item"), "item", event)
        if field(item, "type") != "function_call":
            return None
        index = field(event, "output_index")
        if index not in self._tools:
            self._tools.add(index, field(item, "call_id"), field(item, "name"), None)
        arguments = field(item, "arguments")
        call = self._tools.finish(
            index, arguments if isinstance(arguments, str) and arguments else None
        )
        if call is None:
            return None
        self.tool_calls.append(call)
        return Event(_TOOL_CALL, None, call)

    def _response_done(self, event: Any) -> Decoded:
        response = record_or_none(field(event, "response"), "response", event)
        details = field(response, "incomplete_details")
        reason = reason_or_none(field(details, "reason"))
        usage = field(response, "usage")
        if is_record(usage):
            self.usage = usage_of(
                count_or_none(field(usage, "input_tokens")),
                count_or_none(field(usage, "output_tokens")),
                count_or_none(field(usage, "total_tokens")),
                input_tokens_details=field(usage, "input_tokens_details"),
                output_tokens_details=field(usage, "output_tokens_details"),
            )
        out: list[Event] = []
        status = reason_or_none(field(response, "status"))
        self._finish(reason or status or "completed", out)
        if not out:
            return None
        return out[0] if len(out) == 1 else out

    def _response_failed(self, event: Any) -> Decoded:
        error = field(field(event, "response"), "error")
        code = field(error, "code")
        message = field(error, "message") or "the response failed"
        raise inband_error((code, field(error, "type")), str(message))

    def _error_event(self, event: Any) -> Decoded:
        message = field(event, "message") or "error event in stream"
        raise inband_error((field(event, "code"),), str(message))


_Handler = Callable[[OpenAIStream, Any], Decoded]
_RESPONSES: dict[str, _Handler] = {
    "response.reasoning_summary_text.delta": OpenAIStream._reasoning_delta,
    "response.reasoning_text.delta": OpenAIStream._reasoning_delta,
    "response.refusal.delta": OpenAIStream._refusal_delta,
    "response.output_item.added": OpenAIStream._item_added,
    "response.function_call_arguments.delta": OpenAIStream._arguments_delta,
    "response.output_item.done": OpenAIStream._item_done,
    "response.completed": OpenAIStream._response_done,
    "response.incomplete": OpenAIStream._response_done,
    "response.failed": OpenAIStream._response_failed,
    "error": OpenAIStream._error_event,
}


class OpenAIAdapter(SDKAdapter):
    """Adapter for the ``openai`` SDK's streams (see the module docstring)."""

    name = "openai"
    module = "openai"
    stream_class = OpenAIStream

    def load(self) -> StreamKinds:
        """The ``openai`` stream, stream-manager and chunk classes."""
        import openai
        from openai.lib.streaming.chat import (
            AsyncChatCompletionStream,
            AsyncChatCompletionStreamManager,
            ChatCompletionStream,
            ChatCompletionStreamManager,
        )
        from openai.lib.streaming.responses import (
            AsyncResponseStream,
            AsyncResponseStreamManager,
            ResponseStream,
            ResponseStreamManager,
        )
        from openai.types.chat import ChatCompletionChunk

        return StreamKinds(
            async_streams=(openai.AsyncStream, AsyncChatCompletionStream, AsyncResponseStream),
            sync_streams=(openai.Stream, ChatCompletionStream, ResponseStream),
            async_managers=(AsyncChatCompletionStreamManager, AsyncResponseStreamManager),
            sync_managers=(ChatCompletionStreamManager, ResponseStreamManager),
            chunks=(ChatCompletionChunk,),
        )

    def map_error(self, exc: BaseException) -> L0Error | None:
        """Map ``openai`` exceptions (see :func:`map_openai_error`)."""
        return map_openai_error(exc)


def map_openai_error(exc: BaseException) -> L0Error | None:
    """Translate an ``openai`` exception into an l0 error, or ``None`` for the generic rules.

    ``APIStatusError`` maps by status code (``Retry-After``/``retry-after-ms`` and
    ``x-request-id`` read from the response); an ``APIError`` without a status is an error
    event inside a 200 stream and maps by its ``code``/``type``. Connection and timeout
    errors go to the generic rules, which read the transport error in the cause chain.
    """
    mod = loaded("openai")
    if mod is None or not isinstance(exc, mod.APIError):
        return None
    if isinstance(exc, mod.APIStatusError):
        err = error_from_status(
            exc.status_code,
            exc.message,
            headers=exc.response.headers,
            provider_code=exc.code,
            request_id=exc.request_id,
        )
        return attach(err, exc)
    if isinstance(exc, (mod.APIConnectionError, mod.APIResponseValidationError)):
        return None
    return attach(inband_error((exc.code, exc.type), exc.message), exc)


OPENAI_ADAPTER = OpenAIAdapter()
register_adapter(OPENAI_ADAPTER)
