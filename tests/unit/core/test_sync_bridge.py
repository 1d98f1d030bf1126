"""The sync facades: stall timeouts, early exit, Ctrl-C and misspelt options.

``stream_sync`` runs the whole iteration in one task on a portal thread, so the stall watchdog
interrupts the provider read as it does for ``l0.stream`` (it used to run each step in a new
portal task: the stall was not cut and the run then failed with an invalid transition).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import l0
from l0.testing import ScriptedSource, stall

TOKEN = l0.EventType.TOKEN
NO_WAIT = l0.Retry(backoff="fixed", base_delay=0.0)


def test_stream_sync_cuts_an_inter_token_stall_at_its_deadline_and_recovers() -> None:
    seen: list[l0.ObservabilityEvent] = []
    source = ScriptedSource(["Hel", "lo", stall(5)], ["Hello world"])
    events = list(
        l0.stream_sync(
            source, timeout=l0.Timeout(inter_token=0.1), retry=NO_WAIT, on_event=seen.append
        )
    )
    assert [(e.type.value, e.text) for e in events[:-1]] == [
        ("token", "Hel"), ("token", "lo"), ("reset", None), ("token", "Hello world"),
    ]  # fmt: skip
    assert events[-1].type is l0.EventType.COMPLETE
    assert events[-1].data.text == "Hello world"
    (timeout,) = [e for e in seen if e.name == "TIMEOUT_TRIGGERED"]
    assert timeout.data["kind"] == "inter_token"
    # Cut within 50 ms of the deadline (the stall itself would last 5 s).
    assert 0.1 <= timeout.data["elapsed"] <= 0.15
    last_token = max(e.ts for e in events[:2])
    assert 0.1 <= timeout.ts - last_token <= 0.15
    assert source.calls == 2 and source.closed == 2


def test_stream_sync_reads_every_step_in_one_task() -> None:
    tasks: set[Any] = set()

    async def source() -> AsyncIterator[str]:
        for word in ("a", "b", "c"):
            tasks.add(anyio.get_current_task().id)
            yield word

    text = "".join(e.text or "" for e in l0.stream_sync(source) if e.type is TOKEN)
    assert text == "abc"
    assert len(tasks) == 1


def test_leaving_stream_sync_early_closes_the_provider_stream_before_going_on() -> None:
    closed = threading.Event()

    async def source() -> AsyncIterator[str]:
        try:
            yield "first"
            await anyio.Event().wait()  # a stall that only closing the stream ends
            yield "never"
        finally:
            closed.set()

    for event in l0.stream_sync(source):
        assert event.text == "first"
        break
    assert closed.is_set()


def test_stream_sync_raises_the_runs_error() -> None:
    source = ScriptedSource([l0.testing.fail(l0.AuthenticationError("bad key"))])
    with pytest.raises(l0.AuthenticationError):
        for _ in l0.stream_sync(source, retry=NO_WAIT):
            pass


_CTRL_C = """
import os, signal, sys, threading
import anyio, l0

async def source():
    try:
        yield "first"
        # Ctrl-C while the caller's thread waits for the next token (a stalled provider).
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
        await anyio.Event().wait()  # a stall that only Ctrl-C ends
        yield "never"
    finally:
        print("provider closed", flush=True)

no_timeout = l0.Timeout(initial_token=None, inter_token=None)
try:
    if sys.argv[1] == "stream_sync":
        for event in l0.stream_sync(source, timeout=no_timeout):
            pass
    else:
        l0.run_sync(source, timeout=no_timeout)
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
"""


@pytest.mark.parametrize("entry", ["stream_sync", "run_sync"])
def test_ctrl_c_while_waiting_raises_keyboard_interrupt_and_closes_the_provider(
    entry: str,
) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_CTRL_C), entry],
        capture_output=True,
        text=True,
        timeout=25,
    )
    assert proc.stdout.splitlines() == ["provider closed", "KeyboardInterrupt"], proc.stderr
    assert "RuntimeError" not in proc.stderr and "aclose()" not in proc.stderr, proc.stderr
    assert proc.returncode == 0


@pytest.mark.parametrize(
    ("call", "where"),
    [
        (lambda: l0.stream(["a"], fallback=[]), "l0.stream"),
        (lambda: l0.run_sync(["a"], retires=NO_WAIT), "l0.run_sync"),
        (lambda: l0.stream_sync(["a"], time_out=l0.Timeout()), "l0.stream_sync"),
    ],
)
def test_a_misspelt_option_names_the_closest_valid_one(call: Any, where: str) -> None:
    with pytest.raises(TypeError) as info:
        call()  # stream_sync fails at the call, not at the first step
    message = str(info.value)
    assert message.startswith(f"{where}() got an unknown option")
    assert "did you mean" in message


@pytest.mark.anyio
async def test_run_names_the_closest_valid_option() -> None:
    with pytest.raises(
        TypeError, match=r"l0\.run\(\) got an unknown option 'on_events'; did you mean 'on_event'\?"
    ):
        await l0.run(["a"], on_events=print)


def test_an_option_with_no_close_match_lists_the_valid_ones() -> None:
    with pytest.raises(TypeError, match=r"unknown option 'zzz'; valid options: adapter, breaker"):
        l0.stream(["a"], zzz=1)


@pytest.mark.anyio
async def test_a_fake_clock_drives_a_stall_timeout_without_real_waiting() -> None:
    clock = l0.testing.FakeClock()
    stalled = anyio.Event()
    calls = 0

    async def source() -> AsyncIterator[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            yield "Hel"
            stalled.set()
            await anyio.Event().wait()  # a provider that never sends again
        yield "Hello"

    seen: list[l0.ObservabilityEvent] = []
    texts: list[str | None] = []

    async def consume() -> None:
        async with l0.stream(
            source,
            clock=clock,
            timeout=l0.Timeout(initial_token=None, inter_token=30.0),
            retry=NO_WAIT,
            on_event=seen.append,
        ) as s:
            async for event in s:
                texts.append(event.text)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            await stalled.wait()
            clock.advance(29.0)  # not yet: still inside the 30 s deadline
            await anyio.lowlevel.checkpoint()
            assert not [e for e in seen if e.name == "TIMEOUT_TRIGGERED"]
            clock.advance(2.0)
    (timeout,) = [e for e in seen if e.name == "TIMEOUT_TRIGGERED"]
    assert timeout.data["kind"] == "inter_token"
    assert timeout.data["elapsed"] == pytest.approx(31.0)
    assert texts == ["Hel", None, "Hello", None]  # token, reset, token, complete
    assert calls == 2


_CTRL_C_IN_BODY = """
import _thread, time
import l0

def source():
    try:
        for i in range(1000):
            yield f"t{i} "
    finally:
        print("provider closed", flush=True)

try:
    for event in l0.stream_sync(source):
        if event.text == "t3 ":
            _thread.interrupt_main()  # Ctrl-C while the caller's loop body runs
            time.sleep(0.2)
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
"""


def test_ctrl_c_in_the_stream_sync_loop_body_raises_keyboard_interrupt() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_CTRL_C_IN_BODY)],
        capture_output=True,
        text=True,
        timeout=25,
    )
    assert proc.stdout.splitlines() == ["provider closed", "KeyboardInterrupt"], proc.stderr
    assert "RuntimeError" not in proc.stderr and "aclose()" not in proc.stderr, proc.stderr
    assert proc.returncode == 0
