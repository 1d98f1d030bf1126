"""Anthropic Messages over the fast lane.

``text_delta`` events become ``str`` chunks (the loop's fast path); every other event is
handed, as attribute-readable JSON, to :class:`l0.adapters.anthropic.AnthropicStream`, so tool
blocks, thinking, usage and ``message_stop`` decode exactly as on the SDK path. As the SDK
does, ``ping`` events and events without an ``event:`` name are skipped, and an ``error``
event raises the client's own status error (status 200), mapped as on the SDK path.
"""

from __future__ import annotations

from typing import Any

from l0.adapters.anthropic import AnthropicStream
from l0.adapters.base import Decoded
from l0.fastlane._attr import AttrDict
from l0.fastlane.base import SKIP, FastRequest, FastStream, load_json
from l0.types import Event, EventType

__all__ = ["AnthropicFastStream"]

_TOKEN = EventType.TOKEN


class AnthropicFastStream(FastStream):
    """Messages API SSE (see the module docstring)."""

    text_path = ("delta", "text")

    def __init__(self, request: FastRequest, *, keep_raw: bool = False) -> None:
        super().__init__(request, keep_raw=keep_raw)
        self._inner = AnthropicStream(None)
        self.tool_calls = self._inner.tool_calls

    def start(self) -> Any:
        """``client.messages.with_streaming_response.create(stream=True, …)``."""
        create = self.request.client.messages.with_streaming_response.create
        return create(**self.request.kwargs, stream=True)

    def handle(self, event: str | None, data: bytes) -> Any:
        """Text deltas become ``str``; an ``error`` event raises the SDK's status error."""
        if event is None or event == "ping":
            return SKIP
        if event == "error":
            raise self._error(data)
        if not data:
            return SKIP
        obj = load_json(data)
        if obj.__class__ is dict and obj.get("type") == "content_block_delta":
            delta = obj.get("delta")
            if delta.__class__ is dict and delta.get("type") == "text_delta":
                text = delta.get("text")
                if text.__class__ is str and text:
                    self.template.learn(event, data, obj, text)
                    return text
        return obj

    def _error(self, data: bytes) -> BaseException:
        """What the SDK raises for an ``error`` event: the client's status error."""
        text = data.decode("utf-8")
        body: Any = text
        try:
            body = load_json(data)
            message = f"{body}"
        except Exception:
            message = text or f"Error code: {self.response.status_code}"
        make = self.request.client._make_status_error
        error: BaseException = make(message, body=body, response=self.response)
        return error

    def decode(self, chunk: Any) -> Decoded:
        if chunk.__class__ is str:
            return Event(_TOKEN, chunk) if chunk else None
        inner = self._inner
        try:
            return inner.decode(AttrDict(chunk) if chunk.__class__ is dict else chunk)
        finally:
            self.ended = inner.ended
            self.finish_reason = inner.finish_reason
            self.usage = inner.usage
