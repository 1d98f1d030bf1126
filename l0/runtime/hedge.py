"""Hedged attempts: race a twin attempt when the first token is late (see :mod:`l0.hedging`).

:func:`hedged_open` replaces the plain "call the factory, detect the adapter" step of an
attempt. It opens the source and reads it up to its first token; if that takes longer than
the hedge delay it starts a twin (the same source, or the next fallback) and reads both. The
first to deliver a token (or to end) wins; the other is closed at once. The chunks the winner
delivered during the race are replayed by :class:`HedgedStream` (already decoded, so the
adapter never sees a chunk twice), then its stream continues as usual.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import anyio

from l0.adapters._shape import undecodable
from l0.adapters.base import AdapterStream, Decoded
from l0.adapters.registry import detect_adapter
from l0.errors import AbortedError, L0Error
from l0.events import EventName
from l0.redaction import collect_credentials
from l0.runtime.retry import Counters
from l0.types import Attempt, Event, EventType, ToolCall, Usage

if TYPE_CHECKING:
    from l0.adapters.base import Adapter
    from l0.runtime.run import Run

__all__ = ["HedgedStream", "hedged_open"]

_TOKEN = EventType.TOKEN
_CLOSE_GRACE = 2.0


class _Decoded:
    """A chunk decoded during the race (replayed as its events)."""

    __slots__ = ("events",)

    def __init__(self, events: Decoded) -> None:
        self.events = events


class _Candidate:
    """One racing attempt: its source index, key, stream and what it read so far."""

    def __init__(self, index: int, key: str | None, attempt: Attempt, *, first: bool) -> None:
        self.first = first
        self.index = index
        self.key = key
        self.attempt = attempt
        self.adapter: Adapter | None = None
        self.src: AdapterStream | None = None
        self.buffered: list[Any] = []
        self.ended = False
        self.error: BaseException | None = None


async def _open(run: Run, c: _Candidate) -> None:
    obj = run.opts.sources[c.index](c.attempt)
    while getattr(type(obj), "__await__", None) is not None:
        obj = await obj
    collect_credentials(obj)  # the key behind the stream is masked wherever l0 writes
    c.adapter = run.opts.adapter or detect_adapter(obj)
    c.src = c.adapter.open(obj, keep_raw=run.opts.keep_raw)


def _has_token(decoded: Decoded) -> bool:
    events = [decoded] if isinstance(decoded, Event) else decoded or []
    return any(ev.type is _TOKEN and ev.text for ev in events)


async def _read_to_first_token(run: Run, c: _Candidate) -> None:
    await _open(run, c)
    src = c.src
    assert src is not None
    fast = src.text_fast_path
    it = src.chunks
    while True:
        try:
            chunk = await it.__anext__()
        except StopAsyncIteration:
            c.ended = True
            return
        if fast and chunk.__class__ is str:
            c.buffered.append(chunk)
            if chunk:
                return
        elif fast and chunk.__class__ is Event and chunk.type is _TOKEN:
            c.buffered.append(chunk)
            if chunk.text:
                return
        else:
            try:
                decoded = src.decode(chunk)
            except Exception as exc:  # never a bare error from provider data
                raise undecodable(chunk, exc)
            c.buffered.append(_Decoded(decoded))
            if _has_token(decoded):
                return


class HedgedStream(AdapterStream):
    """The winner of a race: the chunks read during the race, then the rest of its stream."""

    def __init__(self, inner: AdapterStream, buffered: list[Any]) -> None:
        self.inner = inner
        self.source = inner.source
        self.raw = inner.raw
        self.expects_end = inner.expects_end
        self.text_fast_path = inner.text_fast_path
        self.chunks = self._replay(buffered)

    async def _replay(self, buffered: list[Any]) -> AsyncIterator[Any]:
        for chunk in buffered:
            yield chunk
        async for chunk in self.inner.chunks:
            yield chunk

    def decode(self, chunk: Any) -> Decoded:
        """The race's decoded events, or the winner's adapter for a new chunk."""
        if chunk.__class__ is _Decoded:
            events: Decoded = chunk.events
            return events
        return self.inner.decode(chunk)

    def end(self) -> list[Event]:
        """The winner's pending events."""
        return self.inner.end()

    async def aclose(self) -> None:
        """Close the winner's stream."""
        with contextlib.suppress(Exception):
            await self.chunks.aclose()  # type: ignore[attr-defined]
        await self.inner.aclose()

    # The winner's decoder state, read by the loop and the result.
    @property
    def ended(self) -> bool:  # type: ignore[override]
        """Whether the winner's end marker was seen."""
        return self.inner.ended

    @property
    def finish_reason(self) -> str | None:  # type: ignore[override]
        """The winner's finish reason."""
        return self.inner.finish_reason

    @property
    def usage(self) -> Usage | None:  # type: ignore[override]
        """The winner's usage."""
        return self.inner.usage

    @property
    def tool_calls(self) -> list[ToolCall]:  # type: ignore[override]
        """The winner's tool calls."""
        return self.inner.tool_calls


