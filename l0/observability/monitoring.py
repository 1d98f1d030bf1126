"""Plumbing for ``on_event`` handlers: combine several into one.

``on_event`` takes one handler; :func:`combine` fans each event out to several (an
OpenTelemetry handler, a Sentry handler and your own, say), in order::

    from l0.observability.monitoring import combine
    from l0.observability.opentelemetry import OpenTelemetryHandler

    await l0.run(source, on_event=combine(OpenTelemetryHandler(), my_handler))
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence

from l0.types import ObservabilityEvent

__all__ = ["Handler", "combine"]

logger = logging.getLogger("l0")

Handler = Callable[[ObservabilityEvent], Awaitable[None] | None]
"""An ``on_event`` handler: a sync or async callable taking one event."""


def combine(*handlers: Handler | None) -> Handler:
    """One ``on_event`` handler calling each of ``handlers`` in order.

    ``None`` entries are skipped (handy for optional handlers). A handler that raises is
    logged on the ``l0`` logger and the others still run. Async handlers are awaited in
    order; the combined handler stays synchronous (no coroutine is created) while every
    handler so far was synchronous.

    Args:
        *handlers: Sync or async callables taking an :class:`l0.ObservabilityEvent`.

    Returns:
        A handler to pass as ``on_event=``.

    Raises:
        TypeError: When an entry is neither callable nor ``None``.
    """
    chosen: list[Handler] = []
    for i, handler in enumerate(handlers):
        if handler is None:
            continue
        if not callable(handler):
            raise TypeError(
                f"combine() argument {i} must be callable, got {type(handler).__name__}"
            )
        chosen.append(handler)
    calls = tuple(chosen)

    def combined(event: ObservabilityEvent) -> Awaitable[None] | None:
        for i, handler in enumerate(calls):
            result = _call(handler, event)
            if result is not None:
                # From the first async handler on, finish the rest inside a coroutine so
                # that order is kept (handler i+1 never runs before handler i finished).
                return _finish(result, calls[i + 1 :], event)
        return None

    return combined


def _call(handler: Handler, event: ObservabilityEvent) -> Awaitable[None] | None:
    try:
        result = handler(event)
    except Exception:
        logger.exception("l0: on_event handler %r raised on %s", handler, event.name)
        return None
    return result if inspect.isawaitable(result) else None


async def _finish(
    pending: Awaitable[None], rest: Sequence[Handler], event: ObservabilityEvent
) -> None:
    await _await(pending, event)
    for handler in rest:
        result = _call(handler, event)
        if result is not None:
            await _await(result, event)


async def _await(pending: Awaitable[None], event: ObservabilityEvent) -> None:
    try:
        await pending
    except Exception:
        logger.exception("l0: async on_event handler raised on %s", event.name)
