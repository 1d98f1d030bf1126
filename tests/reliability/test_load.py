"""Issue 20's faulted load run: concurrent sessions through the real openai SDK against the
chaos server (serving from its own thread), each session's first request faulted (drops
between events and inside one, stalls, 429 with Retry-After, 503, malformed chunks,
truncation, in-band errors), continuation on with restated overlap.

Asserted: 100% of sessions exact (what the consumer was given is the answer, byte for
byte), 0 duplicated characters, no RESET, and nothing leaked (sockets, tasks). Measured
and printed: stall-detection lateness (p50/p99) and event-loop lag (probe and ``LOOP_LAG``).
``L0_LOAD_SESSIONS`` sessions (500 is the issue's bar; CI runs fewer).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import l0
from l0.chaos import HEADER
from l0.testing.chaos import chaos_server, openai_client

SESSIONS = int(os.environ.get("L0_LOAD_SESSIONS", "20"))
pytestmark = [pytest.mark.reliability, pytest.mark.anyio, pytest.mark.timeout(max(60, SESSIONS))]

USER = [{"role": "user", "content": "Tell me about reliable streams."}]
FAULTS = (
    "ok",
    "drop_after_tokens=7",
    "drop_after_bytes=300",  # inside an SSE event
    "stall_after_tokens=5",
    "status=429,retry_after=0.05",
    "status=503",
    "malformed_after_tokens=9",
    "truncate_after_tokens=11",
    "inband_error=6",
    "drop_after_tokens=20,close=fin",
)
STALL = 1.0  # inter-token limit (seconds)
OPTIONS: dict[str, Any] = {
    "continuation": True,
    "retry": l0.Retry(attempts=4, max_retries=6, backoff="fixed", base_delay=0.01),
    "timeout": l0.Timeout(initial_token=10.0, inter_token=STALL),
}


@dataclass
class Session:
    text: str = ""
    result: l0.Result | None = None
    resets: int = 0
    stall_lateness: list[float] = field(default_factory=list)
    loop_lag: list[float] = field(default_factory=list)


def _sockets() -> int:
    fds = os.listdir("/proc/self/fd")
    count = 0
    for fd in fds:
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return count


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _session(client: Any, fault: str, out: Session) -> None:
    def on_event(ev: l0.ObservabilityEvent) -> None:
        if ev.name == "TIMEOUT_TRIGGERED":
            out.stall_lateness.append(ev.data["elapsed"] - ev.data["timeout"])
        elif ev.name == "LOOP_LAG":
            out.loop_lag.append(ev.data["lag"])

    def src(attempt: l0.Attempt) -> Any:
        return client.chat.completions.create(
            model="gpt-chaos",
            messages=attempt.continuation_messages(USER),
            stream=True,
            extra_headers={HEADER: fault if attempt.number == 1 else "ok"},
        )

    async with l0.stream(src, on_event=on_event, **OPTIONS) as stream:
        async for ev in stream:
            if ev.type is l0.EventType.TOKEN:
                out.text += ev.text or ""
            elif ev.type is l0.EventType.RESET:
                out.resets += 1
    out.result = stream.result


async def test_faulted_load_is_exact_with_nothing_leaked() -> None:
    gc.collect()
    sockets_before = _sockets()
    tasks_before = len(asyncio.all_tasks())
    probe: list[float] = []
    done = anyio.Event()

    async def lag_probe() -> None:
        while not done.is_set():
            start = time.monotonic()
            await anyio.sleep(0.02)
            probe.append(time.monotonic() - start - 0.02)

    sessions = [Session() for _ in range(SESSIONS)]
    started = time.monotonic()
    with chaos_server(restate=4) as server:
        async with openai_client(server) as client, anyio.create_task_group() as tg:
            tg.start_soon(lag_probe)
            async with anyio.create_task_group() as runs:
                for i, s in enumerate(sessions):
                    runs.start_soon(_session, client, FAULTS[i % len(FAULTS)], s)
            done.set()
        answer = server.answer
        requests = len(server.requests)
    wall = time.monotonic() - started
    for _ in range(5):
        await anyio.lowlevel.checkpoint()
    gc.collect()

    exact = sum(
        s.text == answer and s.result is not None and s.result.text == answer for s in sessions
    )
    duplicated = sum(max(len(s.text) - len(answer), 0) for s in sessions)
    resets = sum(s.resets for s in sessions)
    leaked_sockets = _sockets() - sockets_before
    leaked_tasks = len(asyncio.all_tasks()) - tasks_before
    lateness = [x for s in sessions for x in s.stall_lateness]
    lag_events = [x for s in sessions for x in s.loop_lag]
    print(
        f"\nload: {SESSIONS} sessions, {requests} requests, {wall:.1f} s; "
        f"exact {100 * exact / SESSIONS:.1f}%, duplicated chars {duplicated}, resets {resets}, "
        f"leaked sockets {leaked_sockets}, leaked tasks {leaked_tasks}; "
        f"stalls {len(lateness)}: lateness p50 {pct(lateness, 0.5) * 1000:.0f} ms "
        f"p99 {pct(lateness, 0.99) * 1000:.0f} ms; loop lag probe p50 "
        f"{pct(probe, 0.5) * 1000:.1f} ms p99 {pct(probe, 0.99) * 1000:.1f} ms max "
        f"{max(probe, default=0) * 1000:.0f} ms ({len(probe)} samples); LOOP_LAG events "
        f"{len(lag_events)} (max {max(lag_events, default=0) * 1000:.0f} ms)"
    )
    assert exact == SESSIONS
    assert duplicated == 0
    assert resets == 0
    assert leaked_sockets <= 0
    assert leaked_tasks <= 0
    stalled = sum(1 for i in range(SESSIONS) if FAULTS[i % len(FAULTS)].startswith("stall"))
    assert len(lateness) >= stalled  # every stalled first request was cut
