"""Run several l0 runs at once: :func:`parallel`, :func:`batched` and :func:`race`.

Every run is a full :func:`l0.run` (retries, continuation, fallbacks, timeouts, guardrails all
apply per source) inside an anyio task group, so cancellation is real: a cancelled run closes
its provider stream at once and starts no further attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

import anyio
from typing_extensions import Unpack

from l0.core import stream
from l0.errors import RetriesExhaustedError
from l0.runtime.stream import Stream
from l0.types import EventType, Result

if TYPE_CHECKING:
    from l0.runtime.options import RunOptions

__all__ = ["RaceResult", "batched", "parallel", "race"]

RaceMode = Literal["first_complete", "first_token"]

# Content events that count as "the first token" in race(mode="first_token").
_FIRST_TOKEN = (EventType.TOKEN, EventType.TOOL_CALL)


@dataclass(slots=True)
class RaceResult(Result):
    """The winner's :class:`l0.Result`, plus which source won.

    Attributes:
        winner_index: Position of the winning source in the list given to :func:`race`.
    """

    winner_index: int = 0


def _check_sources(sources: Sequence[Any], name: str) -> list[Any]:
    if isinstance(sources, (str, bytes)) or not isinstance(sources, Sequence):
        raise TypeError(f"{name}: sources must be a list of sources, got {type(sources).__name__}")
    if not sources:
        raise ValueError(f"{name}: sources must not be empty")
    return list(sources)


def _check_positive(name: str, option: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: {option} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name}: {option} must be >= 1, got {value}")


def open_streams(sources: Sequence[Any], options: dict[str, Any]) -> list[Stream]:
    """One unstarted :class:`l0.Stream` per source: bad options fail here, before any run."""
    return [stream(source, **options) for source in sources]


async def drain(s: Stream) -> Result:
    """Run ``s`` to completion and return its result (closing it on the way out)."""
    async with s:
        async for _ in s:
            pass
    return s.result


async def parallel(
    sources: Sequence[Any],
    *,
    concurrency: int = 5,
    fail_fast: bool = False,
    **run_options: Unpack[RunOptions],
) -> list[Result | BaseException]:
    """Run every source through :func:`l0.run`, at most ``concurrency`` at a time.

    Args:
        sources: Sources as for :func:`l0.run` (callables returning a stream).
        concurrency: How many runs may be in flight at once (>= 1).
        fail_fast: Cancel every other run (closing its provider stream) as soon as one fails,
            and raise that error. Otherwise failures are returned in place.
        **run_options: Options of :func:`l0.run`, applied to every source.

    Returns:
        One entry per source, in the order of ``sources``: the :class:`l0.Result`, or the
        exception that ended that run.

    Raises:
        TypeError, ValueError: Bad sources, ``concurrency`` or run options (nothing runs).
        Exception: With ``fail_fast``, the first failure.
    """
    items = _check_sources(sources, "parallel")
    _check_positive("parallel", "concurrency", concurrency)
    streams = open_streams(items, dict(run_options))
    results: list[Result | BaseException | None] = [None] * len(streams)
    failure: list[Exception] = []
    limiter = anyio.CapacityLimiter(concurrency)

    async def one(index: int, tg: anyio.abc.TaskGroup) -> None:
        async with limiter:
            try:
                results[index] = await drain(streams[index])
            except Exception as exc:
                results[index] = exc
                if fail_fast and not failure:
                    failure.append(exc)
                    tg.cancel_scope.cancel()

    async with anyio.create_task_group() as tg:
        for index in range(len(streams)):
            tg.start_soon(one, index, tg)
    if failure:
        raise failure[0]
    return [r for r in results if r is not None]


async def batched(
    sources: Sequence[Any],
    *,
    batch_size: int = 5,
    fail_fast: bool = False,
    **run_options: Unpack[RunOptions],
) -> list[Result | BaseException]:
    """Run ``sources`` in consecutive batches of ``batch_size``; a batch starts once the
    previous one has finished entirely.

    Args:
        sources: Sources as for :func:`l0.run`.
        batch_size: Runs per batch, all concurrent (>= 1).
        fail_fast: As for :func:`parallel`; a failure also stops later batches.
        **run_options: Options of :func:`l0.run`, applied to every source.

    Returns:
        One :class:`l0.Result` or exception per source, in order.

    Raises:
        TypeError, ValueError: Bad sources, ``batch_size`` or run options (nothing runs).
        Exception: With ``fail_fast``, the first failure.
    """
    items = _check_sources(sources, "batched")
    _check_positive("batched", "batch_size", batch_size)
    open_streams(items[:1], dict(run_options))  # validate the options before the first batch
    out: list[Result | BaseException] = []
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        out += await parallel(batch, concurrency=batch_size, fail_fast=fail_fast, **run_options)
    return out


async def race(
    sources: Sequence[Any],
    *,
    mode: RaceMode = "first_complete",
    **run_options: Unpack[RunOptions],
) -> RaceResult:
    """Run every source at once; the first to succeed wins and every other run is cancelled.

    Modes:
        ``"first_complete"``: the winner is the first run to *complete successfully*; a run
        that fails (after its own retries and fallbacks) simply drops out.
        ``"first_token"``: the winner is the first run to deliver a token (or tool call);
        the others are cancelled at that moment and the winner runs to completion. If the
        winner then fails, :func:`race` raises its error (the others are gone).

    Cancelled runs close their provider streams at once (structured concurrency, not a
    cooperative flag checked on the next chunk).

    Args:
        sources: Sources as for :func:`l0.run` (at least one).
        mode: ``"first_complete"`` (default) or ``"first_token"``.
        **run_options: Options of :func:`l0.run`, applied to every source.

    Returns:
        The winner's result as a :class:`RaceResult` (``winner_index`` says which source).

    Raises:
        TypeError, ValueError: Bad sources, mode or run options (nothing runs).
        l0.RetriesExhaustedError: Every run failed; ``errors`` holds each run's error, in
            source order.
    """
    if mode not in ("first_complete", "first_token"):
        raise ValueError(f"race: mode must be 'first_complete' or 'first_token', got {mode!r}")
    streams = open_streams(_check_sources(sources, "race"), dict(run_options))
    scopes = [anyio.CancelScope() for _ in streams]
    errors: list[Exception | None] = [None] * len(streams)
    winner: list[int] = []

    def claim(index: int) -> bool:
        if winner:
            return False
        winner.append(index)
        for other, scope in enumerate(scopes):
            if other != index:
                scope.cancel()
        return True

    async def contestant(index: int) -> None:
        with scopes[index]:
            try:
                await _contest(streams[index], index, mode, claim)
            except Exception as exc:
                errors[index] = exc

    async with anyio.create_task_group() as tg:
        for index in range(len(streams)):
            tg.start_soon(contestant, index)
    return _race_outcome(streams, winner, errors)


async def _contest(s: Stream, index: int, mode: RaceMode, claim: Callable[[int], bool]) -> None:
    claimed = mode == "first_complete"  # in that mode only completion claims the win
    async with s:
        async for event in s:
            if not claimed and event.type in _FIRST_TOKEN:
                claimed = True
                if not claim(index):
                    return
    if mode == "first_complete" or not claimed:
        claim(index)  # also a first_token run that completed without any token


def _race_outcome(
    streams: list[Stream], winner: list[int], errors: list[Exception | None]
) -> RaceResult:
    if winner:
        index = winner[0]
        error = errors[index]
        if error is not None:
            raise error  # first_token: the winner failed after the others were cancelled
        result = streams[index].result
        values = {f.name: getattr(result, f.name) for f in fields(Result)}
        return RaceResult(**values, winner_index=index)
    failed = [e for e in errors if e is not None]
    raise RetriesExhaustedError(f"race: all {len(streams)} sources failed", errors=failed)
