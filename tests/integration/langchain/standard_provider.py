"""A deterministic OpenAI/Anthropic-compatible model on 127.0.0.1 for ``langchain-tests``.

The standard suites ask real questions ("What is the value of magic_function(3)? Use the
tool.", "Tell me a joke about cats.") and check the shape of the answer. This server answers
them by rule, over real HTTP (HTTP/1.1, chunked SSE), for the real SDKs behind ``ChatOpenAI``
and ``ChatAnthropic``:

- tools bound and the last turn is the user's (or a tool is forced): a call of the forced (or
  first) tool, its arguments filled from the schema and the prompt (integers in order, the
  first quoted string);
- a JSON-schema response format: a JSON object filled from the schema; JSON mode: an object
  with the prompt's quoted keys;
- a request ending with an assistant prefix of the text answer: the rest of that answer
  (l0's continuation);
- otherwise a short text answer. Usage counts words. The reply echoes the request's model.

Faults for the reliability tests are queued per API: ``"drop:N"`` (cut the connection after N
SSE events, without ending the chunked body) or ``"status:N"`` (an HTTP error).
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OPENAI = "openai"
ANTHROPIC = "anthropic"
TEXT = "Hello! I am a helpful assistant. How can I help you today?"


@dataclass
class Reply:
    text: str | None = None
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


# -- deciding the answer ----------------------------------------------------------------------


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            b.get("text", "") for b in content if isinstance(b, Mapping) and b.get("type") == "text"
        )
    return ""


def _is_tool_result(api: str, message: Mapping[str, Any]) -> bool:
    if api == OPENAI:
        return message.get("role") == "tool"
    content = message.get("content")
    return isinstance(content, list) and any(
        isinstance(b, Mapping) and b.get("type") == "tool_result" for b in content
    )


def _tools(api: str, body: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for t in body.get("tools") or []:
        if api == OPENAI:
            fn = t.get("function", {})
            out.append((fn.get("name", ""), fn.get("parameters") or {}))
        else:
            out.append((t.get("name", ""), t.get("input_schema") or {}))
    return out


def _forced(api: str, choice: Any) -> str | None:
    """``"any"``, a tool name, ``"none"`` or ``None`` (auto)."""
    if choice in (None, "auto") or (isinstance(choice, Mapping) and choice.get("type") == "auto"):
        return None
    if choice == "required" or (isinstance(choice, Mapping) and choice.get("type") == "any"):
        return "any"
    if choice == "none" or (isinstance(choice, Mapping) and choice.get("type") == "none"):
        return "none"
    if isinstance(choice, Mapping):
        if api == OPENAI:
            return str(choice.get("function", {}).get("name"))
        return str(choice.get("name"))
    return None


def _type_of(schema: Mapping[str, Any]) -> str:
    if "type" in schema:
        kind = schema["type"]
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "string")
        return str(kind)
    for option in schema.get("anyOf") or []:
        if option.get("type") != "null":
            return _type_of(option)
    return "string"


def fill(schema: Mapping[str, Any], prompt: str) -> dict[str, Any]:
    """An object that satisfies ``schema``, with values taken from ``prompt`` where possible."""
    numbers = iter(re.findall(r"-?\d+", prompt))
    quoted = re.findall(r"'([^']+)'", prompt)
    out: dict[str, Any] = {}
    for key, prop in (schema.get("properties") or {}).items():
        kind = _type_of(prop)
        if kind in ("integer", "number"):
            out[key] = int(next(numbers, "1"))
        elif kind == "boolean":
            out[key] = True
        elif kind == "array":
            out[key] = []
        elif kind == "object":
            out[key] = fill(prop, prompt)
        else:
            out[key] = quoted[0] if quoted else f"the {key.replace('_', ' ')}"
    return out


def _response_schema(api: str, body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if api == OPENAI:
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            return fmt.get("json_schema", {}).get("schema") or {}
        return None
    fmt = body.get("output_format") or (body.get("output_config") or {}).get("format") or {}
    if fmt.get("type") == "json_schema":
        return fmt.get("schema") or {}
    return None


def decide(api: str, body: Mapping[str, Any]) -> Reply:
    """The answer to one request (see the module docstring)."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, Mapping)]
    last = messages[-1] if messages else {}
    prompt = _text(last.get("content"))
    tools = _tools(api, body)
    forced = _forced(api, body.get("tool_choice"))
    if last.get("role") == "assistant":
        # An assistant prefix (l0's continuation): continue the answer where it stops.
        prefix = _text(last.get("content"))
        if prefix and TEXT.startswith(prefix):
            return Reply(text=TEXT[len(prefix) :])
    users_turn = last.get("role") == "user" and not _is_tool_result(api, last)
    if tools and forced != "none" and (forced is not None or users_turn):
        by_name = dict(tools)
        name = forced if forced in by_name else tools[0][0]
        return Reply(calls=[(name, fill(by_name[name], prompt))])
    schema = _response_schema(api, body)
    if schema is not None:
        return Reply(text=json.dumps(fill(schema, prompt), ensure_ascii=False))
    if api == OPENAI and (body.get("response_format") or {}).get("type") == "json_object":
        keys = re.findall(r"'([^']+)'", prompt) or ["answer"]
        return Reply(text=json.dumps({k: f"the {k}" for k in keys}))
    return Reply(text=TEXT)


def _words(body: Mapping[str, Any]) -> int:
    total = sum(len(_text(m.get("content")).split()) for m in body.get("messages") or [])
    return max(total, 1)


# -- wire formats -----------------------------------------------------------------------------


def _pieces(text: str) -> list[str]:
    return re.findall(r"\s*\S+|\s+", text) or [text]


