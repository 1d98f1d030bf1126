"""The ``on_*`` convenience callbacks, as filters over the lifecycle events."""

from __future__ import annotations

from collections.abc import Mapping

from l0.events import EventName
from l0.runtime.events import EventHandler
from l0.types import ObservabilityEvent

__all__ = ["CALLBACK_EVENTS", "build_handlers"]

CALLBACK_EVENTS: Mapping[str, EventName] = {
    "on_retry": EventName.RETRY_ATTEMPT,
    "on_fallback": EventName.FALLBACK_START,
    "on_checkpoint": EventName.CHECKPOINT_SAVED,
    "on_resume": EventName.RESUME_START,
    "on_timeout": EventName.TIMEOUT_TRIGGERED,
    "on_violation": EventName.GUARDRAIL_RULE_RESULT,
    "on_complete": EventName.COMPLETE,
    "on_error": EventName.ERROR,
}
"""Each convenience callback and the event that triggers it (it receives that event)."""


def _only(name: EventName, handler: EventHandler) -> EventHandler:
    wanted = name.value

    def filtered(event: ObservabilityEvent) -> object:
        if event.name == wanted:
            return handler(event)
        return None

    filtered.__qualname__ = f"{name.value.lower()}:{getattr(handler, '__qualname__', handler)!s}"
    return filtered  # type: ignore[return-value]


def build_handlers(
    on_event: EventHandler | None, callbacks: Mapping[str, EventHandler | None]
) -> list[EventHandler]:
    """The handler list for an :class:`~l0.runtime.events.Emitter`.

    Raises:
        TypeError: When a callback is not callable or its name is unknown.
    """
    handlers: list[EventHandler] = []
    if on_event is not None:
        if not callable(on_event):
            raise TypeError(f"on_event must be callable, got {type(on_event).__name__}")
        handlers.append(on_event)
    for key, handler in callbacks.items():
        if handler is None:
            continue
        if key not in CALLBACK_EVENTS:
            raise TypeError(f"unknown callback {key!r}; known: {', '.join(CALLBACK_EVENTS)}")
        if not callable(handler):
            raise TypeError(f"{key} must be callable, got {type(handler).__name__}")
        handlers.append(_only(CALLBACK_EVENTS[key], handler))
    return handlers
