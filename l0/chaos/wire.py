"""Provider wire formats spoken by the chaos server: OpenAI chat completions, OpenAI
Responses and Anthropic Messages, as Server-Sent Events and as plain JSON.

A :class:`Wire` builds the frames of one response: a preamble (role chunk, ``message_start``,
…), one frame per content token, an ending (finish reason, usage, ``[DONE]`` /
``message_stop``), plus the faulty frames (a malformed line, an in-band error, a keepalive) and
the error bodies of HTTP failures. The server decides which frames to write and when.
"""

from __future__ import annotations

from typing import Any

import orjson

from l0.chaos.profiles import PROFILES, Profile
from l0.chaos.tools import ToolFragment

__all__ = ["ANTHROPIC", "OPENAI_CHAT", "OPENAI_RESPONSES", "Wire", "error_type_for", "make_wire"]

OPENAI_CHAT = "openai.chat"
OPENAI_RESPONSES = "openai.responses"
ANTHROPIC = "anthropic.messages"

CREATED = 1_700_000_000
"""A fixed timestamp, so responses are the same byte for byte on every run."""

_SAFE = {"filtered": False, "severity": "safe"}
_FILTERS = {"hate": _SAFE, "self_harm": _SAFE, "sexual": _SAFE, "violence": _SAFE}
"""Azure's content-filter verdicts (all clear)."""

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "service_unavailable",
    529: "overloaded_error",
}


def error_type_for(status: int) -> str:
    """The provider error type that goes with an HTTP ``status``."""
    return _ERROR_TYPES.get(status, "api_error")


def _sse(data: Any, event: str | None = None) -> bytes:
    body = b"data: " + orjson.dumps(data) + b"\n\n"
    return b"event: " + event.encode() + b"\n" + body if event else body


class Wire:
    """Frames of one response (see the module docstring).

    Args:
        index: The request's position in the server log (used in ids).
        model: The model name echoed back.
        input_tokens: The prompt size reported in usage.
        include_usage: OpenAI chat: send the usage chunk (``stream_options.include_usage``).
        profile: The provider quirks to speak with (:mod:`l0.chaos.profiles`).
    """

    api = ""
    media = "text/event-stream"

    def __init__(
        self,
        index: int,
        model: str,
        input_tokens: int,
        *,
        include_usage: bool = False,
        profile: Profile = PROFILES["openai"],
    ) -> None:
        self.index = index
        self.model = model
        self.input_tokens = input_tokens
        self.include_usage = include_usage
        self.profile = profile
        self.sent: list[str] = []
        self.tools_sent = False
        self.echo = ""
        """Appended to every error message (the ``echo_key`` fault: a provider that echoes
        the request's credentials back)."""

    def after_end(self) -> str:
        """What follows the ending frames: ``close``, ``linger`` (the body stays open) or
        ``reset``."""
        return "close"

    def tool(self, fragment: ToolFragment) -> bytes:
        """The frame(s) of one tool-call fragment (a wire without tool calls sends none)."""
        return b""

    @property
    def request_id(self) -> str:
        """The id sent in the ``x-request-id``/``request-id`` header."""
        return f"req_chaos_{self.index}"

    def preamble(self) -> list[bytes]:
        """Frames before the first content token."""
        raise NotImplementedError

    def token(self, text: str) -> bytes:
        """The frame of one content token."""
        raise NotImplementedError

    def ending(self) -> list[bytes]:
        """Frames after the last content token, ending the protocol cleanly."""
        raise NotImplementedError

    def malformed(self) -> bytes:
        """A data line that is not valid JSON."""
        raise NotImplementedError

    def inband_error(self, error_type: str | None) -> bytes:
        """An error event inside a 200 stream."""
        raise NotImplementedError

    def keepalive(self) -> bytes:
        """A frame that keeps the connection alive and carries no content."""
        return b": keepalive\n\n"

    def error_body(self, status: int, error_type: str | None) -> dict[str, Any]:
        """The JSON body of an HTTP error response."""
        kind = error_type or error_type_for(status)
        message = f"chaos: injected {status} {kind}{self.echo}"
        return {"error": {"message": message, "type": kind, "param": None, "code": kind}}

    def complete(self, text: str) -> dict[str, Any]:
        """The JSON body of a non-streaming response."""
        raise NotImplementedError

    def usage(self) -> dict[str, int]:
        """OpenAI-style usage of the response so far."""
        out = len(self.sent)
        return {
            "prompt_tokens": self.input_tokens,
            "completion_tokens": out,
            "total_tokens": self.input_tokens + out,
        }


