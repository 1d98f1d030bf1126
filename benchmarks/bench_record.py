"""Recording overhead: ``l0.stream(..., record=FileStore(dir))`` against the same run without.

    python benchmarks/bench_record.py [--rounds 30] [--check]

Targets (issue 15): recording on (file store, buffered) <= 1.3x recording off per token —
the slope between the smallest and the largest ``--sizes`` (what one more token costs) and
the whole run at the largest size; what each recording costs besides its tokens (its
lifecycle events, header and end lines, its file) is measured on 20-token runs and printed;
recording off is the core benchmark itself (bench_core.py: same code path, one ``is None``
test per attempt). Two workloads: the core one (plain ``str`` tokens from a zero-delay
generator, where l0 itself costs well under 1 µs per token) under no, the default (sampled)
and an explicit inter-token timeout, and a real openai SDK stream (``AsyncOpenAI`` over an
in-memory transport: SSE parsing, pydantic chunks; bench_openai_sdk), in rounds of its own
(``--sdk-sizes``, default 2,000 tokens).
``--check`` exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import anyio
from bench_openai_sdk import MESSAGES, build_sse, make_client
from harness import floor, print_table, run_rounds, word_source

import l0

TOKEN = l0.EventType.TOKEN
TINY = 20  # tokens of the runs that measure what a recording costs besides its tokens
TIMEOUTS: dict[str, l0.Timeout | None] = {
    "no timeout": l0.Timeout(initial_token=None, inter_token=None),
    "default timeout": None,  # no timeout= given: the stall watch samples
    "inter-token timeout": l0.Timeout(initial_token=None, inter_token=30.0),
}


def _scenario(timeout: l0.Timeout | None, store: l0.Store | None):
    opts = {} if timeout is None else {"timeout": timeout}

    async def scenario(n: int) -> int:
        count = 0
        async with l0.stream(word_source(n), record=store, **opts) as s:
            async for ev in s:
                if ev.type is TOKEN:
                    count += 1
        return count

    return scenario


def _sdk(store: l0.Store | None):
    clients: dict[int, object] = {}

    async def scenario(n: int) -> int:
        client = clients.get(n)
        if client is None:
            client = clients[n] = make_client(build_sse(n))
        result = await l0.run(
            lambda: client.chat.completions.create(  # type: ignore[attr-defined]
                model="gpt-4o-mini", messages=MESSAGES, stream=True
            ),
            record=store,
        )
        return result.state.token_count

    return scenario


def _per_recording(store: l0.Store, rounds: int) -> tuple[float, float]:
    """Median CPU µs of a ``TINY``-token run, off and recording (interleaved, run back to back
    with no ``gc.collect()`` between them: the harness's collection before every scenario leaves
    caches cold, which would dominate a run this short)."""
    off_run = _scenario(TIMEOUTS["no timeout"], None)
    on_run = _scenario(TIMEOUTS["no timeout"], store)
    times: dict[bool, list[float]] = {False: [], True: []}

    async def go() -> None:
        for i in range(rounds + 20):
            for recording, run in ((False, off_run), (True, on_run)):
                t0 = time.process_time()
                await run(TINY)
                if i >= 20:  # (warm-up)
                    times[recording].append(time.process_time() - t0)

    anyio.run(go)
    return statistics.median(times[False]) * 1e6, statistics.median(times[True]) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument(
        "--sdk-sizes",
        type=int,
        nargs="*",
        default=[2000],
        help="token counts of the openai SDK workload (its SSE parsing costs ~0.5 ms a "
        "token at 20,000 here: its own rounds, so it does not stretch the core's)",
    )
    parser.add_argument("--check", action="store_true", help="fail when a target is missed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = l0.FileStore(tmp)
        scenarios = [("floor", floor)]
        for label, timeout in TIMEOUTS.items():
            scenarios.append((f"off, {label}", _scenario(timeout, None)))
            scenarios.append((f"file store, {label}", _scenario(timeout, files)))
        rows = run_rounds(scenarios, args.sizes, args.rounds)
        sdk = [("floor", floor), ("off, openai SDK", _sdk(None))]
        sdk.append(("file store, openai SDK", _sdk(files)))
        sdk_rows = run_rounds(sdk, args.sdk_sizes, args.rounds) if args.sdk_sizes else []
        fixed = _per_recording(files, args.rounds * 10)
    print_table(rows)
    if sdk_rows:
        print_table(sdk_rows)
    by = {(r.name, r.n): r for r in [*rows, *sdk_rows]}
    checks = []
    cells = [(label, n) for label in TIMEOUTS for n in args.sizes]
    cells += [("openai SDK", n) for n in args.sdk_sizes]
    for label, n in cells:
        on, off = by[(f"file store, {label}", n)], by[(f"off, {label}", n)]
        ratio = statistics.median(a / b for a, b in zip(on.samples, off.samples, strict=True))
        print(f"recording on / off, {label}, whole run of {n} tokens: {ratio:.2f}x")
        if n == max(args.sizes if label != "openai SDK" else args.sdk_sizes):
            checks.append((f"record <= 1.3x off (whole run, {label}, {n} tokens)", ratio <= 1.3))
    # Per token: the slope between the smallest and the largest size, round by round (the
    # per-recording costs — the header and end lines, creating the file — cancel out).
    if len(args.sizes) > 1:
        lo, hi = min(args.sizes), max(args.sizes)
        for label in TIMEOUTS:
            on_lo, on_hi = by[(f"file store, {label}", lo)], by[(f"file store, {label}", hi)]
            off_lo, off_hi = by[(f"off, {label}", lo)], by[(f"off, {label}", hi)]
            rounds = zip(on_lo.samples, on_hi.samples, off_lo.samples, off_hi.samples, strict=True)
            slopes = [(b - a) / (d - c) for a, b, c, d in rounds]
            slope = statistics.median(slopes)
            print(f"recording on / off, {label}, per token ({lo:,} -> {hi:,} tokens): {slope:.2f}x")
            checks.append((f"record <= 1.3x off per token ({label})", slope <= 1.3))
    off_us, on_us = fixed
    print(
        f"each recording besides its tokens ({TINY}-token runs, back to back): "
        f"{on_us - off_us:+.0f} µs ({off_us:.0f} -> {on_us:.0f} µs a run)"
    )
    for name, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    return 0 if (all(ok for _, ok in checks) or not args.check) else 1


if __name__ == "__main__":
    sys.exit(main())
