"""Guardrails + drift cost per token, against the floor, at 2,000 and 50,000 tokens.

Workload (the core benchmark's): a zero-delay async generator of plain ``str`` word tokens.
The words are drawn from a fixed vocabulary with a seeded RNG (so the text is not a literal
loop, which drift detection would rightly flag), built once, outside the timed region.

Floor: one pass-through async generator that keeps the text (list append) and builds one
``l0.Event`` per token. Scenarios, interleaved in every round (median of ``--rounds``):

- ``core``: ``l0.run`` with no features and no timeout.
- ``core_stack``: the core part of ``full``: inter-token timeout, continuation and ``on_event``
  (``CHECKPOINT_SAVED`` fires), no guardrails, no drift.
- ``guards``: json + markdown + zero-output rules.
- ``full_noop_hooks``: ``full`` with a do-nothing rule and detector: what the runtime itself
  spends on calling the hooks and emitting their events.
- ``full``: json + markdown + zero-output rules, ``DriftDetector()``, an inter-token timeout,
  ``on_event`` set (so ``CHECKPOINT_SAVED`` and ``DRIFT_CHECK_RESULT`` fire) and continuation.
- ``recommended``: the ``recommended()`` preset + drift + timeout + ``on_event``.

Run: ``PYTHONPATH=. python benchmarks/bench_guardrails.py [--rounds 30]``. Every run checks
that all tokens came through and that no violation or drift was reported.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import l0
from l0.drift import DriftDetector
from l0.guardrails import json_rule, markdown_rule, recommended, zero_output_rule
from l0.runtime.hooks import DriftResult
from l0.types import Event, EventType

_VOCAB = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "they",
    "you",
    "were",
    "her",
    "she",
    "there",
    "been",
    "one",
    "all",
    "we",
    "their",
    "has",
    "would",
    "when",
    "if",
    "so",
    "no",
    "what",
    "up",
    "out",
    "about",
    "into",
    "than",
    "them",
    "can",
    "only",
    "other",
    "new",
    "some",
    "could",
    "time",
    "these",
    "two",
    "may",
    "then",
    "do",
    "first",
    "any",
    "my",
    "now",
    "such",
    "like",
    "our",
    "over",
    "man",
    "me",
    "even",
    "most",
    "made",
    "after",
    "also",
    "did",
    "many",
    "before",
    "must",
    "through",
    "back",
    "years",
    "where",
    "much",
    "your",
    "way",
    "well",
    "down",
    "should",
    "because",
    "each",
    "just",
    "those",
    "people",
    "how",
    "too",
    "little",
    "state",
    "good",
    "very",
    "make",
    "world",
    "still",
    "own",
    "see",
    "men",
    "work",
    "long",
    "get",
    "here",
    "between",
    "both",
    "life",
    "being",
    "under",
    "never",
    "day",
    "same",
    "another",
    "know",
    "while",
    "last",
    "might",
    "us",
    "great",
    "old",
    "year",
    "off",
    "come",
    "since",
    "against",
    "go",
    "came",
    "right",
    "used",
    "take",
    "three",
    "states",
    "himself",
    "few",
    "house",
    "use",
    "during",
    "without",
    "again",
    "place",
    "around",
    "however",
    "home",
    "small",
    "found",
    "thought",
    "went",
    "say",
    "part",
    "once",
    "general",
    "high",
    "upon",
    "school",
    "every",
    "does",
    "got",
    "united",
    "left",
    "number",
    "course",
    "war",
    "until",
    "always",
    "away",
    "something",
    "fact",
    "though",
    "water",
    "less",
    "public",
    "put",
    "think",
    "almost",
    "hand",
    "enough",
    "far",
    "took",
    "head",
    "yet",
    "government",
    "system",
    "better",
    "set",
    "told",
    "nothing",
    "night",
    "end",
    "why",
    "called",
    "didn",
    "eyes",
    "find",
    "going",
    "look",
    "asked",
    "later",
    "knew",
    "point",
    "next",
    "program",
    "city",
    "business",
    "give",
    "group",
    "toward",
    "young",
    "days",
    "let",
    "room",
    "president",
    "side",
    "social",
    "given",
    "present",
    "several",
    "order",
    "national",
]


def make_tokens(n: int) -> list[str]:
    rng = random.Random(n)
    return [rng.choice(_VOCAB) + " " for _ in range(n)]


async def _source(tokens: list[str]) -> AsyncIterator[str]:
    for t in tokens:
        yield t


async def floor(tokens: list[str]) -> int:
    out: list[str] = []
    append = out.append
    async for t in _source(tokens):
        append(t)
        Event(EventType.TOKEN, t, None, None, 0.0)
    return len(out)


def _noop(event: l0.ObservabilityEvent) -> None:
    return None


class _NoopRule:
    """A rule that does nothing: measures the runtime's cost of calling guardrails."""

    name = "noop"

    def reset(self) -> None:
        pass

    def check(self, delta: str, state: l0.State, *, final: bool) -> tuple[()]:
        return ()


