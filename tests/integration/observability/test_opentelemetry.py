"""OpenTelemetryHandler against the real opentelemetry-sdk (in-memory exporters)."""

from __future__ import annotations

import anyio
import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

import l0
from l0.guardrails import CustomPatternRule
from l0.observability.opentelemetry import OpenTelemetryHandler
from l0.testing import FakeClock, ScriptedSource, drop, stall, tokens

from .conftest import Otel, make_otel

pytestmark = pytest.mark.anyio

RETRY = l0.Retry(attempts=3, base_delay=0.5, backoff="fixed")


def _all_attribute_text(otel: Otel) -> str:
    parts: list[str] = []
    for span in otel.spans():
        parts += [str(v) for v in (span.attributes or {}).values()]
        for ev in span.events:
            parts += [ev.name, *(str(v) for v in (ev.attributes or {}).values())]
    return " ".join(parts)


async def test_success_one_run_span_one_attempt_span(otel: Otel) -> None:
    result = await l0.run(
        ScriptedSource(tokens("Hello, world!")),
        on_event=otel.handler,
        context={"model": "gpt-4o-mini", "system": "openai"},
        clock=FakeClock(),
    )
    assert result.text == "Hello, world!"
    run = otel.span("chat gpt-4o-mini")
    attempt = otel.span("l0.attempt 1")
    assert run.kind is SpanKind.CLIENT
    assert run.status.status_code is StatusCode.OK
    assert attempt.parent is not None and attempt.parent.span_id == run.context.span_id
    attrs = dict(run.attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o-mini"
    assert attrs["l0.outcome"] == "completed"
    assert attrs["l0.attempts"] == 1
    assert attrs["l0.retries"] == 0
    assert attrs["l0.content_length"] == len("Hello, world!")
    # No provider usage on a plain text stream: nothing invented from the chunk count.
    assert "gen_ai.usage.output_tokens" not in attrs
    assert dict(attempt.attributes or {})["l0.adapter"] == "text"
    assert otel.total("l0.requests", **{"l0.outcome": "completed"}) == 1
    assert otel.total("l0.retries") == 0
    assert otel.total("gen_ai.client.operation.duration") == 1
    assert otel.total("gen_ai.client.operation.time_to_first_chunk") == 1
    # Content is never recorded by default.
    assert "Hello" not in _all_attribute_text(otel)


async def test_span_name_without_model_is_the_operation_name(otel: Otel) -> None:
    await l0.run(ScriptedSource(tokens("hi there")), on_event=otel.handler, clock=FakeClock())
    assert [s.name for s in otel.spans()] == ["l0.attempt 1", "chat"]


async def test_retry_is_an_event_and_counted_once(otel: Otel) -> None:
    clock = FakeClock()
    source = ScriptedSource([*tokens("Hello, wor"), drop()], tokens("Hello, world!"))
    result = await l0.run(source, on_event=otel.handler, retry=RETRY, clock=clock)
    assert result.text == "Hello, world!"
    run = otel.span("chat")
    first, second = otel.span("l0.attempt 1"), otel.span("l0.attempt 2")
    assert first.status.status_code is StatusCode.ERROR
    assert [e.name for e in first.events] == ["l0.network_error", "exception"]
    assert dict(first.attributes or {})["l0.error.category"] == "network"
    assert dict(second.attributes or {})["l0.attempt.is_retry"] is True
    assert second.status.status_code is StatusCode.UNSET
    assert [e.name for e in run.events] == ["l0.retry", "l0.reset"]
    retry_attrs = dict(run.events[0].attributes or {})
    assert retry_attrs["l0.retry.category"] == "network"
    assert retry_attrs["l0.retry.delay"] == clock.sleeps[0]
    assert dict(run.events[1].attributes or {})["l0.reset.discard"] == len("Hello, wor")
    assert run.status.status_code is StatusCode.OK
    assert dict(run.attributes or {})["l0.retries"] == 1
    assert otel.total("l0.retries") == 1  # not once per type, not once per event kind
    assert otel.total("l0.retries", **{"l0.error.category": "network"}) == 1
    assert otel.total("l0.errors", **{"l0.error.category": "network"}) == 1
    assert otel.total("l0.requests", **{"l0.outcome": "completed"}) == 1


async def test_fallback_event_attribute_and_counter(otel: Otel) -> None:
    primary = ScriptedSource([])  # no output: a content error, retried then abandoned
    backup = ScriptedSource(tokens("from the backup"))
    result = await l0.run(
        primary,
        fallbacks=[backup],
        retry=l0.Retry(attempts=1, base_delay=0),
        on_event=otel.handler,
        clock=FakeClock(),
    )
    assert result.text == "from the backup"
    run = otel.span("chat")
    assert [e.name for e in run.events] == ["l0.retry", "l0.retry_give_up", "l0.fallback"]
    fb = dict(run.events[2].attributes or {})
    assert (fb["l0.fallback.from_index"], fb["l0.fallback.to_index"]) == (0, 1)
    attrs = dict(run.attributes or {})
    assert attrs["l0.fallback.index"] == 1 and attrs["l0.attempts"] == 3
    third = dict(otel.span("l0.attempt 3").attributes or {})
    assert third["l0.attempt.is_fallback"] is True and third["l0.attempt.fallback_index"] == 1
    assert otel.total("l0.fallbacks") == 1
    assert otel.total("l0.retries", **{"l0.error.category": "content"}) == 1
    assert otel.total("l0.errors", **{"l0.error.code": "ZERO_OUTPUT"}) == 2


async def test_final_failure_span_is_ended_with_error_status(otel: Otel) -> None:
    source = ScriptedSource([*tokens("partial"), drop("connection reset by peer")])
    with pytest.raises(l0.L0Error):
        await l0.run(
            source,
            on_event=otel.handler,
            retry=l0.Retry(max_retries=2, base_delay=0),
            clock=FakeClock(),
        )
    run = otel.span("chat")  # exported, so ended
    assert run.end_time is not None
    assert run.status.status_code is StatusCode.ERROR
    attrs = dict(run.attributes or {})
    assert attrs["l0.outcome"] == "errored"
    assert attrs["l0.error.category"] == "network"
    assert attrs["error.type"] == "RetriesExhaustedError"  # what the caller got
    assert attrs["l0.retries"] == 2
    assert "exception" in [e.name for e in run.events]
    assert len([s for s in otel.spans() if s.name.startswith("l0.attempt")]) == 3
    assert all(s.end_time is not None for s in otel.spans())
    assert otel.total("l0.requests", **{"l0.outcome": "errored"}) == 1
    assert otel.total("l0.retries") == 2
    assert otel.total("gen_ai.client.operation.duration", **{"l0.outcome": "errored"}) == 1


async def test_abort_ends_the_spans_without_error_status(otel: Otel) -> None:
    source = ScriptedSource([*tokens("one two three four"), stall(5)])
    with pytest.raises(l0.AbortedError):
        async with l0.stream(source, on_event=otel.handler) as s:
            async for ev in s:
                if ev.type is l0.EventType.TOKEN:
                    s.abort()
    run = otel.span("chat")
    assert dict(run.attributes or {})["l0.outcome"] == "aborted"
    assert run.status.status_code is StatusCode.UNSET
    assert "l0.abort" in [e.name for e in otel.span("l0.attempt 1").events]
    assert otel.total("l0.requests", **{"l0.outcome": "aborted"}) == 1


async def test_cancellation_from_outside_ends_the_spans(otel: Otel) -> None:
    source = ScriptedSource([*tokens("some text"), stall(5)])
    with anyio.move_on_after(0.05):
        await l0.run(source, on_event=otel.handler)
    names = sorted(s.name for s in otel.spans())
    assert names == ["chat", "l0.attempt 1"]
    assert dict(otel.span("chat").attributes or {})["l0.outcome"] == "aborted"
    assert otel.handler._runs == {}  # nothing left behind


async def test_early_break_by_the_consumer_ends_the_spans(otel: Otel) -> None:
    source = ScriptedSource(tokens("a b c d e f g h"))
    async with l0.stream(source, on_event=otel.handler, clock=FakeClock()) as s:
        async for _ in s:
            break
    assert sorted(s.name for s in otel.spans()) == ["chat", "l0.attempt 1"]


async def test_concurrent_runs_share_one_handler(otel: Otel) -> None:
    async def one(text: str) -> None:
        await l0.run(ScriptedSource(tokens(text)), on_event=otel.handler, clock=FakeClock())

    async with anyio.create_task_group() as tg:
        for text in ("first answer", "second answer", "third answer"):
            tg.start_soon(one, text)
    runs = [s for s in otel.spans() if s.name == "chat"]
    assert len({s.context.trace_id for s in runs}) == 3
    for attempt in (s for s in otel.spans() if s.name == "l0.attempt 1"):
        assert attempt.parent is not None
        assert attempt.parent.span_id in {r.context.span_id for r in runs}
    assert otel.total("l0.requests") == 3


async def test_run_span_is_a_child_of_the_callers_span(otel: Otel) -> None:
    tracer = otel.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("request handler") as outer:
        await l0.run(ScriptedSource(tokens("hi there")), on_event=otel.handler, clock=FakeClock())
    run = otel.span("chat")
    assert run.parent is not None and run.parent.span_id == outer.get_span_context().span_id


async def test_guardrail_violation_is_a_span_event_message_only_with_content() -> None:
    rule = CustomPatternRule([r"secret-\d+"], message="leaked", severity="fatal")
    for record in (False, True):
        otel = make_otel(record_content=record)
        with pytest.raises(l0.L0Error):
            await l0.run(
                ScriptedSource(tokens("the code is secret-123 ok")),
                guardrails=[rule],
                retry=l0.Retry(base_delay=0),
                on_event=otel.handler,
                clock=FakeClock(),
            )
        events = [e for s in otel.spans() for e in s.events if e.name == "l0.guardrail_violation"]
        assert events
        attrs = dict(events[0].attributes or {})
        assert attrs["l0.guardrail.severity"] == "fatal"
        assert attrs["l0.guardrail.rule"] == "custom_pattern"
        assert ("l0.guardrail.message" in attrs) is record


def test_globals_are_read_not_set() -> None:
    before = trace.get_tracer_provider()
    OpenTelemetryHandler()
    assert trace.get_tracer_provider() is before


def test_bad_option_is_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match="record_content"):
        OpenTelemetryHandler(record_content="yes")  # type: ignore[arg-type]


