"""Private OpenTelemetry providers with in-memory exporters (globals are never set)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from l0.observability.opentelemetry import OpenTelemetryHandler


@dataclass
class Otel:
    """The handler and what it exported."""

    handler: OpenTelemetryHandler
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    tracer_provider: TracerProvider

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        found = [s for s in self.spans() if s.name == name]
        assert len(found) == 1, [s.name for s in self.spans()]
        return found[0]

    def metrics(self) -> dict[str, list[Any]]:
        """Metric name -> its data points (empty when nothing was recorded)."""
        out: dict[str, list[Any]] = {}
        data = self.reader.get_metrics_data()
        for rm in data.resource_metrics if data else ():
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    out.setdefault(metric.name, []).extend(metric.data.data_points)
        return out

    def total(self, name: str, **attrs: Any) -> float:
        """Sum of a counter (or count of a histogram) over points matching ``attrs``."""
        total = 0.0
        for point in self.metrics().get(name, []):
            if all(point.attributes.get(k) == v for k, v in attrs.items()):
                total += getattr(point, "value", None) or getattr(point, "count", 0)
        return total


def make_otel(**options: Any) -> Otel:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    handler = OpenTelemetryHandler(tracer_provider, meter_provider, **options)
    return Otel(handler, exporter, reader, tracer_provider)


@pytest.fixture
def otel() -> Iterator[Otel]:
    o = make_otel()
    yield o
    o.tracer_provider.shutdown()
