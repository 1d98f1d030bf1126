"""Exact replay of a real-clock recording made while the event loop was busy (a consumer
that blocks it, so timers fire late and while the consumer holds the stream)."""

from __future__ import annotations

import time

import anyio
import pytest

import l0
from l0.testing import ScriptedSource, drop, stall, tokens

TEXT = "The quick brown fox jumps over the lazy dog, twice over."


def _source() -> ScriptedSource:
    return ScriptedSource(
        [*tokens(TEXT[:12]), stall(0.2), *tokens(TEXT[12:])],
        [*tokens(TEXT[:20]), drop()],
        [*tokens(TEXT)],
    )


@pytest.mark.parametrize("block", [0.03, 0.08])
def test_real_clock_recording_made_under_load_replays_byte_for_byte(block: float) -> None:
    async def main() -> None:
        store = l0.MemoryStore()
        async with l0.stream(
            _source(),
            retry=l0.Retry(backoff="fixed", base_delay=0.01),
            timeout=l0.Timeout(initial_token=1.0, inter_token=0.05),
            continuation=True,
            record=store,
        ) as s:
            i = 0
            async for ev in s:
                if ev.type is l0.EventType.TOKEN:
                    i += 1
                    if i % 3 == 0:
                        time.sleep(block)  # noqa: ASYNC251 - the consumer blocks the loop (load)
        assert s.result is not None and s.result.text == TEXT
        rep = await l0.replay(store, store.keys()[0])
        assert rep.exact and rep.identical, rep.first_difference
        assert rep.text == TEXT

    anyio.run(main)


def test_the_loop_lag_the_live_run_measured_is_played_back() -> None:
    """A consumer blocks the loop past a pending inter-token deadline: the live run measures
    the lag (``LOOP_LAG``, ``Telemetry.loop_lag``) and the exact replay reports the same."""

    async def main() -> None:
        store = l0.MemoryStore()
        async with l0.stream(
            ScriptedSource([*tokens(TEXT[:12]), stall(0.3), *tokens(TEXT[12:])], [*tokens(TEXT)]),
            retry=l0.Retry(backoff="fixed", base_delay=0.01),
            timeout=l0.Timeout(initial_token=1.0, inter_token=0.05),
            continuation=True,
            record=store,
        ) as s:
            blocked = False
            async for ev in s:
                if ev.type is l0.EventType.TOKEN and not blocked:
                    blocked = True
                    time.sleep(0.3)  # noqa: ASYNC251 - the consumer blocks the loop (load)
        assert s.result is not None and s.result.text == TEXT
        lag = s.result.telemetry.loop_lag
        assert lag is not None and lag > 0.1
        rep = await l0.replay(store, store.keys()[0])
        assert rep.exact and rep.identical, rep.first_difference
        assert rep.result is not None and rep.result.telemetry.loop_lag == lag
        assert [e.name for e in rep.lifecycle].count("LOOP_LAG") == 1

    anyio.run(main)
