"""Random sources with random faults, for the record/replay property tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio.lowlevel
from hypothesis import strategies as st

import l0
from l0.testing import FakeClock

WORDS = ["alpha ", "beta ", "gamma ", "delta ", "eps ", "zeta ", "eta, ", "theta. "]
FAULTS = ("ok", "drop", "rate_limit", "stall", "violation", "server")


@st.composite
def attempt_scripts(draw: Any) -> tuple[list[str], str]:
    """One attempt: tokens, then how it ends."""
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=12))
    return words, draw(st.sampled_from(FAULTS))


sources = st.lists(st.lists(attempt_scripts(), min_size=1, max_size=4), min_size=1, max_size=3)


class FaultySource:
    """Attempt ``n`` plays script ``n`` (the last repeats): tokens, then the fault."""

    def __init__(
        self, scripts: list[tuple[list[str], str]], clock: FakeClock, restate: bool
    ) -> None:
        self.scripts = scripts
        self.clock = clock
        self.restate = restate
        self.calls = 0

    def __call__(self, attempt: l0.Attempt) -> AsyncIterator[str]:
        words, fault = self.scripts[min(self.calls, len(self.scripts) - 1)]
        self.calls += 1
        if fault == "rate_limit" and len(words) % 3 == 0:
            # A 429 before the stream opens (the factory's request fails).
            raise l0.RateLimitError("429 too many requests", retry_after=2.0, status_code=429)
        if attempt.checkpoint and self.restate:
            # A resumed stream restates the end of what it was sent (overlap to remove).
            sent = attempt.checkpoint.split(" ")
            words = [w + " " for w in sent[-3:-1]] + words
        return self._play(words, fault)

    async def _play(self, words: list[str], fault: str) -> AsyncIterator[str]:
        for i, word in enumerate(words):
            if fault == "violation" and i == len(words) // 2:
                yield "As an AI language model, I "
            yield word
        if fault == "drop":
            raise ConnectionResetError("connection reset by peer")
        if fault == "rate_limit":
            raise l0.RateLimitError("429 too many requests", retry_after=2.0, status_code=429)
        if fault == "server":
            raise l0.ServerError("503 overloaded", status_code=503)
        if fault == "stall":
            for _ in range(8):  # the watchdog (on the fake clock) cuts this
                self.clock.advance(40.0)
                await anyio.lowlevel.checkpoint()


def run_options(
    scripts: list[list[tuple[list[str], str]]], clock: FakeClock, restate: bool, **extra: Any
) -> tuple[dict[str, Any], list[FaultySource]]:
    """Options for a live run; ``restate``: resumed attempts restate the checkpoint's end
    (the source then answers what it was sent, which only an exact replay reproduces)."""
    made = [FaultySource(s, clock, restate) for s in scripts]
    options: dict[str, Any] = {
        "fallbacks": made[1:],
        "clock": clock,
        "timeout": l0.Timeout(initial_token=None, inter_token=30.0),
        "guardrails": [l0.guardrails.pattern_rule()],
        "check_intervals": l0.CheckIntervals(guardrails=2, checkpoint=3),
        "continuation": True,
        **extra,
    }
    return options, made
