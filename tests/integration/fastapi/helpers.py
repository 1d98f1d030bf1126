"""Test helpers: an SSE parser, a real uvicorn on loopback, the example app."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import uvicorn

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class SSE:
    """One parsed server-sent event (per the WHATWG parsing rules)."""

    event: str | None = None
    data: str = ""
    id: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.data)


def parse_sse(text: str) -> list[SSE]:
    """Every event block of an SSE body, comment-only and retry-only blocks included."""
    out: list[SSE] = []
    cur = SSE()
    data: list[str] = []
    touched = False
    for line in text.replace("\r\n", "\n").split("\n"):
        if line == "":
            if touched:
                cur.data = "\n".join(data)
                out.append(cur)
            cur, data, touched = SSE(), [], False
            continue
        touched = True
        if line.startswith(":"):
            cur.comments.append(line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            cur.event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            cur.id = value
        elif name == "retry":
            cur.retry = int(value)
    assert not touched, f"unterminated final event: {text[-200:]!r}"
    return out


def events(text: str) -> list[SSE]:
    """Only the blocks that carry data (what a client dispatches)."""
    return [e for e in parse_sse(text) if e.data]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(app: Any, *, lifespan: str = "off") -> Iterator[str]:
    """Run ``app`` on a real uvicorn (its own thread and loop) at 127.0.0.1:<free port>."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan=lifespan, log_level="warning", timeout_graceful_shutdown=1, ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not server.started:
        assert thread.is_alive(), "uvicorn failed to start"
        assert time.monotonic() < deadline, "uvicorn did not start in 5 s"
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


def load_example() -> ModuleType:
    """Import ``examples/fastapi_app.py`` (examples/ is not a package)."""
    name = "l0_example_fastapi_app"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / "fastapi_app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Reply:
    """What an in-process ASGI exchange sent back."""

    status: int
    headers: dict[str, str]
    body: bytes
    complete: bool  # the app ended the body (more_body=False)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


async def asgi_get(
    app: Any,
    path: str,
    *,
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    leave_after_first_body: bool = True,
) -> Reply:
    """One GET driven straight through the ASGI app (no HTTP stack, no thread).

    With ``leave_after_first_body`` the client disconnects once the first body chunk of a
    streaming answer arrived (a live stream would otherwise never end).
    """

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"t"), *(headers or [])],
        "client": ("127.0.0.1", 1),
        "server": ("t", 80),
    }
    leave = anyio.Event()
    sent_request = False
    reply = Reply(0, {}, b"", False)

    async def receive() -> dict[str, Any]:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await leave.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            reply.status = message["status"]
            reply.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            reply.body += message.get("body", b"")
            if not message.get("more_body", False):
                reply.complete = True
                leave.set()
            elif leave_after_first_body:
                leave.set()

    await app(scope, receive, send)
    return reply


class Provider:
    """An endless token source that records how and when it was stopped."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self.how: str | None = None
        self.at = 0.0
        self.tokens = 0

    async def source(self) -> AsyncIterator[str]:
        try:
            while True:
                self.tokens += 1
                yield f"tok{self.tokens} "
                await anyio.sleep(0.01)
        except BaseException as exc:
            self.how = type(exc).__name__
            raise
        finally:
            self.at = time.monotonic()
            self.stopped.set()
