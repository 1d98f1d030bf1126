"""Plumbing between LangChain's execution model and the l0 core.

- :func:`isolated`: LangChain reads every chunk of a stream in a *new* asyncio task
  (``coro_with_context`` creates one per ``anext``), while the l0 stall watchdog interrupts
  the task that reads the provider. The l0 stream therefore runs in one task of its own and
  hands its outputs over through a one-slot queue.
- :class:`ThreadedChunks` (the one in :mod:`l0.adapters._common`): a sync iterator read on
  worker threads, so the sync execution paths drive the inner runnable's own sync
  ``stream()`` (its sync HTTP client) while the l0 core runs on a portal thread.
- :func:`call_blocking` / :func:`iterate_blocking`: the sync facades, over an anyio
  blocking portal (safe with no event loop and inside a running loop's thread).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import anyio.from_thread

from l0.adapters._common import ThreadedChunks

__all__ = [
    "ThreadedChunks",
    "call_blocking",
    "closing",
    "isolated",
    "iterate_blocking",
]

T = TypeVar("T")
_STOP = object()


class _Failed:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


async def isolated(items: AsyncGenerator[T, None]) -> AsyncGenerator[T, None]:
    """Iterate ``items`` in a task of its own; closing this generator cancels that task.

    The producer runs at most one item ahead of the consumer.
    """
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1)

    async def produce() -> None:
        try:
            async with contextlib.aclosing(items):
                async for item in items:
                    await queue.put(item)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the consumer, which re-raises it
            await queue.put(_Failed(exc))
        else:
            await queue.put(_STOP)

    task = asyncio.get_running_loop().create_task(produce())
    try:
        while True:
            item = await queue.get()
            if item is _STOP:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        if not task.done():
            task.cancel()
            await asyncio.wait([task])


@contextlib.asynccontextmanager
async def closing(items: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """Close ``items`` (an async generator typed as an iterator) on exit, not at GC."""
    try:
        yield items
    finally:
        closer = getattr(items, "aclose", None)
        if closer is not None:
            await closer()


def call_blocking(fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``fn()`` to completion on a portal thread and return its result."""
    with anyio.from_thread.start_blocking_portal() as portal:
        return portal.call(fn)


def iterate_blocking(make: Callable[[], AsyncIterator[T]]) -> Iterator[T]:
    """Iterate the async iterator ``make()`` from sync code, on a portal thread.

    Leaving the loop early closes the async iterator (and so the provider stream).
    """
    with anyio.from_thread.start_blocking_portal() as portal:
        agen = make()
        try:
            while True:
                try:
                    item = portal.call(agen.__anext__)
                except StopAsyncIteration:
                    return
                yield item
        finally:
            closer = getattr(agen, "aclose", None)
            if closer is not None:
                portal.call(closer)
