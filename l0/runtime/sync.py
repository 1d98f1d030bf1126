"""The sync bridge: iterate an async iterator from blocking code, on one anyio portal.

Every step of the iteration runs in **one** long-lived task on the portal's event loop (the
*pump*), never in a fresh task per step: the stall watchdog binds to the task that reads the
provider and interrupts exactly that one, and the async generator is only ever resumed, closed
or cancelled by the task that owns it. The blocking side asks for each item with one portal
call (pull, as ``async for`` would: nothing is read ahead).

Leaving the loop early (``break``, an exception, ``KeyboardInterrupt`` while waiting) cancels
the pump and waits for it: the provider stream is closed before the caller goes on, and a
Ctrl-C surfaces as ``KeyboardInterrupt``.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Generic, TypeVar

import anyio
import anyio.from_thread
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = ["call_beside_loop", "iterate_blocking", "loop_running_here", "warn_if_blocked"]

T = TypeVar("T")
_END = object()


class _Failed:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _Pump(Generic[T]):
    """The one task that iterates ``make()``; answers each request with one item."""

    def __init__(self, make: Callable[[], AsyncIterator[T]]) -> None:
        self._make = make
        requests: tuple[MemoryObjectSendStream[None], MemoryObjectReceiveStream[None]]
        requests = anyio.create_memory_object_stream[None](0)
        self._ask, self._asked = requests
        results: tuple[MemoryObjectSendStream[Any], MemoryObjectReceiveStream[Any]]
        results = anyio.create_memory_object_stream[Any](0)
        self._answer, self._answers = results
        self._scope = anyio.CancelScope()
        self._done = anyio.Event()

    async def run(self) -> None:
        try:
            with self._scope:
                iterator = self._make()
                try:
                    async for _ in self._asked:
                        try:
                            item: Any = await iterator.__anext__()
                        except StopAsyncIteration:
                            await self._answer.send(_END)
                            return
                        except Exception as exc:  # handed to the blocking side, raised there
                            await self._answer.send(_Failed(exc))
                            return
                        await self._answer.send(item)
                finally:
                    closer = getattr(iterator, "aclose", None)
                    if closer is not None:
                        with anyio.CancelScope(shield=True):
                            await closer()
        finally:
            self._answer.close()
            self._asked.close()
            self._done.set()

    async def next(self) -> Any:
        """The next item, ``_END``, or a :class:`_Failed` (called through the portal)."""
        try:
            await self._ask.send(None)
            return await self._answers.receive()
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream):
            return _END

    async def stop(self) -> None:
        """Cancel the pump and wait until it has closed the iterator."""
        self._scope.cancel()
        await self._done.wait()
        self._ask.close()
        self._answers.close()


def iterate_blocking(make: Callable[[], AsyncIterator[T]]) -> Iterator[T]:
    """Iterate the async iterator ``make()`` from blocking code (see the module docstring).

    ``make`` is called in the pump task, so the iterator's first step binds to it.
    """
    with anyio.from_thread.start_blocking_portal() as portal:
        pump: _Pump[T] = portal.call(_Pump, make)  # built on the loop (it owns a scope)
        portal.start_task_soon(pump.run)
        try:
            while True:
                item = portal.call(pump.next)
                if item is _END:
                    return
                if isinstance(item, _Failed):
                    raise item.exc
                yield item
        finally:
            portal.call(pump.stop)


LOOP_THREAD_GRACE = 5.0
"""Seconds ``run_sync`` called from an event loop's thread waits for the source to answer."""

# Events a run emits before its source has answered anything.
_NOT_YET = frozenset({"SESSION_START", "ATTEMPT_START", "STREAM_INIT"})


def loop_running_here() -> bool:
    """Whether the calling thread is running an event loop (asyncio or trio)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return True
    trio = sys.modules.get("trio")  # imported already if a trio loop runs
    if trio is None:
        return False
    try:
        trio.lowlevel.current_trio_token()
    except RuntimeError:
        return False
    return True


def call_beside_loop(
    run: Callable[[Callable[[Any], Any]], Awaitable[T]],
    on_event: Callable[[Any], Any] | None,
    *,
    grace: float = LOOP_THREAD_GRACE,
) -> T:
    """Run ``run(handler)`` on a portal from a thread whose own event loop it blocks.

    The calling loop cannot run until this returns, so a source served by it (an in-process
    server, an ASGI app, a client bound to it) can never answer. When the source has answered
    nothing (no stream, no error) within ``grace`` seconds, the run is cancelled and a
    ``RuntimeError`` says why, instead of hanging.
    """
    answered = threading.Event()

    def handler(event: Any) -> Any:
        if event.name not in _NOT_YET:
            answered.set()
        return None if on_event is None else on_event(event)

    with anyio.from_thread.start_blocking_portal() as portal:
        future = portal.start_task_soon(run, handler)
        future.add_done_callback(lambda _: answered.set())
        if not answered.wait(grace):
            future.cancel()
            raise RuntimeError(
                "l0.run_sync was called from the thread of a running event loop, which it "
                f"blocks until it returns, and the source has not answered for {grace:g} s: "
                "a source served by this loop (an in-process server, an ASGI app, a client "
                "bound to this loop) can never answer. Use `await l0.run(...)` here instead."
            )
        return future.result()


BLOCKING_CALL = 0.1
"""Seconds a source factory may block the event loop before ``l0.run`` warns (once)."""

logger = logging.getLogger("l0")


def warn_if_blocked(started: float, obj: object, label: str) -> bool:
    """Warn when a source factory called at ``started`` (``perf_counter``) blocked the loop.

    A sync SDK client's ``create(..., stream=True)`` waits for the response headers on the
    event loop's thread, stalling every other task of the loop. Returns True when it warned.
    """
    blocked = time.perf_counter() - started
    if blocked < BLOCKING_CALL:
        return False
    logger.warning(
        "l0: %s blocked the event loop for %.2f s before returning a %s (a sync SDK client "
        "in async l0.run?): every other task of the loop waited. Use the async client "
        "(AsyncOpenAI, AsyncAnthropic) or l0.run_sync. Warned once per run.",
        label,
        blocked,
        type(obj).__qualname__,
    )
    return True
