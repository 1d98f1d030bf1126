"""Helpers shared by the OpenTelemetry and Sentry handlers (no third-party imports)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, Generic, TypeVar

from l0.types import ObservabilityEvent

__all__ = ["Outcome", "RunDispatcher", "context_model", "context_system", "usage_of"]

R = TypeVar("R")

_MODEL_KEYS = ("gen_ai.request.model", "model")
_SYSTEM_KEYS = ("gen_ai.provider.name", "gen_ai.system", "system", "provider")


class Outcome(str, Enum):
    """How a run ended (``SESSION_END``'s ``status``)."""

    COMPLETED = "completed"
    ERRORED = "errored"
    ABORTED = "aborted"

    @classmethod
    def of(cls, status: object) -> Outcome:
        """The outcome named by ``status``; anything unknown counts as an error."""
        try:
            return cls(str(status))
        except ValueError:
            return cls.ERRORED


def _first_str(context: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = context.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def context_model(context: Mapping[str, Any]) -> str | None:
    """The requested model named in the run's ``context`` (``model`` or
    ``gen_ai.request.model``), if any."""
    return _first_str(context, _MODEL_KEYS)


def context_system(context: Mapping[str, Any]) -> str | None:
    """The GenAI provider named in ``context`` (``gen_ai.provider.name``, ``gen_ai.system``,
    ``system`` or ``provider``), if any."""
    return _first_str(context, _SYSTEM_KEYS)


def usage_of(data: Mapping[str, Any]) -> Any:
    """The provider-reported :class:`l0.Usage` carried by an event's data, if any.

    Read from ``usage`` or from ``result.usage`` (a :class:`l0.Result`); never derived from
    the streamed-chunk count, which is not a token count.
    """
    usage = data.get("usage")
    if usage is None:
        usage = getattr(data.get("result"), "usage", None)
    return usage


class RunDispatcher(Generic[R]):
    """Routes a run's lifecycle events to per-event methods, keeping per-run state ``R``.

    Subclasses set ``_dispatch`` (event name -> method) and implement :meth:`_open` and
    :meth:`_close`; state lives from ``SESSION_START`` to ``SESSION_END`` (always last).
    """

    _runs: dict[str, R]
    _dispatch: dict[str, Callable[[R, ObservabilityEvent], None]]

    def __call__(self, event: ObservabilityEvent) -> None:
        """Handle one lifecycle event (synchronous: never delays the stream)."""
        name = event.name
        if name == "SESSION_START":
            opened = self._open(event)
            if opened is None:
                return
            self._runs[event.stream_id] = run = opened
        else:
            found = self._runs.get(event.stream_id)
            if found is None:  # attached mid-run, or inactive: nothing to attach it to
                return
            run = found
        self._seen(run, event)
        if name == "SESSION_END":
            del self._runs[event.stream_id]
            self._close(run, event)
            return
        method = self._dispatch.get(name)
        if method is not None:
            method(run, event)

    def _open(self, event: ObservabilityEvent) -> R | None:
        raise NotImplementedError

    def _close(self, run: R, event: ObservabilityEvent) -> None:
        raise NotImplementedError

    def _seen(self, run: R, event: ObservabilityEvent) -> None:
        """Called for every event of a tracked run, before its own method."""
