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

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Generic, TypeVar

import anyio
import anyio.from_thread
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = ["iterate_blocking"]

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
