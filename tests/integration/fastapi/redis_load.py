"""Load on the Redis resume store: a real uvicorn process, a real redis-server, many SSE
clients at once. Used by ``test_redis_load.py`` (CI) and ``benchmarks/bench_fastapi_redis.py``.

The app (``create_app``, configured by environment variables) streams resumable answers of
``L0_LOAD_TOKENS`` tokens through a :class:`RedisResumeStore` whose pool holds
``L0_LOAD_POOL`` connections, far fewer than the clients.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import Depends, FastAPI
from fastapi.responses import Response

from l0.integrations.fastapi import (
    L0Settings,
    L0Stream,
    MemoryResumeStore,
    Resume,
    ResumeStore,
    l0_resume_router,
    l0_stream,
    l0_stream_dependency,
)
from l0.integrations.fastapi.redis_store import RedisResumeStore

ROOT = Path(__file__).resolve().parents[3]


def create_app() -> FastAPI:
    """The app under load (``uvicorn --factory``), configured from ``L0_LOAD_*``."""
    store: ResumeStore
    if os.environ["L0_LOAD_REDIS_URL"] == "memory":  # the floor: the same app, no Redis
        store = MemoryResumeStore()
    else:
        store = RedisResumeStore.from_url(
            os.environ["L0_LOAD_REDIS_URL"],
            max_connections=int(os.environ.get("L0_LOAD_POOL", "50")),
            pool_timeout=10.0,
            prefix=os.environ.get("L0_LOAD_PREFIX", "load:"),
        )
    tokens = int(os.environ.get("L0_LOAD_TOKENS", "20"))
    delay = float(os.environ.get("L0_LOAD_DELAY", "0.01"))
    settings = L0Settings(resume=Resume(store=store, grace=10.0), keepalive=5.0)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if isinstance(store, RedisResumeStore):
            await store.aclose()

    app = FastAPI(lifespan=lifespan)
    app.dependency_overrides[l0_stream] = l0_stream_dependency(settings)
    app.include_router(l0_resume_router(settings))

    async def source() -> AsyncIterator[str]:
        for i in range(tokens):
            yield f"w{i} "
            await anyio.sleep(delay)

    @app.get("/chat")
    async def chat(l0s: Annotated[L0Stream, Depends(l0_stream)]) -> Response:
        return l0s(source)

    return app


def answer(tokens: int) -> str:
    """The exact text every stream must deliver."""
    return "".join(f"w{i} " for i in range(tokens))


@contextlib.contextmanager
def uvicorn_process(redis_url: str, *, pool: int, tokens: int, prefix: str) -> Iterator[str]:
    """``uvicorn --factory create_app`` in its own process on loopback; yields its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "L0_LOAD_REDIS_URL": redis_url,
        "L0_LOAD_POOL": str(pool),
        "L0_LOAD_TOKENS": str(tokens),
        "L0_LOAD_PREFIX": prefix,
    }
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "tests.integration.fastapi.redis_load:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--timeout-graceful-shutdown",
        "2",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the uvicorn process did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@dataclass
class LoadReport:
    """What a load run measured."""

    clients: int
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    first_byte: list[float] = field(default_factory=list)
    reconnects: int = 0
    events: int = 0

    def summary(self) -> str:
        fb = sorted(self.first_byte) or [0.0]
        p99 = fb[min(len(fb) - 1, int(len(fb) * 0.99))]
        return (
            f"{self.clients} clients ({self.reconnects} reconnected mid-stream): "
            f"{len(self.errors)} errors, {self.events} events in {self.seconds:.2f} s "
            f"({self.events / max(self.seconds, 1e-9):.0f} events/s); first byte p50 "
            f"{statistics.median(fb) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
        )


def _events(text: str) -> list[tuple[str, str, str]]:
    """(id, event, data) of every event with data."""
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line and not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        if "data" in fields:
            out.append((fields.get("id", ""), fields.get("event", ""), fields["data"]))
    return out


async def _get(
    base: str, path: str, *, headers: str = "", stop_after: int | None = None
) -> tuple[int, str, float]:
    """A minimal HTTP/1.0 GET (the body ends when the server closes): (status, body, first
    byte seconds). With ``stop_after``, the client hangs up after that many event ids.

    A raw socket instead of httpx: 500 httpx streams cost more CPU than the server under test.
    """
    host, port = base.removeprefix("http://").split(":")
    started = time.monotonic()
    first = 0.0
    async with await anyio.connect_tcp(host, int(port)) as sock:
        await sock.send(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n{headers}\r\n".encode())
        data = b""
        while True:
            try:
                chunk = await sock.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                break
            if not data:
                first = time.monotonic() - started
            data += chunk
            done = stop_after is not None and data.count(b"\nid: ") >= stop_after
            # (uvicorn on httptools frames even an HTTP/1.0 body in chunks: an event then
            # ends with the chunk's CRLF; _events reads past the size lines.)
            if done and data.endswith((b"\n\n", b"\n\n\r\n")):
                break
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return status, body.decode(), first


async def run_load(base: str, *, clients: int, tokens: int, run: str) -> LoadReport:
    """``clients`` SSE clients at once; every other one disconnects halfway and resumes."""
    report = LoadReport(clients)
    want = answer(tokens)
    half = tokens // 2

    async def one(i: int) -> None:
        sid = f"{run}-{i}"
        reconnect = i % 2 == 0
        status, text, first = await _get(
            base, f"/chat?stream_id={sid}", stop_after=half if reconnect else None
        )
        if status != 200:
            report.errors.append(f"{sid}: status {status} {text[:200]!r}")
            return
        report.first_byte.append(first)
        if reconnect:
            last = _events(text)[-1][0]
            status, more, _ = await _get(
                base, f"/l0/streams/{sid}", headers=f"Last-Event-ID: {last}\r\n"
            )
            if status != 200:
                report.errors.append(f"{sid}: resume status {status} {more[:200]!r}")
                return
            report.reconnects += 1
            text += more
        evs = _events(text)
        report.events += len(evs)
        ids = [int(e[0]) for e in evs]
        got = "".join(json.loads(e[2])["text"] for e in evs if e[1] == "token")
        if ids != list(range(1, tokens + 2)) or got != want or evs[-1][1] != "done":
            report.errors.append(f"{sid}: wrong stream ids={ids[:5]}… last={evs[-1][1:]}")

    async def guarded(i: int) -> None:
        try:
            await one(i)
        except Exception as exc:
            report.errors.append(f"{run}-{i}: {exc!r}")

    start = time.monotonic()
    async with anyio.create_task_group() as tg:
        for i in range(clients):
            tg.start_soon(guarded, i)
    report.seconds = time.monotonic() - start
    return report
