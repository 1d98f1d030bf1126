"""The handle :func:`l0.stream` returns: an async context manager and async iterator."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from types import TracebackType
from typing import TYPE_CHECKING

from l0.errors import AbortedError, L0Error
from l0.types import Event, Result, State, Status

if TYPE_CHECKING:
    from l0.runtime.run import Run

__all__ = ["Stream"]


class Stream:
    """A reliable stream over a source.

    Use it as ``async with l0.stream(...) as s: async for event in s: ...``. Leaving the
    ``async with`` block early (``break``, an exception, cancellation) closes the provider
    stream at once and starts no further attempt.

    Iteration yields content events only (``TOKEN``, ``TOOL_CALL``, ``DATA``, ``PROGRESS``,
    ``MESSAGE``, ``RESET``) and ends with one ``COMPLETE`` event carrying the
    :class:`~l0.types.Result`; a final failure raises an :class:`~l0.errors.L0Error`.
    """

    __slots__ = ("_gen", "_run")

    def __init__(self, run: Run) -> None:
        self._run = run
        self._gen: AsyncGenerator[Event, None] | None = None

    def __aiter__(self) -> AsyncGenerator[Event, None]:
        gen = self._gen
        if gen is None:
            gen = self._gen = self._run.events()
            self._run.wd.agen = gen
        return gen

    async def __aenter__(self) -> Stream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop now: close the provider stream and end the run (idempotent)."""
        if self._gen is not None:
            await self._gen.aclose()

    def abort(self, reason: str = "stream aborted") -> None:
        """Abort from anywhere in the consumer: a pending provider read is cancelled at once,
        no further attempt starts, and iteration raises :class:`~l0.errors.AbortedError`."""
        self._run.wd.abort(AbortedError(reason))

    @property
    def state(self) -> State:
        """The live :class:`~l0.types.State`."""
        return self._run.state

    @property
    def status(self) -> Status:
        """The current state-machine :class:`~l0.types.Status`."""
        return self._run.machine.status

    @property
    def stream_id(self) -> str:
        """The run's id (as in every observability event)."""
        return self._run.opts.stream_id

    @property
    def errors(self) -> list[BaseException]:
        """Every error met so far."""
        return list(self._run.errors)

    @property
    def result(self) -> Result:
        """The :class:`~l0.types.Result`, once the stream has completed.

        Raises:
            L0Error: When read before the stream completed successfully.
        """
        if self._run.result is None:
            raise L0Error(f"no result: the stream is {self.status.value}, not completed")
        return self._run.result
