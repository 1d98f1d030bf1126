"""A bounded pool of l0 runs: submit now, await later; :func:`sequential`.

::

    async with l0.OperationPool(concurrency=3, retry=l0.Retry(attempts=2)) as pool:
        tasks = [pool.submit(source) for source in sources]
        await pool.drain()                 # every submitted run finished
        first = await tasks[0].wait()      # its l0.Result (or its error, raised)
    pool.telemetry.succeeded, pool.telemetry.failed

Every run is a full :func:`l0.run` inside the pool's anyio task group, at most
``concurrency`` at once; a run waiting for a slot has not called its source yet. Leaving the
``async with`` block drains the pool; :meth:`OperationPool.shutdown` cancels what is still
queued or running (closing provider streams at once).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
from typing_extensions import Unpack

from l0.core import run
from l0.errors import L0Error
from l0.types import Result

if TYPE_CHECKING:
    from l0.runtime.options import RunOptions

__all__ = ["OperationPool", "PoolProgress", "PoolTask", "PoolTelemetry", "sequential"]


@dataclass(frozen=True, slots=True)
class PoolProgress:
    """Passed to ``on_progress`` each time a run ends.

    Attributes:
        done: Runs ended so far (succeeded, failed or cancelled).
        submitted: Runs submitted so far.
        failed: Runs that ended with an error.
        index: The submission index of the run that just ended.
    """

    done: int
    submitted: int
    failed: int
    index: int


@dataclass(slots=True)
class PoolTelemetry:
    """What the pool did, aggregated over its runs.

    Attributes:
        submitted, succeeded, failed, cancelled: Run counts.
        tokens: Tokens delivered by the successful runs.
        results: Each successful run's :class:`l0.Result`, by submission index.
        failures: Each failed run's error, by submission index.
    """

    submitted: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    tokens: int = 0
    results: dict[int, Result] = field(default_factory=dict)
    failures: dict[int, BaseException] = field(default_factory=dict)


class PoolTask:
    """A submitted run: :meth:`wait` for its result."""

    def __init__(self, index: int) -> None:
        self.index = index
        self._done = anyio.Event()
        self._result: Result | None = None
        self._error: BaseException | None = None

    @property
    def done(self) -> bool:
        """Whether the run has ended (in any way)."""
        return self._done.is_set()

    async def wait(self) -> Result:
        """The run's :class:`l0.Result`.

        Raises:
            Exception: The error that ended the run (:class:`l0.L0Error` when it was
                cancelled by :meth:`OperationPool.shutdown`).
        """
        await self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


class OperationPool:
    """Runs submitted sources through :func:`l0.run`, at most ``concurrency`` at a time.

    Args:
        concurrency: Runs in flight at once (>= 1).
        on_progress: Called (sync or async) with a :class:`PoolProgress` as each run ends.
        **run_options: Options of :func:`l0.run` for every run; :meth:`submit` may add or
            override options per run.
    """

    def __init__(
        self,
        *,
        concurrency: int = 5,
        on_progress: Callable[[PoolProgress], Any] | None = None,
        **run_options: Unpack[RunOptions],
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"OperationPool: concurrency must be an int >= 1, got {concurrency!r}")
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._on_progress = on_progress
        self._options: dict[str, Any] = dict(run_options)
        self._tg: anyio.abc.TaskGroup | None = None
        self._tasks: list[PoolTask] = []
        self._closed = False
        self.telemetry = PoolTelemetry()

    async def __aenter__(self) -> OperationPool:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._tg is not None
        if exc is not None:
            self._tg.cancel_scope.cancel()
        self._closed = True
        return await self._tg.__aexit__(exc_type, exc, tb)

    @property
    def queued(self) -> int:
        """Runs submitted and waiting for a slot."""
        return self._limiter.statistics().tasks_waiting

    @property
    def active(self) -> int:
        """Runs in flight."""
        return int(self._limiter.borrowed_tokens)

    def submit(self, source: Any, **options: Unpack[RunOptions]) -> PoolTask:
        """Queue a run of ``source``; returns at once.

        Raises:
            L0Error: The pool is not open (use ``async with``) or was shut down.
            TypeError, ValueError: Bad run options (checked now, before anything runs).
        """
        if self._tg is None or self._closed:
            raise L0Error("OperationPool.submit: the pool is not open (use `async with`)")
        merged = {**self._options, **options}
        from l0.core import stream

        stream(source, **merged)  # validates the options now; never started
        task = PoolTask(len(self._tasks))
        self._tasks.append(task)
        self.telemetry.submitted += 1
        self._tg.start_soon(self._run, task, source, merged)
        return task

    async def _run(self, task: PoolTask, source: Any, options: dict[str, Any]) -> None:
        stats = self.telemetry
        try:
            async with self._limiter:
                result = await run(source, **options)
        except anyio.get_cancelled_exc_class():
            self._cancelled(task)
            raise
        except Exception as exc:
            stats.failed += 1
            stats.failures[task.index] = exc
            task._error = exc
        else:
            stats.succeeded += 1
            stats.tokens += result.state.token_count
            stats.results[task.index] = result
            task._result = result
        task._done.set()
        await self._progress(task.index)

    async def _progress(self, index: int) -> None:
        if self._on_progress is None:
            return
        s = self.telemetry
        out = self._on_progress(
            PoolProgress(s.succeeded + s.failed + s.cancelled, s.submitted, s.failed, index)
        )
        if inspect.isawaitable(out):
            await out

    async def drain(self) -> None:
        """Wait until every run submitted so far has ended."""
        for task in list(self._tasks):
            await task._done.wait()

    async def shutdown(self, *, cancel: bool = True) -> None:
        """Stop taking runs; with ``cancel`` (default) cancel queued and running ones (their
        provider streams close at once), else wait for them to finish."""
        self._closed = True
        if cancel and self._tg is not None:
            self._tg.cancel_scope.cancel()
            for task in self._tasks:
                self._cancelled(task)
        else:
            await self.drain()

    def _cancelled(self, task: PoolTask) -> None:
        if not task.done:
            self.telemetry.cancelled += 1
            task._error = L0Error("OperationPool: the run was cancelled by shutdown()")
            task._done.set()


async def sequential(
    sources: Sequence[Any], *, fail_fast: bool = False, **run_options: Unpack[RunOptions]
) -> list[Result | BaseException]:
    """Run ``sources`` one after another through :func:`l0.run`.

    Args:
        sources: Sources as for :func:`l0.run`.
        fail_fast: Stop at the first failure and raise it; otherwise failures are returned
            in place and the next source runs.
        **run_options: Options of :func:`l0.run`, applied to every source.

    Returns:
        One :class:`l0.Result` or exception per source, in order.
    """
    if isinstance(sources, (str, bytes)) or not isinstance(sources, Sequence):
        raise TypeError(f"sequential: sources must be a list, got {type(sources).__name__}")
    out: list[Result | BaseException] = []
    for source in sources:
        try:
            out.append(await run(source, **run_options))
        except Exception as exc:
            if fail_fast:
                raise
            out.append(exc)
    return out