async def _close(c: _Candidate) -> None:
    if c.src is None:
        return
    with anyio.move_on_after(_CLOSE_GRACE, shield=True), contextlib.suppress(Exception):
        await c.src.aclose()


async def _may_hedge(run: Run, key: str | None) -> bool:
    """The budget and the breaker must both let the twin go (each spends/holds a slot)."""
    budget, breaker = run.opts.retry_budget, run.opts.breaker
    if key is not None and budget is not None and not await budget.try_spend(key):
        return False
    if key is not None and breaker is not None:
        try:
            await run.emitter.breaker(await breaker.acquire(key))
        except L0Error:
            return False
    return True


async def hedged_open(run: Run, attempt: Attempt) -> AdapterStream:
    """Open the run's current source, hedged; return the winner's stream.

    Raises:
        Exception: The first candidate's error when no candidate delivered anything.
    """
    hedge = run.opts.hedge
    assert hedge is not None
    keys = run.opts.breaker_keys
    index = run.source_index
    twin_index = index if hedge.target == "same" else index + 1
    first = _Candidate(index, keys[index] if keys else None, attempt, first=True)
    twin: _Candidate | None = None
    delay = hedge.delay_for(first.key)
    started = run.now()
    send, receive = anyio.create_memory_object_stream[_Candidate](2)

    async def race(c: _Candidate) -> None:
        try:
            await _read_to_first_token(run, c)
        except Exception as exc:
            c.error = exc
        await send.send(c)

    winner: _Candidate | None = None
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(race, first)
            with anyio.move_on_after(delay if math.isfinite(delay) else math.inf):
                winner = await receive.receive()
            if winner is None and twin_index < len(run.opts.sources):
                twin_key = keys[twin_index] if keys else None
                if await _may_hedge(run, twin_key):
                    twin_attempt = replace(
                        attempt, fallback_index=twin_index, is_fallback=twin_index > 0
                    )
                    twin = _Candidate(twin_index, twin_key, twin_attempt, first=False)
                    tg.start_soon(race, twin)
            if winner is None:
                winner = await receive.receive()
            if winner.error is not None and twin is not None:
                await _lost(run, winner, winner.error)
                winner = await receive.receive()
                if winner.error is not None and winner is twin:
                    await _record(run, twin, winner.error)
            tg.cancel_scope.cancel()
    finally:
        send.close()
        receive.close()
        for c in (first, twin):
            if c is not None and c is not winner:
                await _close(c)
                if c.error is None and c is twin and c.key is not None:
                    await _release(run, c.key)
    assert winner is not None
    if winner.error is not None:
        raise winner.error
    return await _adopt(run, winner, first, started, hedged=twin is not None)


async def _lost(run: Run, c: _Candidate, error: BaseException) -> None:
    """A candidate failed while the other still races: record it, keep waiting."""
    run.errors.append(error)
    await _record(run, c, error)


async def _record(run: Run, c: _Candidate, error: BaseException) -> None:
    """Record a candidate's failure with the breaker, once (the loop records only what is
    still in ``run.breaker_key``)."""
    breaker = run.opts.breaker
    if c.key is None or breaker is None:
        return
    if c.first:
        if run.breaker_key is None:
            return  # the first's slot: already recorded
        run.breaker_key = None
    await run.emitter.breaker(await breaker.record_failure(c.key, error))


async def _release(run: Run, key: str) -> None:
    """Give back the breaker slot of a twin that lost (closed by us: not its failure)."""
    if run.opts.breaker is not None:
        await run.emitter.breaker(
            await run.opts.breaker.record_failure(key, AbortedError("hedge lost"))
        )


async def _adopt(
    run: Run, winner: _Candidate, first: _Candidate, started: float, *, hedged: bool
) -> AdapterStream:
    assert winner.src is not None
    assert winner.adapter is not None
    hedge = run.opts.hedge
    assert hedge is not None
    if winner is first:
        if winner.buffered and not winner.ended:
            hedge.observe(first.key, run.now() - started)
    else:
        if run.breaker_key is not None and run.opts.breaker is not None:
            await _release(run, run.breaker_key)  # the first attempt lost: closed, not failed
        run.breaker_key = winner.key if run.opts.breaker is not None else None
        if winner.index != run.source_index:
            run.state.fallback_index = winner.index  # the run's current source
            run.counters = Counters()
            if run.emitter.active:
                await run.emitter.emit(
                    EventName.FALLBACK_START,
                    from_index=first.index,
                    to_index=winner.index,
                    reason="hedge won",
                )
    run.adapter = winner.adapter
    return HedgedStream(winner.src, winner.buffered) if winner.buffered else winner.src
