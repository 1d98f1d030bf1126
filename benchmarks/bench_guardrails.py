"""Guardrails + drift cost per token, against the floor, at 2,000 and 50,000 tokens.

Workload (the core benchmark's): a zero-delay async generator of plain ``str`` word tokens.
The words are drawn from a fixed vocabulary with a seeded RNG (so the text is not a literal
loop, which drift detection would rightly flag), built once, outside the timed region.

Floor: one pass-through async generator that keeps the text (list append) and builds one
``l0.Event`` per token. Scenarios, interleaved in every round (median of ``--rounds``):

- ``core``: ``l0.run`` with no features and no timeout.
- ``core_stack``: the core part of ``full``: inter-token timeout and continuation, no
  guardrails, no drift.
- ``guards``: json + markdown + zero-output rules.
- ``full_noop_hooks``: ``full`` with a do-nothing rule and detector: what the runtime itself
  spends on calling the hooks and emitting their events.
- ``full``: json + markdown + zero-output rules, ``DriftDetector()``, an inter-token timeout
  and continuation (checkpoints); ``full + on_event`` adds a listener, so every lifecycle
  event is built and delivered (``CHECKPOINT_SAVED`` every 20 tokens among them).
- ``recommended``: the ``recommended()`` preset + drift + timeout + continuation.

Run: ``python benchmarks/bench_guardrails.py [--rounds 30] [--check]`` (timing and the
ratios come from ``benchmarks/harness.py``: CPU time, per-round ratios to the floor). Every run checks
that all tokens came through and that no violation or drift was reported.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import print_table, run_rounds

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
    guards = (json_rule, markdown_rule, zero_output_rule)
    return {
        "floor": floor,
        "core": lambda t: _run(t, timeout=_NO_TIMEOUT),
        "core_stack": lambda t: _run(t, timeout=_TIMEOUT, continuation=True),
        "guards": lambda t: _run(t, timeout=_NO_TIMEOUT, guardrails=[g() for g in guards]),
        "full_noop_hooks": lambda t: _run(
            t,
            timeout=_TIMEOUT,
            guardrails=[_NoopRule()],
            drift=_NoopDrift(),
            continuation=True,
        ),
        # The "full stack": json, markdown and zero-output guardrails, drift,
        # checkpoints (continuation: the checkpoint is always the delivered text) and an
        # inter-token timeout.
        "full": lambda t: _run(
            t,
            timeout=_TIMEOUT,
            guardrails=[g() for g in guards],
            drift=DriftDetector(),
            continuation=True,
        ),
        # ... plus an on_event listener: every lifecycle event (CHECKPOINT_SAVED every 20
        # tokens among them) is built and delivered.
        "full + on_event": lambda t: _run(
            t,
            timeout=_TIMEOUT,
            guardrails=[g() for g in guards],
            drift=DriftDetector(),
            continuation=True,
            on_event=_noop,
        ),
        "recommended": lambda t: _run(
            t, timeout=_TIMEOUT, guardrails=recommended(), drift=True, continuation=True
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--sizes", type=int, nargs="*", default=[2000, 50000])
    parser.add_argument("--check", action="store_true", help="fail when a target is missed")
    args = parser.parse_args()
    token_lists = {n: make_tokens(n) for n in args.sizes}

    def bind(fn: Callable[[list[str]], Coroutine[Any, Any, int]]) -> Any:
        return lambda n: fn(token_lists[n])

    cases = [(name, bind(fn)) for name, fn in scenarios().items()]
    rows = run_rounds(cases, args.sizes, args.rounds)
    ratios = print_table(rows)
    us = {(r.name, r.n): r.us_per_token for r in rows}
    small, big = min(args.sizes), max(args.sizes)
    scale = us[("full", big)] / us[("full", small)]
    print(f"full: µs/token at {big} / at {small} = {scale:.2f}")
    checks = [
        ("full stack <= 3x floor", ratios[("full", small)] <= 3.0),
        ("full stack scaling <= 1.2", scale <= 1.2),
    ]
    for label, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}")
    return 0 if (all(ok for _, ok in checks) or not args.check) else 1


if __name__ == "__main__":
    sys.exit(main())
