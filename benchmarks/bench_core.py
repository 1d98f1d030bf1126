"""Core runtime overhead: ``l0.stream`` against raw iteration and the floor.

    python benchmarks/bench_core.py [--rounds 50] [--check]

Targets (issue: core runtime): core <= 1.3x the floor per token at 2,000 tokens; core +
inter-token timeout <= 1.5x; µs/token at 50,000 tokens within 1.2x of that at 2,000.
``--check`` exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import floor, print_table, raw, run_rounds, word_source

import l0

TOKEN = l0.EventType.TOKEN
NO_TIMEOUT = l0.Timeout(initial_token=None, inter_token=None)
INTER_TIMEOUT = l0.Timeout(initial_token=None, inter_token=30.0)


def _core(timeout: l0.Timeout):
    async def scenario(n: int) -> int:
        count = 0
        async with l0.stream(word_source(n), timeout=timeout) as s:
            async for ev in s:
                if ev.type is TOKEN:
                    count += 1
        return count

    return scenario


class _PassRule:
    """A guardrail that never objects (so the listener rows pay for checks, not violations)."""

    name = "pass"

    def reset(self) -> None:
        pass

    def check(self, delta: str, state: l0.State, *, final: bool) -> list[object]:
        return []


def _listened(guarded: bool):
    seen: list[int] = [0]

    def listener(event: l0.ObservabilityEvent) -> None:
        seen[0] += 1

    async def scenario(n: int) -> int:
        count = 0
        opts: dict[str, object] = {"timeout": NO_TIMEOUT, "on_event": listener}
        if guarded:
            opts["guardrails"] = [_PassRule()]
            opts["release"] = "stream"
        async with l0.stream(word_source(n), **opts) as s:  # type: ignore[arg-type]
            async for ev in s:
                if ev.type is TOKEN:
                    count += 1
        return count

    return scenario


def event_construction() -> None:
    """ns per construction: l0.Event against a frozen and a slotted dataclass."""
    import timeit
    from dataclasses import dataclass

    @dataclass(frozen=True, slots=True)
    class Frozen:
        type: object
        text: str | None = None
        data: object = None
        error: object = None
        ts: float = 0.0

    @dataclass(slots=True)
    class Slotted:
        type: object
        text: str | None = None
        data: object = None
        error: object = None
        ts: float = 0.0

    n = 500_000
    for label, cls in (
        ("l0.Event", l0.Event),
        ("slots dataclass", Slotted),
        ("frozen dataclass", Frozen),
    ):
        t = min(timeit.repeat(lambda c=cls: c(TOKEN, "tok"), number=n, repeat=5))
        print(f"construct {label:<18} {t / n * 1e9:6.1f} ns")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 50000])
    parser.add_argument("--check", action="store_true", help="fail when a target is missed")
    args = parser.parse_args()
    scenarios = [
        ("raw iteration", raw),
        ("floor", floor),
        ("l0.stream core", _core(NO_TIMEOUT)),
        ("l0.stream core + inter-token timeout", _core(INTER_TIMEOUT)),
        ("core + on_event listener", _listened(False)),
        ("core + listener + guardrail", _listened(True)),
    ]
    event_construction()
    rows = run_rounds(scenarios, args.sizes, args.rounds)
    ratios = print_table(rows)
    us = {(r.name, r.n): r.us_per_token for r in rows}
    small, big = min(args.sizes), max(args.sizes)
    checks = [
        ("core <= 1.3x floor", ratios[("l0.stream core", small)] <= 1.3),
        (
            "core + timeout <= 1.5x floor",
            ratios[("l0.stream core + inter-token timeout", small)] <= 1.5,
        ),
    ]
    for name in ("l0.stream core", "l0.stream core + inter-token timeout"):
        scale = us[(name, big)] / us[(name, small)]
        print(f"{name}: µs/token at {big} / at {small} = {scale:.2f}")
        checks.append((f"{name} scaling <= 1.2", scale <= 1.2))
    for label, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}")
    return 0 if (all(ok for _, ok in checks) or not args.check) else 1


if __name__ == "__main__":
    sys.exit(main())
