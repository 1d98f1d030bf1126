"""The sync/async traps a new user meets (issue 12, item 2): each detected and explained.

- ``l0.run_sync`` called from the thread of a running loop that serves the source: a clear
  ``RuntimeError`` (the loop is blocked, nothing can answer), not a silent hang;
- the same call with a source that does not need that loop (a notebook): it works;
- a sync SDK client inside async ``l0.run``: its ``create`` blocks the loop; one warning per
  run, naming the fix.

(Ctrl-C in ``stream_sync`` / ``run_sync``: tests/unit/core/test_sync_bridge.py.)
"""

from __future__ import annotations

import logging
import time

import pytest

import l0
from l0.chaos import ChaosServer
from l0.runtime.sync import LOOP_THREAD_GRACE
from l0.testing import FakeClock
from l0.testing.chaos import openai_client

MESSAGES = [{"role": "user", "content": "Tell me a story"}]
pytestmark = pytest.mark.anyio


async def test_run_sync_on_the_loop_that_serves_the_source_raises_instead_of_hanging() -> None:
    async with ChaosServer() as server, openai_client(server) as client:  # served by this loop
        started = time.monotonic()
        with pytest.raises(RuntimeError, match="thread of a running event loop") as caught:
            l0.run_sync(  # blocks this loop: the server cannot answer
                lambda: client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            )
        waited = time.monotonic() - started
    assert "await l0.run(...)" in str(caught.value)
    assert LOOP_THREAD_GRACE <= waited < LOOP_THREAD_GRACE + 10  # not the 60 s timeouts


async def test_run_sync_from_a_loop_thread_works_when_the_source_does_not_need_the_loop() -> None:
    seen: list[str] = []
    started = time.monotonic()
    result = l0.run_sync(lambda: iter(["Hello, ", "world"]), on_event=lambda e: seen.append(e.name))
    assert result.text == "Hello, world"
    assert seen[0] == "SESSION_START" and seen[-1] == "SESSION_END"  # the user's handler
    assert time.monotonic() - started < LOOP_THREAD_GRACE  # no waiting for the grace


async def test_run_sync_from_a_loop_thread_with_a_threaded_server_works() -> None:
    # Served from its own thread: this loop is not needed. (A sync client: an async one's
    # connections would belong to run_sync's own loop, gone when it returns.)
    with ChaosServer() as server, openai_client(server, sync=True) as client:
        result = l0.run_sync(
            lambda: client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        )
    assert result.text == server.answer


async def test_a_sync_client_in_async_run_warns_once_per_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Headers 0.3 s late on every request: each sync create() blocks the loop that long.
    with (
        ChaosServer("delay=0.3,drop_after_tokens=3; delay=0.3") as server,
        openai_client(server, sync=True) as client,
        caplog.at_level(logging.WARNING, "l0"),
    ):
        result = await l0.run(
            lambda attempt: client.chat.completions.create(
                model="m", messages=attempt.continuation_messages(MESSAGES), stream=True
            ),
            continuation=True,
            clock=FakeClock(),
        )
    assert result.text == server.answer
    assert len(server.requests) == 2  # two blocking calls ...
    warnings = [r for r in caplog.records if "blocked the event loop" in r.getMessage()]
    assert len(warnings) == 1  # ... one warning
    message = warnings[0].getMessage()
    assert "AsyncOpenAI" in message and "Stream" in message and "once per run" in message


async def test_an_async_client_in_async_run_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    async with ChaosServer("delay=0.3") as server, openai_client(server) as client:
        with caplog.at_level(logging.WARNING, "l0"):
            result = await l0.run(
                lambda: client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            )
    assert result.text == server.answer
    assert "blocked the event loop" not in caplog.text
