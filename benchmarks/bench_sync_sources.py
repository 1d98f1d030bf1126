"""Blocking sync sources: the cost of reading them in a worker thread, and the latency other
requests on the same FastAPI worker see while 20 of them stream.

    python benchmarks/bench_sync_sources.py [--rounds 20] [--streams 20] [--check]

1. Per-token cost: ``l0.run`` over a sync generator (read in one worker thread per attempt,
   handed over through a buffer) against ``l0.run`` over the same tokens from a plain async
   generator, in the same process (CPU time of the whole process, so the worker thread's
   work counts). Target (issue 10): at most 3 µs per token more.
2. A real uvicorn on 127.0.0.1 serving ``Depends(l0_stream)`` routes whose source is a
   blocking sync generator (``time.sleep`` per token, standing in for ``httpx.Client``
   streaming) while ``/health`` is polled. Target: ``/health`` p99 under 20 ms while 20
   such streams run.

``--check`` exits non-zero when a target is missed.
"""

import argparse
import multiprocessing
import os
import socket
import statistics
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import anyio
from harness import run_rounds, tokens, word_source

import l0

NO_TIMEOUT = l0.Timeout(initial_token=None, inter_token=None)


def _sync_source(n: int) -> Any:
    toks = tokens(n)

    def gen() -> Iterator[str]:
        yield from toks

    return gen


async def _async_run(n: int) -> int:
    result = await l0.run(word_source(n), timeout=NO_TIMEOUT)
    return result.state.token_count


async def _sync_run(n: int) -> int:
    result = await l0.run(_sync_source(n), timeout=NO_TIMEOUT)
    return result.state.token_count


def per_token(rounds: int, size: int) -> float:
    rows = run_rounds(
        [("async source", _async_run), ("blocking-sync path", _sync_run)], [size], rounds
    )
    us = {r.name: r.us_per_token for r in rows}
    extra = us["blocking-sync path"] - us["async source"]
    print(f"\nper-token cost at {size} tokens, median of {rounds} rounds (process CPU time):")
    for name, value in us.items():
        print(f"  {name:<22} {value:6.2f} µs/token")
    print(f"  extra for the sync path {extra:6.2f} µs/token (target <= 3)")
    return extra


# -- FastAPI worker latency ----------------------------------------------------------------


def _app(tokens_per_stream: int, per_token_s: float) -> Any:
    from fastapi import Depends, FastAPI
    from fastapi.responses import Response

    from l0.integrations.fastapi import L0Stream, l0_stream

    app = FastAPI()

    def blocking() -> Iterator[str]:
        for i in range(tokens_per_stream):
            time.sleep(per_token_s)  # a blocking read
            yield f"t{i} "

    async def non_blocking() -> AsyncIterator[str]:
        for i in range(tokens_per_stream):
            await anyio.sleep(per_token_s)  # the floor: an async read
            yield f"t{i} "

    @app.get("/chat")
    async def chat(l0s: Annotated[L0Stream, Depends(l0_stream)]) -> Response:
        return l0s(blocking)

    @app.get("/chat_async")
    async def chat_async(l0s: Annotated[L0Stream, Depends(l0_stream)]) -> Response:
        return l0s(non_blocking)

    @app.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    return app


def _run_server(sock: socket.socket) -> None:
    import uvicorn

    app = _app(tokens_per_stream=100, per_token_s=0.02)
    config = uvicorn.Config(app, lifespan="off", log_level="warning", ws="none")
    uvicorn.Server(config).run(sockets=[sock])


def _serve() -> tuple[multiprocessing.Process, str]:
    """uvicorn in a process of its own (the load generator must not share its GIL)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    proc = multiprocessing.get_context("fork").Process(target=_run_server, args=(sock,))
    proc.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port}"


async def _load(base: str, streams: int, route: str) -> tuple[list[float], float]:
    import httpx

    latencies: list[float] = []
    done = anyio.Event()

    async def stream(client: httpx.AsyncClient) -> None:
        async with client.stream("GET", f"{base}{route}") as response:
            async for _ in response.aiter_bytes():
                pass

    async with (
        httpx.AsyncClient(timeout=30) as streams_client,
        httpx.AsyncClient(timeout=30) as health_client,
    ):
        started = time.monotonic()

        async def poll() -> None:
            await anyio.sleep(0.2)  # every stream is running
            while not done.is_set():
                t0 = time.perf_counter()
                response = await health_client.get(f"{base}/health")
                latencies.append(time.perf_counter() - t0)
                assert response.status_code == 200
                await anyio.sleep(0.01)

        async with anyio.create_task_group() as tg:
            tg.start_soon(poll)
            async with anyio.create_task_group() as inner:
                for _ in range(streams):
                    inner.start_soon(stream, streams_client)
            done.set()
        elapsed = time.monotonic() - started
    return latencies, elapsed


def _p99(ms: list[float]) -> float:
    ms = sorted(ms)
    return ms[min(len(ms) - 1, int(len(ms) * 0.99))]


def health_p99(streams: int) -> float:
    proc, base = _serve()
    try:
        figures = {}
        for label, route in (
            ("async sources (floor)", "/chat_async"),
            ("blocking sources", "/chat"),
        ):
            latencies, elapsed = anyio.run(_load, base, streams, route)
            ms = [x * 1000 for x in latencies]
            figures[label] = _p99(ms)
            print(
                f"/health while {streams} {label} stream ({elapsed:.1f} s): {len(ms)} requests, "
                f"p50 {statistics.median(ms):.1f} ms, p99 {_p99(ms):.1f} ms, max {max(ms):.1f} ms"
            )
    finally:
        proc.terminate()
        proc.join(5)
    print("target: p99 < 20 ms with blocking sources")
    return figures["blocking sources"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--size", type=int, default=20000)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--check", action="store_true", help="fail when a target is missed")
    args = parser.parse_args()
    extra = per_token(args.rounds, args.size)
    print()
    p99 = health_p99(args.streams)
    ok = extra <= 3.0 and p99 < 20.0
    if args.check and not ok:
        print("a target was missed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
