"""A FastAPI gateway on uvicorn proxying the chaos server: tokens per CPU-second of the gateway
process, SDK path vs fast lane.

    PYTHONPATH=. python benchmarks/bench_fastlane_gateway.py [--clients 200] [--tokens 100 500]
        [--http auto|h11|httptools] [--bare]

Per mode, a uvicorn process serves ``POST /chat``: a route with ``Depends(l0_stream)`` whose
source is an ``AsyncOpenAI`` chat stream (``sdk``) or ``l0.fastlane.openai_chat`` (``fast``)
against an ``l0.chaos`` server on loopback. ``--clients`` concurrent SSE clients each read one
whole answer of ``--tokens`` tokens (one row per value: 100, a short answer, and 500, a
typical chat answer). The gateway's CPU is its ``time.process_time()``, read through a ``/cpu``
route before and after the load (start-up and warm-up excluded); the chaos server and the
clients run in this process and are not counted. Both modes run uvicorn with the same
``--http`` (default ``auto``: httptools when installed, else h11; the line before the rows
says which) and its default event loop. Target (issue 18): the fast lane's tokens per
CPU-second >= 5x the SDK path's, per token (the slope between the shortest and the longest
answers: what each request costs besides, the same on both paths, cancels out and is printed
beside) and for whole answers of the longest length; the exit status is 0 when both hold.
Each row's whole-answer ratio is printed too: for short answers the per-request costs of the
HTTP stack, paid alike by both paths, cap it (``--bare`` shows the cap).
``--bare`` adds a third gateway without l0 (the upstream's bytes forwarded by a plain
``StreamingResponse``, the request sent as the fast lane sends it): the ceiling of the ratio
any fast lane can reach on this HTTP stack.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app() -> Any:
    """The gateway (run by uvicorn in its own process; configured by environment)."""
    import httpx2
    import openai
    from fastapi import Depends, FastAPI

    import l0.fastlane
    from l0.integrations.fastapi import L0Stream, l0_stream

    mode = os.environ["L0_GW_MODE"]
    limits = httpx2.Limits(max_connections=1000, max_keepalive_connections=1000)
    client = openai.AsyncOpenAI(
        api_key="bench",
        base_url=os.environ["L0_GW_UPSTREAM"],
        max_retries=0,
        http_client=httpx2.AsyncClient(limits=limits, timeout=60),
    )
    messages = [{"role": "user", "content": "go"}]
    app = FastAPI()

    if mode == "bare":
        return _bare_app(app, client, messages)

    @app.post("/chat")
    async def chat(l0s: L0Stream = Depends(l0_stream)) -> Any:  # noqa: B008 - FastAPI's idiom
        if mode == "fast":
            return l0s(lambda: l0.fastlane.openai_chat(client, model="m", messages=messages))
        return l0s(
            lambda: client.chat.completions.create(model="m", messages=messages, stream=True)
        )

    @app.get("/cpu")
    async def cpu() -> float:
        return time.process_time()

    return app


def _bare_app(app: Any, client: Any, messages: Any) -> Any:
    """No l0 streaming at all: the upstream's bytes forwarded as they come (a
    ``StreamingResponse``), the request sent as the fast lane sends it (the same direct post).
    What any fast lane costs at least on this stack."""
    from fastapi.responses import StreamingResponse

    from l0.fastlane.chat import CHAT_ROUTE
    from l0.fastlane.direct import open_direct

    kwargs = {"model": "m", "messages": messages}

    @app.post("/chat")
    async def chat() -> Any:
        async def body() -> Any:
            async with open_direct(client, CHAT_ROUTE, kwargs) as response:
                async for chunk in response.http_response.aiter_raw():
                    yield chunk

        return StreamingResponse(body(), media_type="text/event-stream")

    @app.get("/cpu")
    async def cpu() -> float:
        return time.process_time()

    return app


async def gateway_cpu(base: str) -> float:
    """The gateway process's CPU seconds so far (its ``/cpu`` route)."""
    import httpx2

    async with httpx2.AsyncClient(base_url=base) as http:
        return float((await http.get("/cpu")).json())


