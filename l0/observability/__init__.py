"""Lifecycle events (:mod:`.events`) and where they go.

- :mod:`.events`: the catalog of event names, in the order they are emitted;
- :mod:`.monitoring`: :func:`combine` several ``on_event`` handlers into one;
- :mod:`.opentelemetry`: ``OpenTelemetryHandler`` (spans, events, GenAI metrics; ``l0[otel]``);
- :mod:`.sentry`: ``SentryHandler`` (breadcrumbs, captured failures, transactions; ``l0[sentry]``).
"""

from l0.observability.events import EventName
from l0.observability.monitoring import combine

__all__ = ["EventName", "combine"]