class OpenAIChatWire(Wire):
    """``POST /v1/chat/completions``."""

    api = OPENAI_CHAT

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        profile = self.profile
        choice: dict[str, Any] = {
            "index": 0,
            "delta": delta,
            "logprobs": None,
            "finish_reason": "" if finish is None and profile.empty_finish else finish,
        }
        if profile.content_filters:
            choice["content_filter_results"] = _FILTERS
        chunk: dict[str, Any] = {
            "id": f"chatcmpl-chaos-{self.index}",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": self.model,
            "system_fingerprint": None,
            "choices": [choice],
        }
        if self.include_usage:
            chunk["usage"] = None
        return _sse(chunk)

    def preamble(self) -> list[bytes]:
        frames = [self._chunk({"role": "assistant", "content": "", "refusal": None})]
        if self.profile.content_filters:  # Azure: prompt-filter results before anything
            filters = [{"prompt_index": 0, "content_filter_results": _FILTERS}]
            head = {"id": "", "object": "", "created": 0, "model": "", "choices": []}
            frames.insert(0, _sse({**head, "prompt_filter_results": filters}))
        return frames

    def token(self, text: str) -> bytes:
        self.sent.append(text)
        return self._chunk({"content": text})

    def tool(self, fragment: ToolFragment) -> bytes:
        self.tools_sent = True
        profile = self.profile
        call: dict[str, Any] = {}
        if profile.tool_index == "present":
            call["index"] = fragment.call
        elif profile.tool_index == "zero":
            call["index"] = 0
        function: dict[str, Any] = {"arguments": fragment.arguments}
        if fragment.first:
            call.update(id=fragment.id, type="function")
            function["name"] = fragment.name
        elif profile.blank_sentinels:
            call.update(id="", type="function")
            function["name"] = ""
        call["function"] = function
        return self._chunk({"tool_calls": [call]})

    def ending(self) -> list[bytes]:
        frames = [self._chunk({}, "tool_calls" if self.tools_sent else "stop")]
        if self.include_usage:
            frames.append(
                _sse(
                    {
                        "id": f"chatcmpl-chaos-{self.index}",
                        "object": "chat.completion.chunk",
                        "created": CREATED,
                        "model": self.model,
                        "choices": [],
                        "usage": self.usage(),
                    }
                )
            )
        if self.after_end() == "close":
            frames.append(b"data: [DONE]\n\n")
        return frames

    def after_end(self) -> str:
        return self.profile.chat_after_end(self.index)

    def malformed(self) -> bytes:
        return b'data: {"id": "chatcmpl-chaos", "choices": [{"delta": {"content": "\n\n'

    def inband_error(self, error_type: str | None) -> bytes:
        kind = error_type or "server_error"
        message = f"chaos: injected in-stream {kind}{self.echo}"
        return _sse({"error": {"message": message, "type": kind, "param": None, "code": kind}})

    def complete(self, text: str) -> dict[str, Any]:
        message = {"role": "assistant", "content": text, "refusal": None}
        return {
            "id": f"chatcmpl-chaos-{self.index}",
            "object": "chat.completion",
            "created": CREATED,
            "model": self.model,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
            ],
            "usage": self.usage(),
        }


