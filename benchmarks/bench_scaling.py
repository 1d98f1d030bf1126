"""Many workers, one truth: what the shared stores cost and what the retry budget saves.

    python benchmarks/bench_scaling.py [--rounds 30] [--users 200]

Needs ``redis-server`` on the PATH (it starts its own on a free loopback port).

1. **Breaker decision cost**: wall µs per ``l0.run`` of a tiny in-process stream with no
   breaker, a memory breaker and a :class:`~l0.redis_stores.RedisBreakerStore` breaker (each
   run makes two decisions: ``acquire`` before the attempt, ``record_success`` after it), and
   the µs of one ``acquire`` alone next to one Redis ``PING`` (the loopback round trip floor).
   Medians over interleaved rounds; wall time, since Redis is another process.
2. **Retry amplification in a brownout**: user requests go through the real OpenAI SDK to a
   chaos server whose primary model fails (100%, then 50% of requests), with a fallback and
   l0's default retry policy (no backoff wait, to keep it quick). The figure is requests sent
   to the failing primary per user request, without and with a Redis ``RetryBudget``
   (``max_tokens=10, token_ratio=0.1``), 20 concurrent users.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import machine_line, word_source

import l0
from l0.chaos import ChaosServer


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    exe = shutil.which("redis-server")
    if exe is None:
        sys.exit("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as c:
                c.sendall(b"PING\r\n")
                if c.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.02)
    proc.kill()
    sys.exit("redis-server did not start")


# -- 1. decision cost -------------------------------------------------------------------------


async def decision_cost(url: str, rounds: int, per_round: int = 200) -> None:
    from l0.redis_stores import RedisBreakerStore

    store = RedisBreakerStore.from_url(url, prefix="bench:")
    redis = store.client
    memory = l0.CircuitBreaker()
    shared = l0.CircuitBreaker(store=store)
    source = word_source(8)

    async def timed(step: Any) -> tuple[float, float]:
        """(wall µs, this process's CPU µs) per call of ``step``."""
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(per_round):
            await step()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        return wall / per_round * 1e6, cpu / per_round * 1e6

    def runs(breaker: l0.CircuitBreaker | None) -> Any:
        opts: dict[str, Any] = {"breaker": breaker, "keys": ["gpt"]} if breaker else {}
        return lambda: timed(lambda: l0.run(source, **opts))

    cases = {
        "run, no breaker": runs(None),
        "run, memory breaker": runs(memory),
        "run, Redis breaker": runs(shared),
        "Redis breaker acquire() alone": lambda: timed(lambda: shared.acquire("gpt")),
        "Redis PING (round-trip floor)": lambda: timed(redis.ping),
    }
    for fn in cases.values():  # warm-up (script load, connections)
        await fn()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            samples[name].append(await fn())
    wall = {name: statistics.median(w for w, _ in v) for name, v in samples.items()}
    cpu = {name: statistics.median(c for _, c in v) for name, v in samples.items()}
    print(f"\n1. Breaker decision cost (median of {rounds} rounds x {per_round} calls)")
    print(f"   {'':<34} {'wall µs':>9} {'CPU µs':>9}")
    for name in cases:
        print(f"   {name:<34} {wall[name]:9.1f} {cpu[name]:9.1f}")
    for kind, med in (("wall", wall), ("CPU", cpu)):
        redis_extra = med["run, Redis breaker"] - med["run, no breaker"]
        memory_extra = med["run, memory breaker"] - med["run, no breaker"]
        print(
            f"   => {kind}: the Redis breaker adds {redis_extra:.1f} µs per run (2 decisions: "
            f"acquire + record_success); the memory breaker {memory_extra:.1f} µs"
        )
    await redis.aclose()


# -- 2. amplification -------------------------------------------------------------------------


async def amplification(url: str, users: int, failure: float, with_budget: bool) -> float:
    from openai import AsyncOpenAI

    from l0.redis_stores import RedisBudgetStore

    budget = None
    if with_budget:
        store = RedisBudgetStore.from_url(url, prefix=f"bench:{time.monotonic_ns()}:")
        budget = l0.RetryBudget(max_tokens=10, token_ratio=0.1, store=store)
    rng = random.Random(7)
    with ChaosServer(answer="ok then") as chaos:
        client = AsyncOpenAI(base_url=chaos.openai_base_url, api_key="x", max_retries=0)
        msgs: Any = [{"role": "user", "content": "hi"}]

        def primary() -> Any:
            fault = "status=503" if rng.random() < failure else "ok"
            return client.chat.completions.create(
                model="primary", messages=msgs, stream=True, extra_headers={"x-l0-chaos": fault}
            )

        def fallback() -> Any:
            return client.chat.completions.create(model="fallback", messages=msgs, stream=True)

        async def user(n: int) -> None:
            for _ in range(n):
                result = await l0.run(
                    primary,
                    fallbacks=[fallback],
                    retry=l0.Retry(base_delay=0.0, max_delay=0.0),
                    retry_budget=budget,
                    keys=["primary", "fallback"] if budget else None,
                )
                assert result.text == "ok then"

        await asyncio.gather(*(user(users // 20) for _ in range(20)))
        await client.close()
        if budget is not None:
            await budget.store.client.aclose()  # type: ignore[attr-defined]
        primary_calls = sum(1 for r in chaos.requests if r.body.get("model") == "primary")
    return primary_calls / (users // 20 * 20)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--users", type=int, default=200)
    args = parser.parse_args()
    print(machine_line())
    proc, url = start_redis()
    try:
        await decision_cost(url, args.rounds)
        print(
            f"\n2. Retry amplification: primary requests per user request "
            f"({args.users} users, default l0.Retry, fallback after)"
        )
        for failure in (1.0, 0.5):
            without = await amplification(url, args.users, failure, with_budget=False)
            with_b = await amplification(url, args.users, failure, with_budget=True)
            print(
                f"   {failure:>4.0%} failing: without budget {without:5.2f}   "
                f"with RetryBudget(10, 0.1) {with_b:5.2f}"
            )
    finally:
        proc.terminate()
        proc.wait(5)


if __name__ == "__main__":
    asyncio.run(main())
