"""Handler tools: compose, filter, debounce and batch ``on_event`` handlers.

Each tool takes handlers and returns a handler to pass as ``on_event=`` (or to another
tool)::

    from l0.observability import batch, combine, exclude_events, filter_events

    on_event = combine(
        OpenTelemetryHandler(),
        filter_events(alert, "RETRY_GIVE_UP", "FALLBACK_START"),
        exclude_events(batch(ship_to_warehouse, size=100), "CHECKPOINT_SAVED"),
    )

Every tool accepts sync and async handlers; the handler it returns is synchronous (returns
``None``) while the wrapped handler is, so a quiet tool costs no coroutine. Time is read
from the events' own ``ts`` (the run's clock), never from a timer, so a fake clock drives
them exactly.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence

from l0.events import EventName
from l0.types import ObservabilityEvent

__all__ = [
    "BatchHandler",
    "Handler",
    "batch",
    "combine",
    "debounce",
    "exclude_events",
    "filter_events",
]

logger = logging.getLogger("l0")

Handler = Callable[[ObservabilityEvent], Awaitable[None] | None]
"""An ``on_event`` handler: a sync or async callable taking one event."""

BatchTarget = Callable[[list[ObservabilityEvent]], Awaitable[None] | None]
"""What :func:`batch` calls: a sync or async callable taking a list of events."""

_NAMES = frozenset(e.value for e in EventName)
# The last event of a stream: a run's SESSION_END, a consensus's CONSENSUS_END.
_ENDS = frozenset({EventName.SESSION_END.value, EventName.CONSENSUS_END.value})
_BOUNDARIES = frozenset({EventName.SESSION_START.value, EventName.CONSENSUS_START.value, *_ENDS})


def _check_callable(value: object, what: str) -> None:
    if not callable(value):
        raise TypeError(f"{what} must be callable, got {type(value).__name__}")


def _event_names(names: Iterable[str | EventName], tool: str) -> frozenset[str]:
    """The validated event names (a misspelt one: an error naming the closest)."""
    out: set[str] = set()
    for name in names:
        value = name.value if isinstance(name, EventName) else name
        if not isinstance(value, str):
            raise TypeError(f"{tool}() event names must be str or EventName, got {value!r}")
        if value not in _NAMES:
            close = difflib.get_close_matches(value.upper(), sorted(_NAMES), n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else " (see l0.events.EventName)"
            raise ValueError(f"{tool}() got an unknown event name {value!r}{hint}")
        out.add(value)
    if not out:
        raise ValueError(f"{tool}() needs at least one event name, e.g. 'RETRY_ATTEMPT'")
    return frozenset(out)


def _await_if_needed(result: object) -> Awaitable[None] | None:
    return result if inspect.isawaitable(result) else None


# -- combine -----------------------------------------------------------------------------------


class _Combined:
    """Calls each handler in order (see :func:`combine`)."""

    __slots__ = ("l0_fan_out",)

    def __init__(self, handlers: tuple[Handler, ...]) -> None:
        # Read by the run's emitter: each part is then delivered, logged and counted on its
        # own (its first failure in a run logged with the traceback, every one counted).
        self.l0_fan_out = handlers

    def __call__(self, event: ObservabilityEvent) -> Awaitable[None] | None:
        calls = self.l0_fan_out
        for i, handler in enumerate(calls):
            result = _call(handler, event)
            if result is not None:
                # From the first async handler on, finish the rest inside a coroutine so
                # that order is kept (handler i+1 never runs before handler i finished).
                return _finish(result, calls[i + 1 :], event)
        return None

    def __repr__(self) -> str:
        return f"combine({', '.join(map(repr, self.l0_fan_out))})"


def combine(*handlers: Handler | None) -> Handler:
    """One ``on_event`` handler calling each of ``handlers`` in order.

    ``None`` entries are skipped (handy for optional handlers). Passed to a run, each
    handler is delivered on its own: one that raises is logged once per run with its
    traceback, counted in ``Telemetry.handler_errors``, and the others still run. Called
    directly, a raising handler is logged on the ``l0`` logger and the others still run.
    Async handlers are awaited in order; the combined handler stays synchronous (no
    coroutine is created) while every handler so far was synchronous.

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
        _check_callable(handler, f"combine() argument {i}")
        chosen.append(handler)
    return _Combined(tuple(chosen))


