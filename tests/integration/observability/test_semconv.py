"""What OpenTelemetryHandler emits, checked against the opentelemetry-semantic-conventions package.

Every ``gen_ai.*`` / ``error.*`` name on a span, span event or metric point, and every
``gen_ai.*`` metric name, must be one of the package's constants (not a hand-typed string), the
deprecated ``gen_ai.system`` must not appear, and the required attributes, values and units
must be the package's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as attrs_pkg
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics as metrics_pkg
from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.trace import SpanKind

import l0
from l0.errors import AuthenticationError
from l0.testing import FakeClock, ScriptedSource, fail, tokens

from .conftest import Otel, make_otel

pytestmark = pytest.mark.anyio

MODEL = "gpt-4o-mini"
USAGE = l0.Usage(input_tokens=12, output_tokens=5, total_tokens=17)


def _constants(module: Any, prefix: str) -> set[str]:
    return {v for k, v in vars(module).items() if k.startswith(prefix) and isinstance(v, str)}


ATTRIBUTES = _constants(attrs_pkg, "GEN_AI_") | _constants(error_attributes, "ERROR_")
METRICS = _constants(metrics_pkg, "GEN_AI_CLIENT_")


def _answer() -> list[Any]:
    call = l0.ToolCall(id="c1", name="lookup", arguments={"q": 1}, raw_arguments='{"q": 1}')
    return [
        *tokens("Paris is the capital."),
        l0.Event(l0.EventType.TOOL_CALL, data=call),
        l0.Event(l0.EventType.COMPLETE, data={"finish_reason": "stop", "usage": USAGE}),
    ]


@pytest.fixture
def otel() -> Iterator[Otel]:
    o = make_otel(record_content=True)  # every attribute the handler can write
    yield o
    o.tracer_provider.shutdown()


async def _runs(otel: Otel) -> BaseException:
    context = {"model": MODEL, "provider": attrs_pkg.GenAiProviderNameValues.OPENAI.value}
    await l0.run(
        ScriptedSource(_answer()), on_event=otel.handler, context=context, clock=FakeClock()
    )
    with pytest.raises(l0.L0Error) as failed:
        await l0.run(
            ScriptedSource([fail(AuthenticationError("bad key"))]),
            on_event=otel.handler,
            context=context,
            clock=FakeClock(),
        )
    return failed.value


def _emitted_names(otel: Otel) -> set[str]:
    names: set[str] = set()
    for span in otel.spans():
        names |= set(span.attributes or {})
        for ev in span.events:
            names |= set(ev.attributes or {})
    for points in otel.metrics().values():
        for point in points:
            names |= set(point.attributes)
    return names


async def test_every_convention_name_emitted_is_a_package_constant(otel: Otel) -> None:
    await _runs(otel)
    emitted = _emitted_names(otel)
    ours = {n for n in emitted if n.startswith(("gen_ai.", "error."))}
    assert ours - ATTRIBUTES == set()
    assert attrs_pkg.GEN_AI_SYSTEM not in emitted  # deprecated for gen_ai.provider.name
    # Those the issue names are all there.
    assert {
        attrs_pkg.GEN_AI_OPERATION_NAME,
        attrs_pkg.GEN_AI_PROVIDER_NAME,
        attrs_pkg.GEN_AI_REQUEST_MODEL,
        attrs_pkg.GEN_AI_RESPONSE_FINISH_REASONS,
        attrs_pkg.GEN_AI_USAGE_INPUT_TOKENS,
        attrs_pkg.GEN_AI_USAGE_OUTPUT_TOKENS,
        attrs_pkg.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
        attrs_pkg.GEN_AI_TOKEN_TYPE,
        attrs_pkg.GEN_AI_TOOL_NAME,
        attrs_pkg.GEN_AI_TOOL_CALL_ID,
        attrs_pkg.GEN_AI_TOOL_CALL_ARGUMENTS,
        error_attributes.ERROR_TYPE,
    } <= ours
    metric_names = {n for n in otel.metrics() if n.startswith("gen_ai.")}
    assert metric_names == {
        metrics_pkg.GEN_AI_CLIENT_TOKEN_USAGE,
        metrics_pkg.GEN_AI_CLIENT_OPERATION_DURATION,
        metrics_pkg.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
    }
    assert metric_names <= METRICS


async def test_run_span_name_kind_and_attributes_follow_the_conventions(otel: Otel) -> None:
    raised = await _runs(otel)
    chat = attrs_pkg.GenAiOperationNameValues.CHAT.value
    ok, failed = (s for s in otel.spans() if s.name == f"{chat} {MODEL}")  # in end order
    for span in (ok, failed):
        a = dict(span.attributes or {})
        assert span.kind is SpanKind.CLIENT
        assert a[attrs_pkg.GEN_AI_OPERATION_NAME] == chat
        assert a[attrs_pkg.GEN_AI_PROVIDER_NAME] == "openai"
        assert a[attrs_pkg.GEN_AI_REQUEST_MODEL] == MODEL
    a = dict(ok.attributes or {})
    assert a[attrs_pkg.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert a[attrs_pkg.GEN_AI_USAGE_INPUT_TOKENS] == USAGE.input_tokens
    assert a[attrs_pkg.GEN_AI_USAGE_OUTPUT_TOKENS] == USAGE.output_tokens
    assert error_attributes.ERROR_TYPE not in a  # SHOULD NOT be set on success
    f = dict(failed.attributes or {})
    assert f[error_attributes.ERROR_TYPE] == type(raised).__qualname__
    assert attrs_pkg.GEN_AI_USAGE_INPUT_TOKENS not in f  # no usage reported: none invented


def _package_units() -> dict[str, str]:
    """The unit each metric gets from the package's own ``create_*`` functions."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("semconv")
    for create in (
        metrics_pkg.create_gen_ai_client_token_usage,
        metrics_pkg.create_gen_ai_client_operation_duration,
        metrics_pkg.create_gen_ai_client_operation_time_to_first_chunk,
    ):
        create(meter).record(1)
    data = reader.get_metrics_data()
    assert data is not None
    units = {
        m.name: m.unit
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    provider.shutdown()
    return units


async def test_metric_units_kinds_and_required_attributes(otel: Otel) -> None:
    raised = await _runs(otel)
    data = otel.reader.get_metrics_data()
    assert data is not None
    ours = {
        m.name: m
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name.startswith("gen_ai.")
    }
    for name, unit in _package_units().items():
        assert ours[name].unit == unit, name
    required = {attrs_pkg.GEN_AI_OPERATION_NAME, attrs_pkg.GEN_AI_PROVIDER_NAME}
    for metric in ours.values():
        for point in metric.data.data_points:
            assert required <= set(point.attributes), metric.name
            assert point.attributes[attrs_pkg.GEN_AI_REQUEST_MODEL] == MODEL
    usage = {
        p.attributes[attrs_pkg.GEN_AI_TOKEN_TYPE]: p.sum
        for p in ours[metrics_pkg.GEN_AI_CLIENT_TOKEN_USAGE].data.data_points
    }
    token_type = attrs_pkg.GenAiTokenTypeValues
    assert usage == {
        token_type.INPUT.value: USAGE.input_tokens,
        token_type.OUTPUT.value: USAGE.output_tokens,
    }
    durations = ours[metrics_pkg.GEN_AI_CLIENT_OPERATION_DURATION].data.data_points
    errors = [p.attributes.get(error_attributes.ERROR_TYPE) for p in durations]
    assert sorted(errors, key=str) == sorted([None, type(raised).__qualname__], key=str)
    first_chunk = ours[metrics_pkg.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK].data.data_points
    assert sum(p.count for p in first_chunk) == 1  # the failed run never produced a chunk