async def test_drop_retry_and_fallback_span_tree_events_and_metrics(otel: Otel) -> None:
    """One scripted run: a drop (network retry), an empty answer (content retry, then the
    budget is used), the fallback answers with provider usage."""
    clock = FakeClock()
    primary = ScriptedSource([*tokens("Hello, wor"), drop()], [])
    usage = l0.Usage(input_tokens=9, output_tokens=4)
    done = l0.Event(l0.EventType.COMPLETE, data={"finish_reason": "stop", "usage": usage})
    backup = ScriptedSource([*tokens("Hi from the backup"), done])
    result = await l0.run(
        primary,
        fallbacks=[backup],
        retry=l0.Retry(attempts=1, base_delay=0.5, backoff="fixed"),
        on_event=otel.handler,
        clock=clock,
        context={"model": "m1"},
    )
    assert result.text == "Hi from the backup"
    run = otel.span("chat m1")
    attempts = [otel.span(f"l0.attempt {n}") for n in (1, 2, 3, 4)]
    # The tree: every attempt is a child of the run span, in one trace.
    for span in attempts:
        assert span.parent is not None and span.parent.span_id == run.context.span_id
        assert span.context.trace_id == run.context.trace_id
    outcome = [dict(s.attributes or {}) for s in attempts]
    assert [a["l0.attempt.number"] for a in outcome] == [1, 2, 3, 4]
    assert [a["l0.attempt.outcome"] for a in outcome] == ["errored"] * 3 + ["completed"]
    assert [a.get("error.type") for a in outcome] == [
        "NetworkError",
        "ZeroOutputError",
        "ZeroOutputError",
        None,
    ]
    assert [s.status.status_code for s in attempts] == [StatusCode.ERROR] * 3 + [StatusCode.UNSET]
    assert outcome[3]["l0.attempt.is_fallback"] is True
    # The run span's events: retry, reset, retry, give-up, fallback.
    events = [(e.name, dict(e.attributes or {})) for e in run.events]
    assert [name for name, _ in events] == [
        "l0.retry",
        "l0.reset",
        "l0.retry",
        "l0.retry_give_up",
        "l0.fallback",
    ]
    first_retry, second_retry = events[0][1], events[2][1]
    assert first_retry["l0.attempt.number"] == 1
    assert first_retry["error.type"] == "NetworkError"
    assert first_retry["l0.error.category"] == "network"
    assert first_retry["l0.retry.counts"] is False
    assert first_retry["l0.retry.delay"] == clock.sleeps[0] == 0.5
    assert second_retry["l0.attempt.number"] == 2
    assert second_retry["error.type"] == "ZeroOutputError"
    assert second_retry["l0.error.category"] == "content"
    assert second_retry["l0.retry.counts"] is True
    fallback = events[4][1]
    assert fallback["l0.attempt.number"] == 3
    assert fallback["error.type"] == "ZeroOutputError"
    assert (fallback["l0.fallback.from_index"], fallback["l0.fallback.to_index"]) == (0, 1)
    attrs = dict(run.attributes or {})
    assert attrs["l0.attempts"] == 4 and attrs["l0.retries"] == 2
    assert attrs["gen_ai.usage.input_tokens"] == 9
    assert run.status.status_code is StatusCode.OK and "error.type" not in attrs
    # Metric points.
    assert otel.total("l0.retries", **{"l0.error.category": "network"}) == 1
    assert otel.total("l0.retries", **{"l0.error.category": "content"}) == 1
    assert otel.total("l0.errors", **{"l0.error.code": "ZERO_OUTPUT"}) == 2
    assert otel.total("l0.fallbacks") == 1
    assert otel.total("l0.requests", **{"l0.outcome": "completed"}) == 1
    assert otel.total("gen_ai.client.operation.duration", **{"l0.outcome": "completed"}) == 1
    # First chunks: attempt 1 (before its drop) and the fallback; the empty ones had none.
    assert otel.total("gen_ai.client.operation.time_to_first_chunk") == 2
    usage_points = otel.metrics()["gen_ai.client.token.usage"]
    assert {p.attributes["gen_ai.token.type"]: p.sum for p in usage_points} == {
        "input": 9,
        "output": 4,
    }
    (duration,) = otel.metrics()["gen_ai.client.operation.duration"]
    assert duration.sum == pytest.approx(sum(clock.sleeps))  # the backoffs, on the run's clock
