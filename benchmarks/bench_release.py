"""``release="checked"`` vs ``release="stream"`` with the recommended preset (issue 11).

Workload: the harness's zero-delay async generator of plain ``str`` word tokens. Scenarios,
interleaved in every round (median of ``--rounds``), each with ``l0.guardrails.recommended()``:

- ``stream``: text leaves at once; rules run every ``CheckIntervals.guardrails`` tokens.
- ``checked``: rules run on every token; each token leaves once the recommended rules'
  look-ahead (57 characters) has passed over it.

Reported: µs/token and the ratio to the floor (``benchmarks/harness.py``), the ratio
checked/stream per round (acceptance: ≤ 1.5), and for the first released token the number of
characters held back and the CPU time from the start of the run.

Run: ``python benchmarks/bench_release.py [--rounds 30] [--check]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import anyio
from harness import floor, print_table, run_rounds, word_source

import l0
from l0.guardrails import GuardrailEngine, recommended

TOKEN = l0.EventType.TOKEN


def _scenario(release: str):  # type: ignore[no-untyped-def]
    async def run(n: int) -> int:
        text = 0
        async with l0.stream(word_source(n), guardrails=recommended(), release=release) as s:
            async for ev in s:
                if ev.type is TOKEN:
                    text += len(ev.text or "")
        result = s.result
        if text != len(result.text):
            raise AssertionError(f"{release}: released {text} of {len(result.text)} chars")
        return result.state.token_count

    return run


async def _first_release(release: str, n: int = 2000) -> tuple[int, float]:
    """(characters fed but not released at the first release, CPU µs to it)."""
    t0 = time.process_time()
    async with l0.stream(word_source(n), guardrails=recommended(), release=release) as s:
        async for ev in s:
            if ev.type is TOKEN:
                dt = time.process_time() - t0
                return len(s.state.content) - len(ev.text or ""), dt * 1e6
    raise AssertionError("no token")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--check", action="store_true", help="fail if checked > 1.5x stream")
    args = parser.parse_args()
    scenarios = [
        ("floor", floor),
        ("stream", _scenario("stream")),
        ("checked", _scenario("checked")),
    ]
    rows = run_rounds(scenarios, [2000], args.rounds)
    print_table(rows)
    by = {r.name: r for r in rows}
    ratio = statistics.median(
        c / s for c, s in zip(by["checked"].samples, by["stream"].samples, strict=True)
    )
    print(f"checked / stream per token (median of per-round ratios): {ratio:.2f}")
    lookahead = GuardrailEngine(recommended()).lookahead
    for release in ("stream", "checked"):
        held, us = statistics.median_low([anyio.run(_first_release, release) for _ in range(15)])
        print(
            f"first released token, {release:<7}: {held} chars held back "
            f"(look-ahead {lookahead}), {us:.0f} µs CPU from the start"
        )
    if args.check and ratio > 1.5:
        raise SystemExit(f"checked costs {ratio:.2f}x stream (> 1.5)")


if __name__ == "__main__":
    main()
