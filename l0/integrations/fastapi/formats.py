"""SSE encoders for the three wire formats, built on FastAPI's own SSE framing
(:func:`fastapi.sse.format_sse_event`).

* ``l0``: one named event per wire event (``event: token``, ``retry``, ``fallback``, ``reset``,
  ``tool_call``, ``error``, ``done``), JSON ``data:``, an increasing integer ``id:``.
* ``openai``: ``chat.completion.chunk`` objects in ``data:`` lines, ``data: [DONE]`` last,
  errors as ``data: {"error": {…}}``; notices as SSE comments. No ``id:`` lines: the OpenAI
  SDK's decoder keeps the last id and would turn every later comment (keepalive) into an
  empty event it cannot parse.
* ``vercel``: the AI SDK UI message stream (``start``, ``start-step``, ``text-start`` /
  ``text-delta`` / ``text-end``, ``tool-input-available``, ``error``, ``finish-step``,
  ``finish``, ``data: [DONE]``), l0 notices as transient ``data-l0-*`` parts, with ids.

An encoder is stateful (one per stream) and returns the bytes of one or more frames per wire
event; when several frames make one event, only the last carries the id.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import orjson
from fastapi.sse import format_sse_event

from l0.integrations.fastapi.settings import Format
from l0.integrations.fastapi.wire import _tool_call, usage_dict
from l0.types import Result

__all__ = ["Encoder", "L0Encoder", "OpenAIEncoder", "VercelEncoder", "make_encoder"]

_DONE = "[DONE]"


def _json(data: Any) -> str:
    return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode()


_MARK = "\x01l0-text\x01"
_MARK_JSON = orjson.dumps(_MARK)


def _template(frame: bytes) -> tuple[bytes, bytes] | None:
    """The bytes of ``frame`` (encoded with the text :data:`_MARK`) around the text's JSON
    string, or None when the mark is not there exactly once (a model name holding it)."""
    before, mark, after = frame.partition(_MARK_JSON)
    if not mark or _MARK_JSON in after:
        return None
    return before, after


class Encoder(Protocol):
    """Encodes wire events of one stream."""

    headers: dict[str, str]
    """Extra response headers the format needs."""
    ids: bool
    """Whether frames carry ``id:`` lines (resume by ``Last-Event-ID`` needs them)."""
    resets: bool
    """Whether a client of the format can take text back on ``reset`` (else a restart after
    text was sent ends the stream with an error: never two answers glued together)."""

    def encode(self, kind: str, data: dict[str, Any], event_id: int) -> bytes:
        """The frame(s) for one wire event."""
        ...

    def token(self, text: str | None, event_id: int) -> bytes:
        """``encode("token", {"text": text}, event_id)``, the same bytes, for the hot path."""
        ...


class L0Encoder:
    """l0's own SSE events (the format fixed in the design's "Wire formats")."""

    headers: dict[str, str] = {}  # noqa: RUF012 - read-only
    ids = True
    resets = True

    def encode(self, kind: str, data: dict[str, Any], event_id: int) -> bytes:
        """``event: <kind>``, ``data: <json>``, ``id: <n>``."""
        return format_sse_event(data_str=_json(data), event=kind, id=str(event_id))

    def token(self, text: str | None, event_id: int) -> bytes:
        """A token frame: ``encode("token", {"text": text}, event_id)``'s bytes."""
        return b"%s%s}\nid: %d\n\n" % (_L0_TOKEN, orjson.dumps(text), event_id)


_L0_TOKEN = b'event: token\ndata: {"text":'
_VERCEL_FINISH = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "length": "length",
    "max_tokens": "length",
    "tool_calls": "tool-calls",
    "tool_use": "tool-calls",
    "content_filter": "content-filter",
    "error": "error",
}


class VercelEncoder:
    """The Vercel AI SDK UI message stream protocol (``x-vercel-ai-ui-message-stream: v1``)."""

    headers: dict[str, str] = {"x-vercel-ai-ui-message-stream": "v1"}  # noqa: RUF012
    ids = True
    resets = False  # a UI message keeps every text part it was sent

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.started = False
        self.text_id: str | None = None
        self.blocks = 0
        self._delta: tuple[str, bytes, bytes] | None = None  # text id, bytes around the text

    def token(self, text: str | None, event_id: int) -> bytes:
        """``encode("token", {"text": text}, event_id)``'s bytes; a text part's deltas after
        the first from a template."""
        delta = self._delta
        if delta is None or delta[0] != self.text_id:
            frame = self.encode("token", {"text": text}, event_id)
            if self.text_id is not None:
                mark = {"type": "text-delta", "id": self.text_id, "delta": _MARK}
                around = _template(format_sse_event(data_str=_json(mark), id="0"))
                if around is not None:
                    self._delta = (self.text_id, around[0], around[1][: -len(b"0\n\n")])
            return frame
        return b"%s%s%s%d\n\n" % (delta[1], orjson.dumps(text), delta[2], event_id)

    def _frames(self, parts: list[dict[str, Any]], event_id: int) -> bytes:
        out = [format_sse_event(data_str=_json(p)) for p in parts[:-1]]
        out.append(format_sse_event(data_str=_json(parts[-1]), id=str(event_id)))
        return b"".join(out)

    def _close_text(self, parts: list[dict[str, Any]]) -> None:
        if self.text_id is not None:
            parts.append({"type": "text-end", "id": self.text_id})
            self.text_id = None

    def encode(self, kind: str, data: dict[str, Any], event_id: int) -> bytes:
        """The UI message chunks for one wire event."""
        parts: list[dict[str, Any]] = []
        if not self.started:
            self.started = True
            parts.append({"type": "start", "messageId": self.message_id})
            parts.append({"type": "start-step"})
        if kind == "token":
            if self.text_id is None:
                self.blocks += 1
                self.text_id = f"{self.message_id}-text-{self.blocks}"
                parts.append({"type": "text-start", "id": self.text_id})
            parts.append({"type": "text-delta", "id": self.text_id, "delta": data["text"]})
        elif kind == "tool_call":
            self._close_text(parts)
            parts.append(
                {
                    "type": "tool-input-available",
                    "toolCallId": data.get("id") or f"{self.message_id}-tool-{event_id}",
                    "toolName": data.get("name") or "",
                    "input": data.get("arguments"),
                }
            )
        elif kind == "done" or kind == "error":
            return self._finish(kind, data, parts, event_id)
        else:  # retry / fallback / reset notices
            if kind == "reset":
                self._close_text(parts)
            parts.append({"type": f"data-l0-{kind}", "data": data, "transient": True})
        return self._frames(parts, event_id)

    def _finish(
        self, kind: str, data: dict[str, Any], parts: list[dict[str, Any]], event_id: int
    ) -> bytes:
        self._close_text(parts)
        if kind == "error":
            parts.append({"type": "error", "errorText": str(data.get("message", "error"))})
            reason = "error"
        else:
            reason = _VERCEL_FINISH.get(str(data.get("finish_reason")), "other")
        parts.append({"type": "finish-step"})
        parts.append({"type": "finish", "finishReason": reason})
        out = [format_sse_event(data_str=_json(p)) for p in parts]
        out.append(format_sse_event(data_str=_DONE, id=str(event_id)))
        return b"".join(out)


