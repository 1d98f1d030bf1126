"""The ``on_*`` convenience callbacks, as filters over the lifecycle events."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping

from l0.events import EventName
from l0.runtime.events import EventHandler
from l0.types import ObservabilityEvent

__all__ = ["CALLBACK_EVENTS", "build_handlers"]

CALLBACK_EVENTS: Mapping[str, EventName] = {
    "on_start": EventName.ATTEMPT_START,
    "on_retry": EventName.RETRY_ATTEMPT,
    "on_fallback": EventName.FALLBACK_START,
    "on_checkpoint": EventName.CHECKPOINT_SAVED,
    "on_resume": EventName.RESUME_START,
    "on_timeout": EventName.TIMEOUT_TRIGGERED,
    "on_violation": EventName.GUARDRAIL_RULE_RESULT,
    "on_drift": EventName.DRIFT_CHECK_RESULT,
    "on_tool_call": EventName.TOOL_REQUESTED,
    "on_abort": EventName.ABORT_REQUESTED,
    "on_complete": EventName.COMPLETE,
    "on_error": EventName.ERROR,
}
"""Each convenience callback and the event that triggers it (it receives that event).

``on_start`` fires for every attempt (the first one, each retry and each fallback);
``on_drift`` only for checks that detected drift (``data["detected"]`` true)."""

_WHEN: Mapping[str, Callable[[ObservabilityEvent], bool]] = {
    "on_drift": lambda event: bool(event.data.get("detected")),
}


def _only(key: str, name: EventName, handler: EventHandler) -> EventHandler:
    wanted = name.value
    when = _WHEN.get(key)

    def filtered(event: ObservabilityEvent) -> object:
        if event.name == wanted and (when is None or when(event)):
            return handler(event)
        return None

    filtered.__qualname__ = f"{key}:{getattr(handler, '__qualname__', handler)!s}"
    return filtered  # type: ignore[return-value]


def _unknown(key: str) -> TypeError:
    close = difflib.get_close_matches(str(key), sorted(CALLBACK_EVENTS), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(CALLBACK_EVENTS)}"
    return TypeError(f"unknown callback {key!r}{hint}")


def build_handlers(
    on_event: EventHandler | None, callbacks: Mapping[str, EventHandler | None]
) -> list[EventHandler]:
    """The handler list for an :class:`~l0.runtime.events.Emitter`.

    Raises:
        TypeError: When a callback is not callable or its name is unknown (naming the
            closest known one).
    """
    handlers: list[EventHandler] = []
    if on_event is not None:
        if not callable(on_event):
            raise TypeError(f"on_event must be callable, got {type(on_event).__name__}")
        handlers.append(on_event)
    for key, handler in callbacks.items():
        if key not in CALLBACK_EVENTS:
            raise _unknown(key)
        if handler is None:
            continue
        if not callable(handler):
            raise TypeError(f"{key} must be callable, got {type(handler).__name__}")
        handlers.append(_only(key, CALLBACK_EVENTS[key], handler))
    return handlers
