"""Lifecycle events (:mod:`.events`) and where they go.

- :mod:`.events`: the catalog of event names, in the order they are emitted;
- :mod:`.monitoring`: :class:`Monitor` aggregates across runs (sampled), JSON export;
- :mod:`.tools`: :func:`combine`, :func:`filter_events`, :func:`exclude_events`,
  :func:`debounce` and :func:`batch` compose ``on_event`` handlers;
- :mod:`.opentelemetry`: ``OpenTelemetryHandler`` (spans, events, GenAI metrics; ``l0[otel]``);
- :mod:`.sentry`: ``SentryHandler`` (breadcrumbs, captured failures, transactions; ``l0[sentry]``).
"""

from l0.observability.events import EventName
from l0.observability.monitoring import Histogram, Monitor, MonitorSnapshot
from l0.observability.tools import (
    BatchHandler,
    batch,
    combine,
    debounce,
    exclude_events,
    filter_events,
)

__all__ = [
    "BatchHandler",
    "EventName",
    "Histogram",
    "Monitor",
    "MonitorSnapshot",
    "batch",
    "combine",
    "debounce",
    "exclude_events",
    "filter_events",
]