class OpenAIEncoder:
    """OpenAI-compatible ``chat.completion.chunk`` SSE."""

    headers: dict[str, str] = {}  # noqa: RUF012
    ids = False
    resets = False

    def __init__(self, completion_id: str, model: str) -> None:
        self.id = completion_id
        self.model = model
        self.created = int(time.time())
        self.role_sent = False
        self.tool_index = 0
        self._delta: tuple[bytes, bytes] | None = None  # the bytes around a content delta

    def token(self, text: str | None, event_id: int) -> bytes:
        """``encode("token", {"text": text}, event_id)``'s bytes (after the first chunk, which
        carries the role, from a template)."""
        delta = self._delta
        if delta is None:
            frame = self.encode("token", {"text": text}, event_id)
            self._delta = _template(self._chunk({"content": _MARK}))
            return frame
        return b"%s%s%s" % (delta[0], orjson.dumps(text), delta[1])

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        if not self.role_sent:
            self.role_sent = True
            delta = {"role": "assistant", **delta}
        chunk = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return format_sse_event(data_str=_json(chunk))

    def encode(self, kind: str, data: dict[str, Any], event_id: int) -> bytes:
        """The chunk(s) for one wire event (ids are not written in this format)."""
        if kind == "token":
            return self._chunk({"content": data["text"]})
        if kind == "tool_call":
            call = {
                "index": self.tool_index,
                "id": data.get("id"),
                "type": "function",
                "function": {"name": data.get("name"), "arguments": _arguments(data)},
            }
            self.tool_index += 1
            return self._chunk({"tool_calls": [call]})
        if kind == "done":
            return self._done(data)
        if kind == "error":
            err = {
                "message": data.get("message"),
                "type": data.get("category"),
                "code": data.get("code"),
            }
            return format_sse_event(data_str=_json({"error": err})) + format_sse_event(
                data_str=_DONE
            )
        return format_sse_event(comment=f"l0 {kind} {_json(data)}")

    def _done(self, data: dict[str, Any]) -> bytes:
        out = [self._chunk({}, _openai_finish(data.get("finish_reason")))]
        usage = data.get("usage")
        if usage:
            usage_chunk = {
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [],
                "usage": _openai_usage(usage),
            }
            out.append(format_sse_event(data_str=_json(usage_chunk)))
        out.append(format_sse_event(data_str=_DONE))
        return b"".join(out)

    def completion(self, result: Result) -> dict[str, Any]:
        """The non-streaming answer: one ``chat.completion`` object for the whole run."""
        calls = [_tool_call(call) for call in result.tool_calls]
        message: dict[str, Any] = {
            "role": "assistant",
            "content": result.text if result.text or not calls else None,
            "refusal": None,
        }
        if calls:
            message["tool_calls"] = [
                {
                    "id": call.get("id"),
                    "type": "function",
                    "function": {"name": call.get("name"), "arguments": _arguments(call)},
                }
                for call in calls
            ]
        finish = result.finish_reason or ("tool_calls" if calls else "stop")
        body: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": _openai_finish(finish),
                    "logprobs": None,
                }
            ],
        }
        usage = usage_dict(result.usage)
        if usage:
            body["usage"] = _openai_usage(usage)
        return body


def _openai_finish(reason: Any) -> str:
    finish = str(reason or "stop")
    if finish not in ("stop", "length", "tool_calls", "content_filter", "function_call"):
        finish = "tool_calls" if finish == "tool_use" else "stop"
    return finish


def _openai_usage(usage: dict[str, Any]) -> dict[str, int]:
    return {
        "prompt_tokens": usage.get("input_tokens") or 0,
        "completion_tokens": usage.get("output_tokens") or 0,
        "total_tokens": usage.get("total_tokens") or 0,
    }


def _arguments(call: dict[str, Any]) -> str:
    args = call.get("arguments")
    return args if isinstance(args, str) else _json(args)


def make_encoder(fmt: Format, *, stream_id: str, model: str) -> Encoder:
    """A fresh encoder for one stream."""
    if fmt == "openai":
        return OpenAIEncoder(f"chatcmpl-{stream_id}", model)
    if fmt == "vercel":
        return VercelEncoder(f"msg-{stream_id}")
    return L0Encoder()