def _call(handler: Handler, event: ObservabilityEvent) -> Awaitable[None] | None:
    try:
        result = handler(event)
    except Exception:
        logger.exception("l0: on_event handler %r raised on %s", handler, event.name)
        return None
    return _await_if_needed(result)


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


# -- filters -----------------------------------------------------------------------------------


def filter_events(handler: Handler, *names: str | EventName) -> Handler:
    """A handler passing ``handler`` only the events named in ``names``.

    Args:
        handler: The sync or async handler to call.
        *names: Event names (``"RETRY_ATTEMPT"`` or ``EventName.RETRY_ATTEMPT``).

    Returns:
        A handler to pass as ``on_event=``.

    Raises:
        TypeError: When ``handler`` is not callable.
        ValueError: When no name is given or a name is unknown (the closest is named).
    """
    _check_callable(handler, "filter_events() handler")
    wanted = _event_names(names, "filter_events")

    def only(event: ObservabilityEvent) -> Awaitable[None] | None:
        if event.name in wanted:
            return _await_if_needed(handler(event))
        return None

    only.__qualname__ = f"filter_events({getattr(handler, '__qualname__', handler)!s})"
    return only


def exclude_events(handler: Handler, *names: str | EventName) -> Handler:
    """A handler passing ``handler`` every event except those named in ``names``.

    Args:
        handler: The sync or async handler to call.
        *names: Event names to drop (``"CHECKPOINT_SAVED"`` or ``EventName.CHECKPOINT_SAVED``).

    Returns:
        A handler to pass as ``on_event=``.

    Raises:
        TypeError: When ``handler`` is not callable.
        ValueError: When no name is given or a name is unknown (the closest is named).
    """
    _check_callable(handler, "exclude_events() handler")
    dropped = _event_names(names, "exclude_events")

    def without(event: ObservabilityEvent) -> Awaitable[None] | None:
        if event.name in dropped:
            return None
        return _await_if_needed(handler(event))

    without.__qualname__ = f"exclude_events({getattr(handler, '__qualname__', handler)!s})"
    return without


# -- debounce ----------------------------------------------------------------------------------