class ResponsesWire(Wire):
    """``POST /v1/responses`` (OpenAI Responses API)."""

    api = OPENAI_RESPONSES

    def __init__(
        self,
        index: int,
        model: str,
        input_tokens: int,
        *,
        include_usage: bool = False,
        profile: Profile = PROFILES["openai"],
    ) -> None:
        super().__init__(index, model, input_tokens, include_usage=include_usage, profile=profile)
        self.seq = 0
        self.item_id = f"msg_chaos_{index}"

    def _event(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": self.seq, **fields}
        self.seq += 1
        return _sse(data, kind)

    def _response(self, status: str, output: list[Any]) -> dict[str, Any]:
        out = len(self.sent)
        usage = None
        if status == "completed":
            usage = {
                "input_tokens": self.input_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": out,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": self.input_tokens + out,
            }
        return {
            "id": f"resp_chaos_{self.index}",
            "object": "response",
            "created_at": CREATED,
            "status": status,
            "model": self.model,
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": usage,
        }

    def _item(self, status: str) -> dict[str, Any]:
        text = "".join(self.sent)
        content = [{"type": "output_text", "text": text, "annotations": []}] if text else []
        return {
            "id": self.item_id,
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": content,
        }

    def _part(self) -> dict[str, Any]:
        return {"type": "output_text", "text": "".join(self.sent), "annotations": []}

    def _where(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "output_index": 0, "content_index": 0}

    def preamble(self) -> list[bytes]:
        return [
            self._event("response.created", response=self._response("in_progress", [])),
            self._event("response.in_progress", response=self._response("in_progress", [])),
            self._event(
                "response.output_item.added", output_index=0, item=self._item("in_progress")
            ),
            self._event("response.content_part.added", **self._where(), part=self._part()),
        ]

    def token(self, text: str) -> bytes:
        self.sent.append(text)
        return self._event("response.output_text.delta", **self._where(), delta=text, logprobs=[])

    def ending(self) -> list[bytes]:
        item = self._item("completed")
        return [
            self._event(
                "response.output_text.done", **self._where(), text="".join(self.sent), logprobs=[]
            ),
            self._event("response.content_part.done", **self._where(), part=self._part()),
            self._event("response.output_item.done", output_index=0, item=item),
            self._event("response.completed", response=self._response("completed", [item])),
        ]

    def malformed(self) -> bytes:
        return (
            b"event: response.output_text.delta\n"
            b'data: {"type": "response.output_text.delta", "delta": "\n\n'
        )

    def inband_error(self, error_type: str | None) -> bytes:
        kind = error_type or "server_error"
        return self._event(
            "error", code=kind, message=f"chaos: injected in-stream {kind}{self.echo}", param=None
        )

    def complete(self, text: str) -> dict[str, Any]:
        return self._response("completed", [self._item("completed")])


class AnthropicWire(Wire):
    """``POST /v1/messages`` (Anthropic Messages API)."""

    api = ANTHROPIC
    open_block = 0

    def _usage(self) -> dict[str, int]:
        return {"input_tokens": self.input_tokens, "output_tokens": len(self.sent)}

    def _message(self, text: str | None, stop: str | None) -> dict[str, Any]:
        return {
            "id": f"msg_chaos_{self.index}",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [] if text is None else [{"type": "text", "text": text}],
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": self._usage(),
        }

    def preamble(self) -> list[bytes]:
        block = {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "text", "text": ""},
        }
        return [
            _sse({"type": "message_start", "message": self._message(None, None)}, "message_start"),
            _sse(block, "content_block_start"),
        ]

    def token(self, text: str) -> bytes:
        self.sent.append(text)
        delta = {"type": "text_delta", "text": text}
        return _sse(
            {"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta"
        )

    def tool(self, fragment: ToolFragment) -> bytes:
        """A ``tool_use`` block per call (index 1, 2, …: block 0 is the text block), its
        arguments as ``input_json_delta`` fragments."""
        self.tools_sent = True
        frames = b""
        block = fragment.call + 1
        if fragment.first:
            frames += self._block_stop(block - 1)
            start = {
                "type": "content_block_start",
                "index": block,
                "content_block": {
                    "type": "tool_use",
                    "id": fragment.id,
                    "name": fragment.name,
                    "input": {},
                },
            }
            frames += _sse(start, "content_block_start")
        delta = {"type": "input_json_delta", "partial_json": fragment.arguments}
        frames += _sse(
            {"type": "content_block_delta", "index": block, "delta": delta},
            "content_block_delta",
        )
        self.open_block = block
        return frames

    def _block_stop(self, index: int) -> bytes:
        return _sse({"type": "content_block_stop", "index": index}, "content_block_stop")

    def ending(self) -> list[bytes]:
        stop = "tool_use" if self.tools_sent else "end_turn"
        delta = {"stop_reason": stop, "stop_sequence": None}
        return [
            self._block_stop(self.open_block),
            _sse(
                {
                    "type": "message_delta",
                    "delta": delta,
                    "usage": {"output_tokens": len(self.sent)},
                },
                "message_delta",
            ),
            _sse({"type": "message_stop"}, "message_stop"),
        ]

    def after_end(self) -> str:
        return "linger" if self.profile.anthropic_linger else "close"

    def keepalive(self) -> bytes:
        return _sse({"type": "ping"}, "ping")

    def malformed(self) -> bytes:
        return (
            b"event: content_block_delta\n"
            b'data: {"type": "content_block_delta", "index": 0, "delta": {"text": "\n\n'
        )

    def inband_error(self, error_type: str | None) -> bytes:
        return _sse(self.error_body(529, error_type or "overloaded_error"), "error")

    def error_body(self, status: int, error_type: str | None) -> dict[str, Any]:
        kind = error_type or error_type_for(status)
        return {
            "type": "error",
            "error": {"type": kind, "message": f"chaos: injected {status} {kind}{self.echo}"},
            "request_id": self.request_id,
        }

    def complete(self, text: str) -> dict[str, Any]:
        return self._message(text, "end_turn")


_WIRES: dict[str, type[Wire]] = {
    OPENAI_CHAT: OpenAIChatWire,
    OPENAI_RESPONSES: ResponsesWire,
    ANTHROPIC: AnthropicWire,
}


def make_wire(
    api: str,
    index: int,
    model: str,
    input_tokens: int,
    body: dict[str, Any],
    profile: Profile = PROFILES["openai"],
) -> Wire:
    """The :class:`Wire` for ``api`` (one of the module's API names) under ``profile``."""
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    return _WIRES[api](index, model, input_tokens, include_usage=include_usage, profile=profile)
