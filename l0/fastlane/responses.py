"""OpenAI Responses API over the fast lane.

``response.output_text.delta`` events become ``str`` chunks (the loop's fast path); every
other event is handed, as attribute-readable JSON, to the Responses handlers of
:class:`l0.adapters.openai.OpenAIStream`, so reasoning, refusals, function calls, usage, the
finish and the failure events decode exactly as on the SDK path.
"""

from __future__ import annotations

from typing import Any

from l0.adapters.base import Decoded
from l0.adapters.openai import OpenAIStream
from l0.fastlane._attr import AttrDict
from l0.fastlane.base import DONE, FastRequest, FastStream, load_json
from l0.fastlane.chat import openai_error, openai_transport_error
from l0.fastlane.direct import DirectRoute, open_direct
from l0.types import Event, EventType

__all__ = ["OpenAIResponsesFastStream"]

_TOKEN = EventType.TOKEN
_TEXT_DELTA = "response.output_text.delta"


def _responses_imports() -> tuple[type, Any, Any, Any]:
    from openai import AsyncStream
    from openai.resources.responses import AsyncResponses
    from openai.types.responses import Response, ResponseStreamEvent
    from openai.types.responses.response_create_params import ResponseCreateParamsStreaming

    return AsyncResponses, ResponseCreateParamsStreaming, Response, AsyncStream[ResponseStreamEvent]


RESPONSES_ROUTE = DirectRoute(("responses",), "/responses", _responses_imports)
"""What ``responses.create`` posts (see :mod:`l0.fastlane.direct`)."""


class OpenAIResponsesFastStream(FastStream):
    """Responses API SSE (see the module docstring)."""

    text_path = ("delta",)

    wraps_transport_errors = True

    def __init__(self, request: FastRequest, *, keep_raw: bool = False) -> None:
        super().__init__(request, keep_raw=keep_raw)
        self._inner = OpenAIStream(None)
        self.tool_calls = self._inner.tool_calls

    def start(self) -> Any:
        """The request ``client.responses.with_streaming_response.create(stream=True, …)``
        sends, posted directly when the arguments are plain JSON
        (:func:`~l0.fastlane.direct.open_direct`), else through that typed call."""
        request = self.request
        direct = open_direct(request.client, RESPONSES_ROUTE, request.kwargs)
        if direct is not None:
            return direct
        create = request.client.responses.with_streaming_response.create
        return create(**request.kwargs, stream=True)

    def transport_error(self, exc: BaseException, timeout: bool) -> BaseException:
        """The openai SDK wraps it."""
        return openai_transport_error(exc, timeout, self.response.request)

    def handle(self, event: str | None, data: bytes) -> Any:
        """``[DONE]`` ends the body; text deltas become ``str``; ``{"error": …}`` raises the
        SDK's ``APIError``."""
        if data[:6] == b"[DONE]":
            return DONE
        obj = load_json(data)
        if event is not None and event.startswith("thread."):
            return None
        if obj.__class__ is not dict:
            return obj
        if obj.get("error"):
            raise openai_error(obj, self.response.request)
        if obj.get("type") == _TEXT_DELTA:
            delta = obj.get("delta")
            if delta.__class__ is str and delta:
                self.template.learn(event, data, obj, delta)
                return delta
        return obj

    def decode(self, chunk: Any) -> Decoded:
        if chunk.__class__ is str:
            return Event(_TOKEN, chunk) if chunk else None
        if chunk.__class__ is not dict:
            return None
        inner = self._inner
        try:
            return inner.decode_other(AttrDict(chunk))
        finally:
            self.ended = inner.ended
            self.finish_reason = inner.finish_reason
            self.usage = inner.usage
