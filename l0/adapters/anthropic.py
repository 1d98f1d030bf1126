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
from l0.adapters._shape import (
    count_or_none,
    field,
    is_record,
    malformed,
    record_or_none,
    str_or_none,
)
from l0.adapters.base import AdapterStream, Decoded
from l0.adapters.registry import register_adapter
from l0.adapters.tool_calls import json_text
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
        kind = field(chunk, "type")
        if kind == "content_block_delta":
            delta = record_or_none(field(chunk, "delta"), "delta", chunk)
            delta_kind = field(delta, "type")
            if delta_kind == "text_delta":
                text = str_or_none(field(delta, "text"), "delta.text", chunk)
                return Event(_TOKEN, text) if text else None
            if delta_kind == "input_json_delta":
                self._tools.add(field(chunk, "index"), None, None, field(delta, "partial_json"))
                return None
            if delta_kind == "thinking_delta":
                thinking = str_or_none(field(delta, "thinking"), "delta.thinking", chunk)
                return Event(_PROGRESS, None, {"thinking": thinking}) if thinking else None
            return None  # signature_delta, citations_delta: liveness only
        if not isinstance(kind, str):
            raise malformed("an Anthropic event must have a string type", chunk)
        handler = _HANDLERS.get(kind)
        return handler(self, chunk) if handler is not None else None  # ping, newer events

    def _message_start(self, event: Any) -> Decoded:
        usage = field(field(event, "message"), "usage")
        if is_record(usage):  # a usage of another shape says nothing: tolerated
            self._start_usage = usage
            self._input_tokens = count_or_none(field(usage, "input_tokens"))
            self.usage = self._usage(usage, count_or_none(field(usage, "output_tokens")))
        return None

    def _block_start(self, event: Any) -> Decoded:
        block = record_or_none(field(event, "content_block"), "content_block", event)
        kind = field(block, "type")
        if isinstance(kind, str) and kind in _TOOL_BLOCKS:
            initial = field(block, "input")
            raw = json_text(initial) if initial else None
            self._tools.add(field(event, "index"), field(block, "id"), field(block, "name"), raw)
            return None
        if kind == "text":
            text = str_or_none(field(block, "text"), "content_block.text", event)
            return Event(_TOKEN, text) if text else None
        if kind == "thinking":
            thinking = str_or_none(field(block, "thinking"), "content_block.thinking", event)
            return Event(_PROGRESS, None, {"thinking": thinking}) if thinking else None
        return None

    def _block_stop(self, event: Any) -> Decoded:
        index = field(event, "index")
        if index not in self._tools:
            return None
        call = self._tools.finish(index)
        if call is None:
            return None
        self.tool_calls.append(call)
        return Event(_TOOL_CALL, None, call)

    def _message_delta(self, event: Any) -> Decoded:
        reason = reason_or_none(field(field(event, "delta"), "stop_reason"))
        if reason is not None:
            self.finish_reason = reason
        usage = field(event, "usage")
        if is_record(usage):
            input_tokens = count_or_none(field(usage, "input_tokens"))
            if input_tokens is not None:
                self._input_tokens = input_tokens
            self.usage = self._usage(usage, count_or_none(field(usage, "output_tokens")))
        return None

    def _message_stop(self, event: Any) -> Decoded:
        self.ended = True
        out = []
        for call in self._tools.finish_all():
            self.tool_calls.append(call)
            out.append(Event(_TOOL_CALL, None, call))
        return out or None

    def _error(self, event: Any) -> Decoded:
        """An ``error`` event from a plain iterable (the SDK raises these itself)."""
        error = field(event, "error")
        message = field(error, "message") or "error event in stream"
        raise inband_error((field(error, "type"),), str(message))

    def _usage(self, usage: Any, output_tokens: int | None) -> Usage:
        start = self._start_usage
        details = {}
        for name in ("cache_creation_input_tokens", "cache_read_input_tokens"):
            value = count_or_none(field(usage, name))
            if value is None and start is not None:
                value = count_or_none(field(start, name))
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
    "error": AnthropicStream._error,
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