def _check_seconds(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{what} must be a number of seconds > 0, got {value!r}")
    return float(value)


class _Debounced:
    """Per run and event name, at most one event per ``interval`` (see :func:`debounce`)."""

    def __init__(self, handler: Handler, interval: float, names: frozenset[str] | None) -> None:
        self._handler = handler
        self._interval = interval
        self._names = names
        # (stream_id, name) -> (ts of the last delivered event, the latest one held back)
        self._last: dict[tuple[str, str], tuple[float, ObservabilityEvent | None]] = {}
        self._lock = threading.Lock()

    def __call__(self, event: ObservabilityEvent) -> Awaitable[None] | None:
        due: list[ObservabilityEvent] = []
        with self._lock:
            name = event.name
            if name in _ENDS:
                # The run is over: every held-back event first, then SESSION_END.
                for key in [k for k in self._last if k[0] == event.stream_id]:
                    held = self._last.pop(key)[1]
                    if held is not None:
                        due.append(held)
                due.sort(key=lambda e: e.seq)
                due.append(event)
            elif name in _BOUNDARIES or (self._names is not None and name not in self._names):
                due.append(event)
            else:
                key = (event.stream_id, name)
                last = self._last.get(key)
                if last is None or event.ts - last[0] >= self._interval:
                    if last is not None and last[1] is not None:
                        due.append(last[1])  # the end of the previous burst, never lost
                    self._last[key] = (event.ts, None)
                    due.append(event)
                else:
                    self._last[key] = (last[0], event)
        return _deliver(self._handler, due)


def _deliver(handler: Handler, events: list[ObservabilityEvent]) -> Awaitable[None] | None:
    for i, event in enumerate(events):
        result = _await_if_needed(handler(event))
        if result is not None:
            return _deliver_rest(result, handler, events[i + 1 :])
    return None


async def _deliver_rest(
    pending: Awaitable[None], handler: Handler, rest: list[ObservabilityEvent]
) -> None:
    await pending
    for event in rest:
        result = _await_if_needed(handler(event))
        if result is not None:
            await result


def debounce(handler: Handler, interval: float, *names: str | EventName) -> Handler:
    """A handler passing ``handler`` at most one event of each name per ``interval`` seconds
    of each run (measured on the events' ``ts``), without losing the end of a burst.

    The first event of a burst is delivered at once; later ones within ``interval`` are held
    back, keeping only the latest, which is delivered before the next event of that name
    past the interval, or before ``SESSION_END`` (every held-back event of the run, in
    order). ``SESSION_START`` and ``SESSION_END`` always pass (and a consensus's
    ``CONSENSUS_START`` / ``CONSENSUS_END``, which end its stream the same way).

    Args:
        handler: The sync or async handler to call.
        interval: Seconds between two delivered events of one name in one run.
        *names: Debounce only these names (default: every name).

    Returns:
        A handler to pass as ``on_event=``.

    Raises:
        TypeError: When ``handler`` is not callable.
        ValueError: When ``interval`` is not > 0 or a name is unknown.
    """
    _check_callable(handler, "debounce() handler")
    seconds = _check_seconds(interval, "debounce() interval")
    chosen = _event_names(names, "debounce") if names else None
    return _Debounced(handler, seconds, chosen)


# -- batch -------------------------------------------------------------------------------------


class BatchHandler:
    """An ``on_event`` handler delivering events in lists (see :func:`batch`).

    Safe to share between concurrent runs (tasks or threads): taking a full batch out of the
    buffer is atomic, so each event is delivered exactly once, in order within its run.
    """

    def __init__(self, target: BatchTarget, size: int, interval: float | None) -> None:
        self._target = target
        self._size = size
        self._interval = interval
        self._buffers: dict[str, list[ObservabilityEvent]] = {}
        self._lock = threading.Lock()

    def __call__(self, event: ObservabilityEvent) -> Awaitable[None] | None:
        with self._lock:
            buffer = self._buffers.setdefault(event.stream_id, [])
            buffer.append(event)
            if not (
                len(buffer) >= self._size
                or event.name in _ENDS
                or (self._interval is not None and event.ts - buffer[0].ts >= self._interval)
            ):
                return None
            del self._buffers[event.stream_id]
        return _await_if_needed(self._target(buffer))

    @property
    def pending(self) -> int:
        """Events buffered and not yet delivered (all runs)."""
        with self._lock:
            return sum(len(b) for b in self._buffers.values())

    def flush(self) -> Awaitable[None] | None:
        """Deliver every buffered event now (one list per run); await the result when the
        target is async. Runs end with ``SESSION_END``, which flushes by itself: this is for
        runs cut short (a process shutting down)."""
        with self._lock:
            batches = list(self._buffers.values())
            self._buffers.clear()
        for i, events in enumerate(batches):
            result = _await_if_needed(self._target(events))
            if result is not None:
                return _flush_rest(result, self._target, batches[i + 1 :])
        return None


async def _flush_rest(
    pending: Awaitable[None], target: BatchTarget, rest: list[list[ObservabilityEvent]]
) -> None:
    await pending
    for events in rest:
        result = _await_if_needed(target(events))
        if result is not None:
            await result


def batch(target: BatchTarget, size: int = 50, *, interval: float | None = None) -> BatchHandler:
    """A handler collecting each run's events and passing them to ``target`` in lists.

    A run's batch is delivered when it holds ``size`` events, when its oldest event is
    ``interval`` seconds older than the newest (on the events' ``ts``), and at the run's
    ``SESSION_END`` (a consensus's ``CONSENSUS_END``), so nothing is left behind. A batch
    never mixes runs.

    Args:
        target: A sync or async callable taking a ``list`` of events.
        size: Events per batch (>= 1).
        interval: Deliver a batch once it spans this many seconds (``None``: size only).

    Returns:
        A :class:`BatchHandler` to pass as ``on_event=`` (``flush()`` delivers the rest).

    Raises:
        TypeError: When ``target`` is not callable.
        ValueError: When ``size`` < 1 or ``interval`` is not > 0.
    """
    _check_callable(target, "batch() target")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"batch() size must be an int >= 1, got {size!r}")
    seconds = None if interval is None else _check_seconds(interval, "batch() interval")
    return BatchHandler(target, size, seconds)
