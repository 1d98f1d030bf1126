"""The Redis resume store under load: concurrent SSE clients against one uvicorn worker.

    python benchmarks/bench_fastapi_redis.py [--clients 500] [--tokens 20] [--pools 10,50,100]

Starts a throwaway ``redis-server`` and, per row, a uvicorn process serving resumable streams
(every other client hangs up halfway and resumes with ``Last-Event-ID``). Rows: the same app
on the in-memory store (the floor), then the Redis store with each command-pool size. Reports
errors, wall time, events/s, time to first byte (p50/p99) and the server's CPU seconds, and
the Redis rows' CPU as a ratio of the floor's.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import anyio  # noqa: E402

from tests.integration.fastapi.redis_load import run_load, uvicorn_process  # noqa: E402
from tests.integration.redis_server import RedisServer  # noqa: E402


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def row(url: str, label: str, *, clients: int, tokens: int, pool: int) -> tuple[str, float]:
    run = f"b{time.time_ns()}"
    cpu = children_cpu()
    with uvicorn_process(url, pool=pool, tokens=tokens, prefix=f"{run}:") as base:
        report = anyio.run(lambda: run_load(base, clients=clients, tokens=tokens, run=run))
    server_cpu = children_cpu() - cpu  # the uvicorn process has exited: its CPU is counted
    fb = sorted(report.first_byte) or [0.0]
    line = (
        f"| {label} | {len(report.errors)} | {report.seconds:.1f} | "
        f"{report.events / report.seconds:.0f} | {fb[len(fb) // 2] * 1000:.0f} | "
        f"{fb[min(len(fb) - 1, int(len(fb) * 0.99))] * 1000:.0f} | {server_cpu:.1f} |"
    )
    for error in report.errors[:3]:
        print("  error:", error)
    return line, server_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--pools", default="10,50,100")
    args = parser.parse_args()
    server = RedisServer()
    server.start()
    try:
        print(f"{args.clients} clients, {args.tokens} tokens each, half resume mid-stream\n")
        print("| store | errors | wall s | events/s | first byte p50 ms | p99 ms | server CPU s |")
        print("|---|---|---|---|---|---|---|")
        line, floor = row(
            "memory", "memory (floor)", clients=args.clients, tokens=args.tokens, pool=1
        )
        print(line, flush=True)
        for pool in (int(p) for p in args.pools.split(",")):
            line, cpu = row(
                server.url,
                f"redis, pool {pool}",
                clients=args.clients,
                tokens=args.tokens,
                pool=pool,
            )
            print(f"{line} ({cpu / floor:.1f}x floor CPU)", flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
