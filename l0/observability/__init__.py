"""Lifecycle events (:mod:`.events`) and where they go: monitoring, OpenTelemetry, Sentry."""

from l0.observability.events import EventName

__all__ = ["EventName"]
