"""User regexes cannot block the event loop: a pre-compiled stdlib pattern is recompiled on
the ``regex`` engine with the per-search time limit; a search that times out is a violation
at the rule's severity, and other coroutines (and the stream's timeouts) keep running."""

from __future__ import annotations

import re
import time

import anyio
import pytest

import l0
from l0.guardrails import custom_pattern_rule

pytestmark = [pytest.mark.reliability, pytest.mark.anyio]
pytest.importorskip("regex")


async def _ticks_while(coro_fn: object) -> tuple[int, float]:
    """Run ``coro_fn`` while a ticker counts 10 ms turns of the loop; (ticks, seconds)."""
    ticks = 0
    done = anyio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            await anyio.sleep(0.01)
            ticks += 1

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        try:
            await coro_fn()  # type: ignore[operator]
        finally:
            done.set()
    return ticks, time.perf_counter() - start


async def test_a_compiled_catastrophic_pattern_does_not_freeze_the_loop() -> None:
    rule = custom_pattern_rule(re.compile(r"(a+)+$"), max_match=64)

    async def run() -> None:
        result = await l0.run(lambda: ["a" * 30, "a" * 30, "!"], guardrails=[rule])
        assert result.text == "a" * 60 + "!"

    _, took = await _ticks_while(run)
    assert took < 2.0  # on the stdlib engine one search took seconds


async def test_a_search_that_times_out_is_a_violation_at_the_rules_severity() -> None:
    rule = custom_pattern_rule(
        re.compile(r"(x+x+)+y"), max_match=2000, timeout=0.02, recoverable=False
    )

    async def run() -> None:
        with pytest.raises(l0.L0Error) as info:
            await l0.run(
                lambda: ["x" * 1500, "x" * 1500],
                guardrails=[rule],
                retry=l0.Retry(attempts=0, max_retries=0),
            )
        err = info.value
        violations = getattr(err, "violations", None) or getattr(
            getattr(err, "last_error", None), "violations", []
        )
        assert any("timed out" in v.message for v in violations)
        assert all(v.severity.value == "error" for v in violations)

    _, took = await _ticks_while(run)
    assert took < 5.0


async def test_the_stream_timeout_still_fires_with_a_slow_pattern() -> None:
    rule = custom_pattern_rule(
        re.compile(r"(x+x+)+y"), severity="warning", max_match=2000, timeout=0.02
    )

    async def source():  # type: ignore[no-untyped-def]
        yield "x" * 1500
        await anyio.Event().wait()  # a stall: inter_token must cut it
        yield "never"

    with pytest.raises(l0.L0Error) as info:
        await l0.run(
            source,
            guardrails=[rule],
            timeout=l0.Timeout(inter_token=0.3),
            retry=l0.Retry(attempts=0, max_retries=0),
        )
    assert "timeout" in str(info.value).lower()
