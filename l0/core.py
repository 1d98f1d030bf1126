"""The public entry points: :func:`stream`, :func:`run` and their sync bridges.

A thin facade: :func:`stream` validates the options (:mod:`l0.runtime.options`) and returns a
:class:`~l0.runtime.stream.Stream` over a :class:`~l0.runtime.run.Run`, whose attempt loop
lives in :mod:`l0.runtime.run`. :func:`run_sync` and :func:`stream_sync` drive the same async
core through one anyio portal.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread

from l0.runtime.events import EventHandler
from l0.runtime.options import build_options
from l0.runtime.run import Run
from l0.runtime.stream import Stream
from l0.runtime.timers import Clock
from l0.types import CheckIntervals, Event, Result, Retry, Timeout

if TYPE_CHECKING:
    from l0.breaker import CircuitBreaker
    from l0.budget import RetryBudget

__all__ = ["run", "run_sync", "stream", "stream_sync"]


# -- public API --------------------------------------------------------------------------------


def stream(
    source: Any,
    *,
    fallbacks: Sequence[Any] = (),
    retry: Retry | None = None,
    timeout: Timeout | None = None,
    guardrails: Any = (),
    drift: Any = None,
    continuation: Any = False,
    check_intervals: CheckIntervals | None = None,
    on_event: EventHandler | None = None,
    adapter: Any = None,
    context: Mapping[str, Any] | None = None,
    detect_zero_output: bool = True,
    detect_truncation: bool = True,
    keep_raw: bool = False,
    clock: Clock | None = None,
    stream_id: str | None = None,
    on_retry: EventHandler | None = None,
    on_fallback: EventHandler | None = None,
    on_checkpoint: EventHandler | None = None,
    on_resume: EventHandler | None = None,
    on_timeout: EventHandler | None = None,
    on_violation: EventHandler | None = None,
    on_complete: EventHandler | None = None,
    on_error: EventHandler | None = None,
    breaker: CircuitBreaker | None = None,
    breaker_keys: Sequence[str | None] | None = None,
    retry_budget: RetryBudget | None = None,
    keys: Sequence[str | None] | None = None,
) -> Stream:
    """Open a reliable stream over ``source``; use it with ``async with`` and ``async for``.

    Args:
        source: A callable taking no argument or one :class:`l0.Attempt` that returns (or
            awaits to) a stream: a provider SDK stream, or any async/sync iterable of ``str``
            or :class:`l0.Event`. A stream object itself is accepted but cannot be retried.
        fallbacks: Sources tried in order once a source is exhausted.
        retry: The retry policy (default :class:`l0.Retry()`).
        timeout: Stall and overall deadlines (default :class:`l0.Timeout()`).
        guardrails: Rules or a preset (:mod:`l0.guardrails`).
        drift: ``None`` (off), ``True`` (default detector) or a detector.
        continuation: ``True`` or an :class:`l0.Continuation` to resume retries from the text
            already delivered (the source reads :attr:`l0.Attempt.checkpoint`).
        check_intervals: How often streaming checks run.
        on_event: Receives every :class:`l0.ObservabilityEvent`, in order.
        adapter: An adapter name or instance; detection by type otherwise.
        context: Caller data attached to ``SESSION_START``.
        detect_zero_output: Treat a stream with no content as a retryable error.
        detect_truncation: Treat a stream that ends without its end marker as a retryable
            network error (for providers whose protocol has one).
        keep_raw: Keep every raw provider chunk on the adapter stream (off: memory stays flat).
        clock: Time source and sleeper (tests inject :class:`l0.testing.FakeClock`).
        stream_id: The run's id in events (random by default).
        on_retry, on_fallback, on_checkpoint, on_resume, on_timeout, on_violation,
        on_complete, on_error: Convenience callbacks, each receiving its event
            (:data:`l0.runtime.callbacks.CALLBACK_EVENTS`).
        breaker: An :class:`l0.CircuitBreaker` shared across runs: a source whose circuit is
            open is skipped (:class:`l0.CircuitOpenError`, the next fallback answers) without
            being called; each attempt's outcome is recorded under its key.
        retry_budget: An :class:`l0.RetryBudget` shared across runs: a retry its key's
            bucket refuses becomes the next fallback at once (or
            :class:`l0.RetryBudgetExhaustedError`); successes refill it.
        keys: With ``breaker`` or ``retry_budget``: one key per source, the source's then
            each fallback's (e.g. model names); ``None`` for a source they leave alone.
        breaker_keys: The older name of ``keys``.

    Raises:
        TypeError, ValueError: For invalid options (before anything runs).
    """
    opts = build_options(
        source,
        fallbacks=fallbacks,
        retry=retry,
        timeout=timeout,
        guardrails=guardrails,
        drift=drift,
        continuation=continuation,
        check_intervals=check_intervals,
        on_event=on_event,
        adapter=adapter,
        context=context,
        detect_zero_output=detect_zero_output,
        detect_truncation=detect_truncation,
        clock=clock,
        stream_id=stream_id,
        keep_raw=keep_raw,
        breaker=breaker,
        breaker_keys=breaker_keys,
        retry_budget=retry_budget,
        keys=keys,
        callbacks={
            name: handler
            for name, handler in (
                ("on_retry", on_retry),
                ("on_fallback", on_fallback),
                ("on_checkpoint", on_checkpoint),
                ("on_resume", on_resume),
                ("on_timeout", on_timeout),
                ("on_violation", on_violation),
                ("on_complete", on_complete),
                ("on_error", on_error),
            )
            if handler is not None
        },
    )
    return Stream(Run(opts))


async def run(source: Any, **options: Any) -> Result:
    """Run ``source`` to completion and return the :class:`l0.Result`.

    Takes the same keyword options as :func:`stream`.

    Raises:
        l0.L0Error: When every retry and fallback failed (usually
            :class:`l0.RetriesExhaustedError`, carrying every error).
    """
    async with stream(source, **options) as s:
        async for _ in s:
            pass
    return s.result


def run_sync(source: Any, **options: Any) -> Result:
    """Blocking :func:`run`, for code without an event loop (works inside a running
    loop's thread too: the async core runs on a portal thread)."""
    with anyio.from_thread.start_blocking_portal() as portal:
        return portal.call(lambda: run(source, **options))


def stream_sync(source: Any, **options: Any) -> Iterator[Event]:
    """Blocking iteration over :func:`stream`'s events (same options).

    Leaving the loop early closes the provider stream.
    """
    with anyio.from_thread.start_blocking_portal() as portal:
        s = stream(source, **options)
        with portal.wrap_async_context_manager(s) as opened:
            agen = opened.__aiter__()
            while True:
                try:
                    event = portal.call(agen.__anext__)
                except StopAsyncIteration:
                    return
                yield event