class _NoopDrift:
    """A detector that does nothing: measures the runtime's cost of calling drift checks."""

    def reset(self) -> None:
        pass

    def check(self, delta: str, *, final: bool) -> DriftResult:
        return _NO_DRIFT


_NO_DRIFT = DriftResult(detected=False)


def _run(tokens: list[str], **options: Any) -> Coroutine[Any, Any, int]:
    async def go() -> int:
        result = await l0.run(lambda: _source(tokens), **options)
        state = result.state
        assert not state.violations, state.violations
        assert not state.drift_detected
        return state.token_count

    return go()


_NO_TIMEOUT = l0.Timeout(initial_token=None, inter_token=None)
_TIMEOUT = l0.Timeout(initial_token=5.0, inter_token=5.0)


def scenarios() -> dict[str, Callable[[list[str]], Coroutine[Any, Any, int]]]:
    return {
        "floor": floor,
        "core": lambda t: _run(t, timeout=_NO_TIMEOUT),
        "core_stack": lambda t: _run(t, timeout=_TIMEOUT, continuation=True, on_event=_noop),
        "guards": lambda t: _run(
            t, timeout=_NO_TIMEOUT, guardrails=[json_rule(), markdown_rule(), zero_output_rule()]
        ),
        "full_noop_hooks": lambda t: _run(
            t,
            timeout=_TIMEOUT,
            guardrails=[_NoopRule()],
            drift=_NoopDrift(),
            continuation=True,
            on_event=_noop,
        ),
        "full": lambda t: _run(
            t,
            timeout=_TIMEOUT,
            guardrails=[json_rule(), markdown_rule(), zero_output_rule()],
            drift=DriftDetector(),
            continuation=True,
            on_event=_noop,
        ),
        "full_no_events": lambda t: _run(
            t,
            timeout=_TIMEOUT,
            guardrails=[json_rule(), markdown_rule(), zero_output_rule()],
            drift=DriftDetector(),
            continuation=True,
        ),
        "recommended": lambda t: _run(
            t, timeout=_TIMEOUT, guardrails=recommended(), drift=True, on_event=_noop
        ),
    }


async def measure(n: int, rounds: int, warmup: int = 3) -> dict[str, float]:
    tokens = make_tokens(n)
    cases = scenarios()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for r in range(warmup + rounds):
        for name, case in cases.items():
            gc.collect()
            t0 = time.perf_counter()
            count = await case(tokens)
            elapsed = time.perf_counter() - t0
            assert count == n, (name, count)
            if r >= warmup:
                samples[name].append(elapsed / n * 1e6)
    return {name: statistics.median(v) for name, v in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--sizes", type=int, nargs="*", default=[2000, 50000])
    args = parser.parse_args()
    results = {n: asyncio.run(measure(n, args.rounds)) for n in args.sizes}
    base = args.sizes[0]
    print(f"median of {args.rounds} interleaved rounds; µs per token (x floor)")
    header = f"{'scenario':<16}" + "".join(f"{n:>22}" for n in args.sizes)
    print(header + f"{'scaling':>10}")
    for name in results[base]:
        row = f"{name:<16}"
        for n in args.sizes:
            us = results[n][name]
            row += f"{us:>12.3f} ({us / results[n]['floor']:>5.2f}x)"
        row += f"{results[args.sizes[-1]][name] / results[base][name]:>9.2f}x"
        print(row)


if __name__ == "__main__":
    main()
