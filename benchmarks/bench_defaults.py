"""The defaults against the cheapest floor: is ``l0.stream(source)`` as fast as the core?

    python benchmarks/bench_defaults.py [--rounds 30] [--sizes 2000 50000] [--check]

Two floors, both one pass-through async generator that keeps the text:

- *slim floor*: builds one slotted 3-field object per token, the cheapest wrapper that hands
  out an object per token;
- *event floor*: builds one ``l0.Event`` per token (``harness.floor``, the other benchmarks').

Rows: the core (``l0.stream`` with timeouts off), the *default options* (``l0.stream(source)``
with nothing else: the default ``Timeout()`` is on), and the full stack (json + markdown +
zero-output guardrails, drift, continuation, an inter-token timeout). The tokens are varied
words (``bench_guardrails.make_tokens``), so drift and the guardrails see prose.

Targets (issue 12), on the slim floor, median of >= 30 interleaved rounds at 2,000 and 50,000
tokens: core <= 1.3x, default options <= 1.4x, full stack <= 3x. ``--check`` exits non-zero
when one is missed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_guardrails import make_tokens
from harness import print_table, run_rounds

import l0
from l0.drift import DriftDetector
from l0.guardrails import json_rule, markdown_rule, zero_output_rule

TOKEN = l0.EventType.TOKEN
NO_TIMEOUT = l0.Timeout(initial_token=None, inter_token=None)
TIMEOUT = l0.Timeout(initial_token=5.0, inter_token=5.0)


class Slim:
    """The cheapest per-token object: three slots."""

    __slots__ = ("data", "text", "type")

    def __init__(self, type: object, text: str, data: object = None) -> None:
        self.type = type
        self.text = text
        self.data = data


async def _source(tokens: list[str]) -> AsyncIterator[str]:
    for t in tokens:
        yield t


async def _slim_gen(src: AsyncIterator[str]) -> AsyncIterator[Slim]:
    parts: list[str] = []
    append = parts.append
    async for tok in src:
        append(tok)
        yield Slim(TOKEN, tok)


async def _event_gen(src: AsyncIterator[str]) -> AsyncIterator[l0.Event]:
    parts: list[str] = []
    append = parts.append
    async for tok in src:
        append(tok)
        yield l0.Event(TOKEN, tok)


def _checked(tokens: list[str], chars: int) -> int:
    """``len(tokens)`` when every character was delivered (the harness checks the count).

    Counted in characters, not events: under ``checked`` release (the full stack's default,
    its rules can reject text) l0 releases the checked text in pieces of several tokens.
    """
    return len(tokens) if chars == sum(map(len, tokens)) else -chars


def _floor(gen: Any) -> Any:
    async def scenario(tokens: list[str]) -> int:
        chars = 0
        async for ev in gen(_source(tokens)):
            if ev.type is TOKEN:
                chars += len(ev.text)
        return _checked(tokens, chars)

    return scenario


def _stream(**options: Any) -> Any:
    async def scenario(tokens: list[str]) -> int:
        chars = 0
        async with l0.stream(lambda: _source(tokens), **options) as s:
            async for ev in s:
                if ev.type is TOKEN:
                    chars += len(ev.text)
        return _checked(tokens, chars)

    return scenario


def scenarios() -> dict[str, Any]:
    return {
        "slim floor": _floor(_slim_gen),
        "event floor": _floor(_event_gen),
        "core (timeouts off)": _stream(timeout=NO_TIMEOUT),
        "default options": _stream(),
        "full stack": lambda t: _stream(
            timeout=TIMEOUT,
            guardrails=[json_rule(), markdown_rule(), zero_output_rule()],
            drift=DriftDetector(),
            continuation=True,
        )(t),
    }


TARGETS = {"core (timeouts off)": 1.3, "default options": 1.4, "full stack": 3.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--sizes", type=int, nargs="*", default=[2000, 50000])
    parser.add_argument("--check", action="store_true", help="fail when a target is missed")
    args = parser.parse_args()
    token_lists = {n: make_tokens(n) for n in args.sizes}

    def bind(fn: Any) -> Any:
        return lambda n: fn(token_lists[n])

    cases = [(name, bind(fn)) for name, fn in scenarios().items()]
    rows = run_rounds(cases, args.sizes, args.rounds)
    print("\n-- ratios to the slim floor (slotted 3-field object per token)")
    slim = print_table(rows, floor_name="slim floor")
    print("\n-- ratios to the event floor (one l0.Event per token)")
    print_table(rows, floor_name="event floor")
    checks = [
        (f"{name} <= {limit}x slim floor at {n}", slim[(name, n)] <= limit)
        for name, limit in TARGETS.items()
        for n in args.sizes
    ]
    for label, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}")
    return 0 if (all(ok for _, ok in checks) or not args.check) else 1


if __name__ == "__main__":
    sys.exit(main())
