"""Deliver lifecycle events to ``on_event`` handlers, in order, isolated from failures."""

from __future__ import annotations

import copy
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence, Set
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from l0.events import EventName
from l0.redaction import redact_text
from l0.types import ObservabilityEvent, Telemetry

if TYPE_CHECKING:
    from l0.breaker import BreakerChange

__all__ = ["Emitter", "EventHandler", "freeze"]

logger = logging.getLogger("l0")
_EMPTY: Mapping[str, Any] = MappingProxyType({})

EventHandler = Callable[[ObservabilityEvent], Awaitable[None] | None]


def freeze(value: Any) -> Any:
    """A deep, read-only copy of ``value``: mappings become read-only mappings, lists and
    tuples tuples, sets frozensets; anything else is deep-copied (kept as is if it cannot be).

    The run's ``context`` is frozen once at the start, so a caller changing its dict (or a
    nested value) later never changes what the events report.
    """
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if isinstance(value, Set):
        return frozenset(freeze(v) for v in value)
    if isinstance(value, (str, bytes, int, float, bool)) or value is None:
        return value
    try:
        return copy.deepcopy(value)
    except Exception:  # an object that refuses to be copied (a lock, a client) is shared
        return value


def _flatten(handlers: Sequence[EventHandler]) -> list[EventHandler]:
    """``handlers`` with every fan-out handler (``l0_fan_out``) replaced by its parts."""
    flat: list[EventHandler] = []
    for handler in handlers:
        parts = getattr(handler, "l0_fan_out", None)
        if isinstance(parts, tuple):
            flat.extend(_flatten(parts))
        else:
            flat.append(handler)
    return flat


class Emitter:
    """Builds and dispatches :class:`ObservabilityEvent` objects for one run.

    ``active`` is False when nobody listens; callers on hot paths test it before building
    the payload, so an unobserved run pays one attribute read per check.
    A handler that raises never breaks the stream: its first failure in the run is logged on
    the ``l0`` logger with the traceback, later ones at DEBUG, and every one is counted in
    ``telemetry.handler_errors``. A handler with an ``l0_fan_out`` tuple (what
    :func:`l0.observability.combine` returns) is delivered as those handlers, so each of
    them is logged and counted on its own.

    ``checkpoints`` is False when every handler is *passive* (a true ``l0_passive``
    attribute: the run's recorder, replay's observer): they receive every event the run
    emits, but do not by themselves turn on ``CHECKPOINT_SAVED``, the one lifecycle event
    emitted every few tokens (and only for listeners).
    """

    __slots__ = (
        "_failed",
        "_handlers",
        "_now",
        "_telemetry",
        "active",
        "attempt",
        "checkpoints",
        "context",
        "seq",
        "stream_id",
    )

    def __init__(
        self,
        handlers: Sequence[EventHandler],
        *,
        stream_id: str,
        now: Callable[[], float],
        context: Mapping[str, Any] | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self._handlers = tuple(_flatten(handlers))
        self._failed: set[int] = set()
        self._telemetry = telemetry
        self._now = now
        self.active = bool(self._handlers)
        self.checkpoints = any(not getattr(h, "l0_passive", False) for h in self._handlers)
        self.stream_id = stream_id
        self.attempt = 0
        self.seq = 0
        self.context: Mapping[str, Any] = freeze(context) if context and self.active else _EMPTY

    def _handler_failed(self, handler: EventHandler, name: str) -> None:
        """Log a raising handler: its first failure in a run with the traceback, then briefly;
        count every failure."""
        if self._telemetry is not None:
            self._telemetry.handler_errors += 1
        if id(handler) in self._failed:
            logger.debug("l0: on_event handler %r raised again on %s", handler, name)
            return
        self._failed.add(id(handler))
        logger.exception(
            "l0: on_event handler %r raised on %s (its further failures in this run are "
            "logged at DEBUG level)",
            handler,
            name,
        )

    async def emit(self, name: EventName, /, **data: Any) -> None:
        """Dispatch one event to every handler (awaiting async ones), in registration order."""
        if not self.active:
            return
        for key, value in data.items():
            if value.__class__ is str:  # e.g. a reason quoting a provider message
                data[key] = redact_text(value)
        event = ObservabilityEvent(
            name=name.value,
            ts=self._now(),
            stream_id=self.stream_id,
            attempt=self.attempt,
            seq=self.seq,
            data=data,
            context=self.context,
        )
        self.seq += 1
        for handler in self._handlers:
            try:
                result = handler(event)
                if result is not None and inspect.isawaitable(result):
                    await result
            except Exception:
                self._handler_failed(handler, name.value)

    async def breaker(self, change: BreakerChange | None) -> None:
        """Emit ``BREAKER_OPEN`` / ``_HALF_OPEN`` / ``_CLOSE`` for a change a breaker call
        returned (nothing for ``None`` or when nobody listens)."""
        if change is None or not self.active:
            return
        await self.emit(
            _BREAKER_EVENTS[change.state_to.value],
            key=change.key,
            state_from=change.state_from.value,
            state_to=change.state_to.value,
            failures=change.failures,
            opened_until=change.opened_until,
        )


_BREAKER_EVENTS = {
    "open": EventName.BREAKER_OPEN,
    "half_open": EventName.BREAKER_HALF_OPEN,
    "closed": EventName.BREAKER_CLOSE,
}