def openai_json(body: Mapping[str, Any], reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.calls:
        message["tool_calls"] = [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {"name": n, "arguments": json.dumps(a, ensure_ascii=False)},
            }
            for i, (n, a) in enumerate(reply.calls)
        ]
    output = len((reply.text or "").split()) + len(reply.calls)
    return {
        "id": "chatcmpl-std",
        "object": "chat.completion",
        "created": 1,
        "model": body.get("model", "gpt-test"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if reply.calls else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": _words(body),
            "completion_tokens": output,
            "total_tokens": _words(body) + output,
        },
    }


def openai_sse(body: Mapping[str, Any], reply: Reply) -> Iterator[dict[str, Any] | str]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-std",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": body.get("model", "gpt-test"),
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    yield chunk({"role": "assistant", "content": ""})
    for piece in _pieces(reply.text or "") if reply.text else []:
        yield chunk({"content": piece})
    for i, (name, args) in enumerate(reply.calls):
        raw = json.dumps(args, ensure_ascii=False)
        head = {
            "index": i,
            "id": f"call_{i}",
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        yield chunk({"tool_calls": [head]})
        for part in (raw[: len(raw) // 2], raw[len(raw) // 2 :]):
            yield chunk({"tool_calls": [{"index": i, "function": {"arguments": part}}]})
    yield chunk({}, "tool_calls" if reply.calls else "stop")
    if (body.get("stream_options") or {}).get("include_usage"):
        usage = openai_json(body, reply)["usage"]
        yield {**chunk({}), "choices": [], "usage": usage}
    yield "[DONE]"


def anthropic_json(body: Mapping[str, Any], reply: Reply) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if reply.text:
        content.append({"type": "text", "text": reply.text})
    content += [
        {"type": "tool_use", "id": f"toolu_{i}", "name": n, "input": a}
        for i, (n, a) in enumerate(reply.calls)
    ]
    return {
        "id": "msg_std",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "claude-test"),
        "content": content,
        "stop_reason": "tool_use" if reply.calls else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": _words(body),
            "output_tokens": len((reply.text or "").split()) + len(reply.calls),
        },
    }


def anthropic_sse(body: Mapping[str, Any], reply: Reply) -> Iterator[dict[str, Any] | str]:
    whole = anthropic_json(body, reply)
    start = {
        **whole,
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": whole["usage"]["input_tokens"], "output_tokens": 1},
    }
    yield {"type": "message_start", "message": start}
    index = 0
    if reply.text:
        yield {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "text", "text": ""},
        }
        for piece in _pieces(reply.text):
            yield {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": piece},
            }
        yield {"type": "content_block_stop", "index": 0}
        index = 1
    for i, (name, args) in enumerate(reply.calls, start=index):
        raw = json.dumps(args, ensure_ascii=False)
        yield {
            "type": "content_block_start",
            "index": i,
            "content_block": {"type": "tool_use", "id": f"toolu_{i}", "name": name, "input": {}},
        }
        for part in (raw[: len(raw) // 2], raw[len(raw) // 2 :]):
            yield {
                "type": "content_block_delta",
                "index": i,
                "delta": {"type": "input_json_delta", "partial_json": part},
            }
        yield {"type": "content_block_stop", "index": i}
    yield {
        "type": "message_delta",
        "delta": {"stop_reason": whole["stop_reason"], "stop_sequence": None},
        "usage": whole["usage"],
    }
    yield {"type": "message_stop"}


# -- the server -------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    # One request per connection ("connection: close"): clients keep no pooled sockets
    # between tests (each async test runs on an event loop of its own, and LangChain caches
    # SDK clients per process).

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._send_json(200, {"data": []})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        api = ANTHROPIC if self.path.rstrip("/").endswith("/messages") else OPENAI
        owner = self.server.owner
        fault = owner.next_fault(api, body)
        if fault is not None and fault.startswith("status:"):
            status = int(fault.split(":")[1])
            self._send_json(
                status,
                {
                    "type": "error",
                    "error": {
                        "type": "authentication_error" if status == 401 else "api_error",
                        "message": f"scripted {status}",
                    },
                },
            )
            return
        reply = decide(api, body)
        if not body.get("stream"):
            make = openai_json if api == OPENAI else anthropic_json
            self._send_json(200, make(body, reply))
            return
        events = list((openai_sse if api == OPENAI else anthropic_sse)(body, reply))
        cut = int(fault.split(":")[1]) if fault and fault.startswith("drop:") else None
        self.send_response(200)
        self.send_header("connection", "close")
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for n, event in enumerate(events):
            if cut is not None and n == cut:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)  # no terminating chunk: a drop
                self.close_connection = True
                return
            if isinstance(event, str):
                data = f"data: {event}\n\n"
            elif api == ANTHROPIC:
                data = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
            else:
                data = f"data: {json.dumps(event)}\n\n"
            raw = data.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(raw), raw))
        self.wfile.write(b"0\r\n\r\n")

    def _send_json(self, status: int, payload: Any) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("connection", "close")
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: StandardProvider

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up (or a scripted drop): nothing to report


class StandardProvider:
    """The server (a context manager); ``base_url`` once started.

    Attributes:
        requests: ``(api, body)`` of every POST, in order.
        faults: Per API, faults for the coming requests (``"drop:N"``, ``"status:N"``).
    """

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.faults: dict[str, deque[str]] = {OPENAI: deque(), ANTHROPIC: deque()}
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def next_fault(self, api: str, body: dict[str, Any]) -> str | None:
        with self._lock:
            self.requests.append((api, body))
            queue = self.faults[api]
            return queue.popleft() if queue else None

    def __enter__(self) -> StandardProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
