"""The Anthropic adapter: Messages API streams of the ``anthropic`` SDK.

Reads, with no ``adapter=`` needed:

* ``await client.messages.create(..., stream=True)`` (``AsyncStream`` of raw events) and the
  sync client's ``Stream`` (read in a worker thread);
* ``client.messages.stream(...)`` managers (entered by l0 on the first read; the helper
  events they add are skipped, the raw events they pass through are decoded);
* any async iterable of raw message stream events.

``text_delta`` -> ``TOKEN``; a ``tool_use`` block with its ``input_json_delta`` fragments ->
one ``TOOL_CALL`` when the block stops; ``thinking_delta`` -> ``PROGRESS`` (never text);
usage from ``message_start`` (input) and ``message_delta`` (output, cumulative); the stream
ended normally at ``message_stop``. An ``error`` event inside a 200 stream (the SDK raises
``APIStatusError`` with ``status_code == 200``) maps by its error type: ``overloaded_error``
is a transient :class:`~l0.errors.ServerError`, retried.

This module never imports ``anthropic`` at import time: detection looks at ``sys.modules``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from l0.adapters._common import (
    SDKAdapter,
    StreamKinds,
    ToolCallAssembler,
    attach,
    inband_error,
    loaded,
    reason_or_none,
    usage_of,
)
from l0.adapters.base import AdapterStream, Decoded
from l0.adapters.registry import register_adapter
from l0.errors import L0Error
from l0.errors.classify import error_from_status, parse_retry_after
from l0.types import Event, EventType, Usage

__all__ = ["ANTHROPIC_ADAPTER", "AnthropicAdapter", "AnthropicStream", "map_anthropic_error"]

_TOKEN = EventType.TOKEN
_PROGRESS = EventType.PROGRESS
_TOOL_CALL = EventType.TOOL_CALL
_TOOL_BLOCKS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})


class AnthropicStream(AdapterStream):
    """Decodes Anthropic raw message stream events (and a stream manager's events)."""

    expects_end = True

    def __init__(self, chunks: Any, *, source: object = None, keep_raw: bool = False) -> None:
        super().__init__(chunks, source=source, keep_raw=keep_raw)
        self._tools = ToolCallAssembler()
        self._input_tokens: int | None = None
        self._start_usage: Any = None

    def decode(self, chunk: Any) -> Decoded:
        kind = chunk.type
        if kind == "content_block_delta":
            delta = chunk.delta
            delta_kind = delta.type
            if delta_kind == "text_delta":
                text = delta.text
                return Event(_TOKEN, text) if text else None
            if delta_kind == "input_json_delta":
                self._tools.add(chunk.index, None, None, delta.partial_json)
                return None
            if delta_kind == "thinking_delta":
                return Event(_PROGRESS, None, {"thinking": delta.thinking})
            return None  # signature_delta, citations_delta: liveness only
        handler = _HANDLERS.get(kind)
        return handler(self, chunk) if handler is not None else None

    def _message_start(self, event: Any) -> Decoded:
        usage = getattr(event.message, "usage", None)
        if usage is not None:
            self._start_usage = usage
            self._input_tokens = usage.input_tokens
            self.usage = self._usage(usage, usage.output_tokens)
        return None

    def _block_start(self, event: Any) -> Decoded:
        block = event.content_block
        kind = block.type
        if kind in _TOOL_BLOCKS:
            initial = getattr(block, "input", None)
            raw = orjson.dumps(initial).decode() if initial else None
            self._tools.add(
                event.index, getattr(block, "id", None), getattr(block, "name", None), raw
            )
            return None
        if kind == "text" and block.text:
            return Event(_TOKEN, block.text)
        if kind == "thinking" and getattr(block, "thinking", None):
            return Event(_PROGRESS, None, {"thinking": block.thinking})
        return None

    def _block_stop(self, event: Any) -> Decoded:
        if event.index not in self._tools:
            return None
        call = self._tools.finish(event.index)
        if call is None:
            return None
        self.tool_calls.append(call)
        return Event(_TOOL_CALL, None, call)

    def _message_delta(self, event: Any) -> Decoded:
        reason = reason_or_none(getattr(event.delta, "stop_reason", None))
        if reason is not None:
            self.finish_reason = reason
        usage = getattr(event, "usage", None)
        if usage is not None:
            input_tokens = getattr(usage, "input_tokens", None)
            if input_tokens is not None:
                self._input_tokens = input_tokens
            self.usage = self._usage(usage, usage.output_tokens)
        return None

    def _message_stop(self, event: Any) -> Decoded:
        self.ended = True
        out = []
        for call in self._tools.finish_all():
            self.tool_calls.append(call)
            out.append(Event(_TOOL_CALL, None, call))
        return out or None

    def _usage(self, usage: Any, output_tokens: int | None) -> Usage:
        start = self._start_usage
        details = {}
        for name in ("cache_creation_input_tokens", "cache_read_input_tokens"):
            value = getattr(usage, name, None)
            if value is None and start is not None:
                value = getattr(start, name, None)
            if value is not None:
                details[name] = value
        return usage_of(self._input_tokens, output_tokens, **details)


_Handler = Callable[[AnthropicStream, Any], Decoded]
_HANDLERS: dict[str, _Handler] = {
    "message_start": AnthropicStream._message_start,
    "content_block_start": AnthropicStream._block_start,
    "content_block_stop": AnthropicStream._block_stop,
    "message_delta": AnthropicStream._message_delta,
    "message_stop": AnthropicStream._message_stop,
}


class AnthropicAdapter(SDKAdapter):
    """Adapter for the ``anthropic`` SDK's message streams (see the module docstring)."""

    name = "anthropic"
    module = "anthropic"
    stream_class = AnthropicStream

    def load(self) -> StreamKinds:
        """The ``anthropic`` stream classes and raw event types."""
        import anthropic
        from anthropic.lib.streaming import (
            AsyncMessageStream,
            AsyncMessageStreamManager,
            MessageStream,
            MessageStreamManager,
        )
        from anthropic.types import (
            RawContentBlockDeltaEvent,
            RawContentBlockStartEvent,
            RawContentBlockStopEvent,
            RawMessageDeltaEvent,
            RawMessageStartEvent,
            RawMessageStopEvent,
        )

        return StreamKinds(
            async_streams=(anthropic.AsyncStream, AsyncMessageStream),
            sync_streams=(anthropic.Stream, MessageStream),
            async_managers=(AsyncMessageStreamManager,),
            sync_managers=(MessageStreamManager,),
            chunks=(
                RawMessageStartEvent,
                RawContentBlockStartEvent,
                RawContentBlockDeltaEvent,
                RawContentBlockStopEvent,
                RawMessageDeltaEvent,
                RawMessageStopEvent,
            ),
        )

    def map_error(self, exc: BaseException) -> L0Error | None:
        """Map ``anthropic`` exceptions (see :func:`map_anthropic_error`)."""
        return map_anthropic_error(exc)


def map_anthropic_error(exc: BaseException) -> L0Error | None:
    """Translate an ``anthropic`` exception into an l0 error, or ``None`` for the generic rules.

    ``APIStatusError`` maps by status code, reading ``retry-after``/``retry-after-ms`` and
    ``request-id``. With ``status_code == 200`` it is an ``error`` event inside the stream
    and maps by its error type (``overloaded_error`` -> transient ServerError, as a 529
    would). Connection errors (and the raw ``httpx2`` errors the SDK lets through mid-stream)
    go to the generic rules.
    """
    mod = loaded("anthropic")
    if mod is None or not isinstance(exc, mod.APIStatusError):
        return None
    headers = exc.response.headers
    if exc.status_code < 400:
        err: L0Error = inband_error(
            (exc.type,),
            exc.api_message or exc.message,
            request_id=exc.request_id,
            retry_after=parse_retry_after(headers),
        )
    else:
        err = error_from_status(
            exc.status_code, exc.message, headers=headers, request_id=exc.request_id
        )
    return attach(err, exc)


ANTHROPIC_ADAPTER = AnthropicAdapter()
register_adapter(ANTHROPIC_ADAPTER)
