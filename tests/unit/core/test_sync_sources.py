"""Sync sources that may block are read in one worker thread per attempt: the event loop keeps
running, stall timeouts fire, cancellation stops the thread and closes the iterator."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import anyio
import anyio.lowlevel
import anyio.to_thread
import pytest

import l0

pytestmark = pytest.mark.anyio


class Blocking:
    """A sync source whose reads block on events only the test (on the loop) can set."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.closed = threading.Event()
        self.threads: list[str] = []

    def gen(self, wait: float = 5.0) -> Iterator[str]:
        try:
            for word in ("one ", "two ", "three"):
                self.threads.append(threading.current_thread().name)
                yield word
                # a blocking read (e.g. httpx.Client) after the first word
                if word == "one " and not self.go.wait(wait):
                    yield "[the loop was blocked] "
        finally:
            self.closed.set()


async def test_a_blocking_read_leaves_the_loop_free() -> None:
    """The generator waits for an event that a task on the loop sets: read on the loop it
    would deadlock (and say so); read in a thread it gets it."""
    src = Blocking()

    async def release() -> None:
        await anyio.sleep(0.02)
        src.go.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(release)
        result = await l0.run(src.gen)
    assert result.text == "one two three"
    # one worker thread per attempt, the same for every item (no hop per token)
    assert set(src.threads) == {"l0-sync-source"}
    assert src.closed.is_set()


async def test_the_inter_token_timeout_fires_and_the_stalled_iterator_is_closed() -> None:
    first, second = Blocking(), Blocking()
    second.go.set()
    sources = iter([first, second])
    result = await l0.run(
        lambda: next(sources).gen(wait=2),
        timeout=l0.Timeout(inter_token=0.1),
        retry=l0.Retry(backoff="fixed", base_delay=0.0),
    )
    assert result.text == "one two three"
    assert [type(e).__name__ for e in result.errors] == ["StreamTimeoutError"]
    first.go.set()  # its blocked read returns: the thread stops pulling and closes it
    assert await anyio.to_thread.run_sync(first.closed.wait, 2)


async def test_cancellation_stops_the_worker_and_closes_the_iterator() -> None:
    src = Blocking()
    with anyio.move_on_after(0.1) as scope:
        await l0.run(src.gen)
    assert scope.cancelled_caught
    src.go.set()
    assert await anyio.to_thread.run_sync(src.closed.wait, 2)
    # the read that was blocked completes; nothing more is pulled after it
    assert len(src.threads) <= 2


async def test_an_error_in_the_worker_reaches_the_loop_typed() -> None:
    calls = 0

    def gen() -> Iterator[str]:
        nonlocal calls
        calls += 1
        yield "partial "
        if calls == 1:
            raise ConnectionResetError("peer reset")
        yield "whole"

    result = await l0.run(gen, retry=l0.Retry(backoff="fixed", base_delay=0.0))
    assert result.text == "partial whole"
    assert [type(e).__name__ for e in result.errors] == ["NetworkError"]


async def test_a_long_sync_source_is_read_whole_and_in_order() -> None:
    words = [f"w{i} " for i in range(3000)]  # more than the hand-off buffer
    result = await l0.run(lambda: (w for w in words))
    assert result.text == "".join(words)


def test_in_memory_sequences_are_read_inline() -> None:
    from l0.adapters.text import TEXT_ADAPTER
    from l0.adapters.threaded import ThreadedIterator

    for inline in (["a"], ("a",), iter(["a"])):
        assert not isinstance(TEXT_ADAPTER.open(inline).chunks, ThreadedIterator)
    assert isinstance(TEXT_ADAPTER.open(x for x in "a").chunks, ThreadedIterator)


@pytest.mark.parametrize("stop", ["break", "cancel"])
async def test_leaving_early_returns_after_the_source_is_closed(stop: str) -> None:
    """A generator paused ahead of the consumer is closed by its thread *before* the caller
    goes on (its ``finally`` ran), however late the thread is scheduled."""
    events: list[str] = []

    def gen() -> Iterator[str]:
        try:
            for i in range(1000):  # more than the hand-off buffer: the thread pauses
                yield f"t{i} "
        finally:
            threading.Event().wait(0.05)  # a slow close (a late thread, a loaded machine)
            events.append("source closed")

    with anyio.CancelScope() as scope:
        async with l0.stream(gen) as stream:
            async for event in stream:
                if event.text == "t3 ":
                    if stop == "cancel":
                        scope.cancel()
                        await anyio.lowlevel.checkpoint()
                    break
    events.append("caller goes on")
    assert events == ["source closed", "caller goes on"]


async def test_closing_does_not_wait_for_a_source_blocked_in_a_read() -> None:
    """A stall's retry is not delayed by the blocked read it abandons."""
    src = Blocking()
    start = anyio.current_time()
    result = await l0.run(
        lambda: src.gen(wait=5),
        timeout=l0.Timeout(inter_token=0.1),
        retry=l0.Retry(attempts=1, backoff="fixed", base_delay=0.0),
        fallbacks=[["fallback"]],
    )
    assert result.text == "fallback"
    assert anyio.current_time() - start < 1.0
    src.go.set()
    assert await anyio.to_thread.run_sync(src.closed.wait, 2)
