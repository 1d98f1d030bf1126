"""The default timeout watches stalls by sampling: no clock read per token, a stall still cut.

With no ``timeout=`` (the default ``Timeout()``) the loop timestamps no plain-text token; the
watchdog's timer looks at the run's progress every ``inter_token / SAMPLES`` seconds, so a
stall is cut between ``inter_token`` and ``inter_token * (1 + 1/SAMPLES)`` after the last
token. An explicit ``timeout=`` keeps exact per-token deadlines. The sampled mechanism is
timed here on a shrunken default (the real one waits 30 s).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

import l0
from l0.runtime import options
from l0.runtime.watchdog import SAMPLES
from l0.testing import ScriptedSource, stall

pytestmark = pytest.mark.anyio
TOKEN = l0.EventType.TOKEN
SLACK = 0.1  # timers under a loaded machine
LIMIT = 0.32  # the shrunken default inter_token: samples every 10 ms


class CountingClock:
    """The real clock, counting ``now()`` reads (not hand-moved: sampling applies)."""

    def __init__(self) -> None:
        self.reads = 0

    def now(self) -> float:
        self.reads += 1
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


@pytest.fixture
def small_default(monkeypatch: pytest.MonkeyPatch) -> l0.Timeout:
    """The default timeout, with a window short enough to time in a test."""
    timeout = l0.Timeout(initial_token=5.0, inter_token=LIMIT)
    monkeypatch.setattr(options, "DEFAULT_TIMEOUT", timeout)
    return timeout


async def _tokens(**opts: Any) -> list[l0.Event]:
    async with l0.stream(lambda: [f"t{i} " for i in range(1000)], **opts) as s:
        return [ev async for ev in s if ev.type is TOKEN]


@pytest.mark.parametrize(
    ("given", "max_reads"),
    [({}, 20), ({"timeout": l0.Timeout()}, None)],
    ids=["default: sampled", "explicit Timeout(): exact"],
)
async def test_default_timeout_reads_no_clock_per_token(
    given: dict[str, Any], max_reads: int | None
) -> None:
    clock = CountingClock()
    events = await _tokens(clock=clock, **given)
    assert "".join(e.text or "" for e in events) == "".join(f"t{i} " for i in range(1000))
    assert events[0].ts > 0  # the first token (TTFT) is always timestamped
    if max_reads is not None:
        assert clock.reads <= max_reads
        assert all(e.ts == 0.0 for e in events[1:])
    else:
        assert clock.reads >= 1000
        assert all(e.ts > 0 for e in events)


async def test_sampled_stall_is_cut_within_one_sample_of_its_deadline(
    small_default: l0.Timeout,
) -> None:
    last_token_at: list[float] = []

    async def source(attempt: l0.Attempt) -> AsyncIterator[str]:
        if attempt.number > 1:
            yield "done"
            return
        for i in range(8):
            last_token_at.append(time.monotonic())
            yield f"w{i} "
            await anyio.sleep(0.02)  # the timer samples between tokens
        await anyio.Event().wait()  # stall (cut by the watchdog)

    seen: list[l0.ObservabilityEvent] = []
    result = await l0.run(
        source, retry=l0.Retry(max_retries=1, base_delay=0.0), on_timeout=seen.append
    )
    assert result.text == "done"
    (cut,) = seen
    assert cut.data["kind"] == "inter_token" and cut.data["timeout"] == LIMIT
    waited = cut.ts - last_token_at[-1]
    # Never early; late by at most one sample period (plus a loaded machine's timer lag).
    assert LIMIT <= waited <= LIMIT * (1 + 1 / SAMPLES) + 0.02 + SLACK


async def test_sampled_stream_with_pauses_below_the_limit_is_never_cut(
    small_default: l0.Timeout,
) -> None:
    script: list[Any] = []
    for i in range(5):
        script += [f"w{i} ", stall(0.1)]
    source = ScriptedSource(script)
    result = await l0.run(source, retry=l0.Retry(max_retries=0))
    assert result.text == "w0 w1 w2 w3 w4 "
    assert result.errors == [] and source.calls == 1


async def test_a_recording_of_a_sampled_run_replays_identically(tmp_path: Any) -> None:
    store = l0.FileStore(tmp_path)
    await l0.run(lambda: ["a", "b", "c"] * 100, record=store, stream_id="s")
    recording = await l0.load_recording(store, "s")
    assert recording.options["timeout_sampled"] is True
    replayed = await l0.replay(recording)
    assert replayed.identical
    assert replayed.result is not None and replayed.result.text == "abc" * 100
