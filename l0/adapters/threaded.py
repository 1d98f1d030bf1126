"""Blocking sync streams read in a worker thread, handed to the event loop through a channel.

A sync source that is not a plain in-memory sequence (a generator doing blocking reads, the
sync client of an SDK, LiteLLM's sync wrapper) must never run on the event loop: one blocking
``next()`` would freeze every request the loop serves, and no timeout could fire.
:class:`ThreadedIterator` gives each attempt **one** worker thread that pulls items and
appends them to a bounded buffer; the loop pops them without a thread hop per item (it
waits only when the buffer is empty, woken by the thread). Stall timeouts, cancellation and
client disconnects act on the loop side at once; closing tells the thread to stop pulling,
closes the SDK stream (which interrupts a blocked read) or, for a generator, closes it in the
thread. Closing waits (up to :data:`CLOSE_WAIT` seconds) until the thread has closed the source,
so its ``finally`` blocks have run before the caller goes on; only a generator blocked inside a
read is left to close itself when that read returns (waiting would delay every retry by it).
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections import deque
from collections.abc import Iterator
from typing import Any, cast

import anyio
import anyio.lowlevel

__all__ = ["ThreadedIterator"]

_BUFFER = 256  # items the thread may read ahead of the consumer
_LOW = _BUFFER // 4  # the consumer wakes a paused thread once the buffer drains below this
CLOSE_WAIT = 2.0
"""Seconds ``aclose`` waits for a worker thread not blocked in a read to close its source."""


class ThreadedIterator:
    """An async iterator over a blocking sync iterable (see the module docstring).

    Args:
        obj: The sync iterable (or a sync context manager when ``enter`` is True).
        enter: Enter ``obj`` (in the worker thread) and iterate what it returns.
    """

    __slots__ = (
        "_done",
        "_enter",
        "_entered",
        "_error",
        "_items",
        "_lock",
        "_notify",
        "_obj",
        "_paused",
        "_reading",
        "_space",
        "_started",
        "_stop",
        "_waiter",
        "thread",
    )

    def __init__(self, obj: Any, *, enter: bool = False) -> None:
        self._obj = obj
        self._enter = enter
        self._entered: Any = None
        self._items: deque[Any] = deque()
        self._lock = threading.Lock()
        self._space = threading.Event()
        self._paused = False
        self._reading = False
        self._done = False
        self._stop = False
        self._started = False
        self._error: BaseException | None = None
        self._waiter: anyio.Event | None = None
        self._notify: Any = None
        self.thread: threading.Thread | None = None

    def __aiter__(self) -> ThreadedIterator:
        return self

    async def __anext__(self) -> Any:
        items = self._items
        if items:  # the fast path: the thread is ahead of us
            item = items.popleft()
            if self._paused and len(items) < _LOW:
                self._paused = False
                self._space.set()
            return item
        if self._stop:
            raise StopAsyncIteration
        if not self._started:
            self._start()
        while True:
            with self._lock:
                if items:
                    return items.popleft()
                if self._done:
                    break
                waiter = self._waiter = anyio.Event()
            await waiter.wait()
        error, self._error = self._error, None
        if error is not None:
            raise error
        raise StopAsyncIteration

    def _start(self) -> None:
        self._started = True
        native = anyio.lowlevel.current_token().native_token
        # asyncio: the loop's call_soon_threadsafe; trio: the TrioToken's run_sync_soon.
        notify = getattr(native, "call_soon_threadsafe", None)
        self._notify = notify if notify is not None else cast(Any, native).run_sync_soon
        ctx = contextvars.copy_context()  # the source sees the caller's context variables
        self.thread = threading.Thread(
            target=ctx.run, args=(self._pump,), name="l0-sync-source", daemon=True
        )
        self.thread.start()

    def _wake(self) -> None:
        """(Worker thread, holding the lock) wake the consumer if it waits."""
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            try:
                self._notify(waiter.set)
            except RuntimeError:  # the event loop is gone: nobody to wake
                self._stop = True

    def _pump(self) -> None:
        it: Iterator[Any] | None = None
        try:
            if self._enter:
                self._entered = self._obj.__enter__()
                it = iter(self._entered)
            else:
                it = iter(self._obj)
            items, lock, space = self._items, self._lock, self._space
            self._reading = True
            for item in it:
                self._reading = False
                with lock:
                    items.append(item)
                    self._wake()
                if len(items) >= _BUFFER and not self._stop:
                    self._paused = True
                    space.clear()
                    if len(items) >= _LOW:  # the consumer may have drained it meanwhile
                        space.wait()
                if self._stop:
                    break
                self._reading = True
        except BaseException as exc:  # handed to the consumer, raised there
            self._error = exc
        finally:
            self._reading = False
            if self._stop and it is not None:
                close = getattr(it, "close", None)
                if close is not None:
                    with contextlib.suppress(Exception):  # closing after the consumer left
                        close()
            with self._lock:
                self._done = True
                self._wake()

    async def aclose(self) -> None:
        """Stop the worker: it pulls nothing more; the SDK stream is closed now (interrupting
        a blocked read), a generator by the thread, which this waits for (see the module
        docstring) unless the generator is blocked in a read."""
        if self._stop:
            return
        self._stop = True
        self._space.set()
        if not self._started:
            return
        if self._enter:
            if self._entered is not None:
                self._obj.__exit__(None, None, None)
            return
        close = getattr(self._obj, "close", None)
        if close is not None and not hasattr(self._obj, "gi_frame"):
            close()  # an SDK stream: closing its response interrupts the blocked read
        if self._reading:
            return  # blocked in the source's next(): it closes itself when that returns
        with anyio.move_on_after(CLOSE_WAIT, shield=True):  # a cancelled caller waits too
            while True:
                with self._lock:
                    if self._done:
                        return
                    waiter = self._waiter = anyio.Event()
                await waiter.wait()