@contextmanager
def gateway(mode: str, upstream: str, http: str) -> Iterator[str]:
    """The uvicorn process of ``mode``; yields its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": ROOT, "L0_GW_MODE": mode, "L0_GW_UPSTREAM": upstream}
    cmd = [
        sys.executable, "-m", "uvicorn", "--factory", "--app-dir", os.path.join(ROOT, "benchmarks"),
        "bench_fastlane_gateway:create_app", "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", "--no-access-log", "--timeout-graceful-shutdown", "2",
        "--http", http,
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the gateway did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)


async def load(base: str, clients: int) -> list[bytes]:
    """``clients`` concurrent SSE reads of ``POST /chat``; each whole body."""
    import anyio
    import httpx2

    bodies: list[bytes] = []
    limits = httpx2.Limits(max_connections=clients + 10)
    async with httpx2.AsyncClient(base_url=base, limits=limits, timeout=120) as http:

        async def one() -> None:
            async with http.stream("POST", "/chat", json={}) as response:
                response.raise_for_status()
                bodies.append(b"".join([part async for part in response.aiter_bytes()]))

        async with anyio.create_task_group() as tg:
            for _ in range(clients):
                tg.start_soon(one)
    return bodies


def row(mode: str, upstream: str, clients: int, tokens: int, answer: str, http: str) -> float:
    import anyio

    last_word = answer.split()[-1].encode()
    with gateway(mode, upstream, http) as base:
        anyio.run(load, base, 2)  # warm-up: imports, first connections
        cpu = anyio.run(gateway_cpu, base)
        started = time.monotonic()
        bodies = anyio.run(load, base, clients)
        wall = time.monotonic() - started
        used = anyio.run(gateway_cpu, base) - cpu
    complete = sum(1 for b in bodies if last_word in b)
    rate = clients * tokens / used if used > 0 else float("inf")
    print(
        f"{mode:>4} {tokens:>4} tokens: {complete}/{clients} complete answers, wall {wall:6.2f} s, "
        f"gateway CPU "
        f"{used:6.2f} s, {rate:10.0f} tokens per CPU-second"
    )
    return rate


def _http_impl(http: str) -> str:
    if http != "auto":
        return http
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "httptools"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--tokens", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--http", choices=("auto", "h11", "httptools"), default="auto")
    parser.add_argument(
        "--bare", action="store_true", help="add a row without l0 (the floor; see _bare_app)"
    )
    args = parser.parse_args()
    sys.path.insert(0, ROOT)
    from l0.chaos import ChaosServer

    print(f"uvicorn --http {args.http} ({_http_impl(args.http)}), {args.clients} clients")
    clients = args.clients
    cpu: dict[tuple[str, int], float] = {}  # (mode, tokens) -> gateway CPU seconds
    for tokens in args.tokens:
        answer = " ".join(f"word{i}" for i in range(tokens)) + "."
        with ChaosServer(answer=answer) as server:
            upstream = server.openai_base_url
            modes = ("sdk", "fast", "bare") if args.bare else ("sdk", "fast")
            for mode in modes:
                rate = row(mode, upstream, clients, tokens, answer, args.http)
                cpu[(mode, tokens)] = clients * tokens / rate
        sdk, fast = cpu[("sdk", tokens)], cpu[("fast", tokens)]
        if args.bare:
            print(f"{tokens} tokens: no l0 at all / SDK path: {sdk / cpu[('bare', tokens)]:.1f}x")
        print(f"{tokens} tokens: fast lane / SDK path: {sdk / fast:.1f}x tokens per CPU-second")
    hi = max(args.tokens)
    checks = [(f"whole answers of {hi} tokens", cpu[("sdk", hi)] / cpu[("fast", hi)])]
    lo = min(args.tokens)
    if hi > lo:
        # Per token: the slope between the shortest and the longest answers. What each request
        # costs besides (the HTTP client's pool, building the request, routing: the same on
        # both paths) cancels out; it is printed beside.
        n = clients * (hi - lo)
        per_token = {m: (cpu[(m, hi)] - cpu[(m, lo)]) / n for m in ("sdk", "fast")}
        per_request = {m: cpu[(m, lo)] / clients - lo * per_token[m] for m in ("sdk", "fast")}
        print(
            f"per token ({lo} -> {hi} tokens): SDK path {per_token['sdk'] * 1e6:.1f} µs, fast "
            f"lane {per_token['fast'] * 1e6:.1f} µs; per request besides: SDK path "
            f"{per_request['sdk'] * 1e3:.2f} ms, fast lane {per_request['fast'] * 1e3:.2f} ms"
        )
        checks.insert(0, ("per token", per_token["sdk"] / per_token["fast"]))
    for name, ratio in checks:
        verdict = "met" if ratio >= 5 else "NOT met"
        print(f"fast lane / SDK path, {name}: {ratio:.1f}x (target >= 5x: {verdict})")
    return 0 if all(ratio >= 5 for _, ratio in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
