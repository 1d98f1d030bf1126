"""Shared benchmark harness: interleaved runs, medians, ratios against the floor.

The workload is a zero-delay async generator of plain ``str`` word tokens. The *floor* is
one pass-through async generator that keeps the text and builds one ``l0.Event`` per token:
the least any wrapper that hands out events can cost. Every scenario runs once per round,
rounds interleaved so machine noise spreads evenly; each figure is the median over rounds.
Times are this process's CPU time (``time.process_time``), so other work on the machine does
not count against a scenario (everything here is CPU-bound: no scenario waits).
"""

from __future__ import annotations

import gc
import platform
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

import anyio

from l0 import Event, EventType

__all__ = [
    "Scenario",
    "floor",
    "machine_line",
    "print_table",
    "raw",
    "run_rounds",
    "word_source",
]

WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta")
TOKEN = EventType.TOKEN

Scenario = Callable[[int], Awaitable[int]]
"""Consumes an ``n``-token stream; returns how many tokens it saw (checked)."""


def tokens(n: int) -> list[str]:
    """``n`` word tokens with a leading space (built outside the timing)."""
    return [f" {WORDS[i % len(WORDS)]}" for i in range(n)]


_CACHE: dict[int, list[str]] = {}


def word_source(n: int) -> Callable[[], AsyncIterator[str]]:
    """A factory of a zero-delay async generator over ``n`` cached tokens."""
    toks = _CACHE.get(n)
    if toks is None:  # (built once, outside the timing)
        toks = _CACHE[n] = tokens(n)

    async def gen() -> AsyncIterator[str]:
        for t in toks:
            yield t

    return gen


async def raw(n: int) -> int:
    """Bare iteration of the source."""
    count = 0
    async for _ in word_source(n)():
        count += 1
    return count


async def _floor_gen(src: AsyncIterator[str]) -> AsyncIterator[Event]:
    parts: list[str] = []
    append = parts.append
    async for tok in src:
        append(tok)
        yield Event(TOKEN, tok)


async def floor(n: int) -> int:
    """The floor: one pass-through generator keeping the text, one event per token."""
    count = 0
    async for ev in _floor_gen(word_source(n)()):
        if ev.type is TOKEN:
            count += 1
    return count


@dataclass
class Row:
    name: str
    n: int
    median_s: float
    p95_s: float
    samples: list[float]

    @property
    def us_per_token(self) -> float:
        return self.median_s / self.n * 1e6


def run_rounds(
    scenarios: Sequence[tuple[str, Scenario]], sizes: Sequence[int], rounds: int, warmup: int = 3
) -> list[Row]:
    """Run every scenario at every size, interleaved, ``rounds`` times; median per cell."""
    times: dict[tuple[str, int], list[float]] = {(s, n): [] for s, _ in scenarios for n in sizes}

    async def one_round(record: bool) -> None:
        for n in sizes:
            for name, fn in scenarios:
                gc.collect()
                t0 = time.process_time()
                seen = await fn(n)
                dt = time.process_time() - t0
                if seen != n:
                    raise AssertionError(f"{name} at {n}: saw {seen} tokens, expected {n}")
                if record:
                    times[(name, n)].append(dt)

    async def main() -> None:
        for _ in range(warmup):
            await one_round(False)
        for _ in range(rounds):
            await one_round(True)

    anyio.run(main)
    rows = []
    for (name, n), ts in times.items():
        ordered = sorted(ts)
        rows.append(Row(name, n, statistics.median(ts), ordered[int(len(ts) * 0.95) - 1], ts))
    return rows


def machine_line() -> str:
    """CPU and interpreter, for the printed report."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}; Python {sys.version.split()[0]}; {platform.system()}"


def print_table(rows: Sequence[Row], floor_name: str = "floor") -> dict[tuple[str, int], float]:
    """Print µs/token and the ratio to the floor at the same size; return the ratios.

    The ratio is the median over rounds of (scenario time / floor time in the same round):
    the two ran back to back, so they shared the machine's state.
    """
    floors = {r.n: r for r in rows if r.name == floor_name}
    ratios: dict[tuple[str, int], float] = {}
    print(machine_line())
    print(f"{'scenario':<38} {'tokens':>7} {'ms/stream':>10} {'µs/token':>9} {'x floor':>8}")
    for r in sorted(rows, key=lambda r: (r.n, r.us_per_token)):
        base = floors[r.n].samples
        ratio = statistics.median(t / f for t, f in zip(r.samples, base, strict=True))
        ratios[(r.name, r.n)] = ratio
        print(
            f"{r.name:<38} {r.n:>7} {r.median_s * 1e3:>10.3f} {r.us_per_token:>9.3f} {ratio:>8.2f}"
        )
    return ratios
