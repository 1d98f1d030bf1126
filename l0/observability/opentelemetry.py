"""OpenTelemetry traces and metrics for l0 runs, as an ``on_event`` handler.

::

    from l0.observability.opentelemetry import OpenTelemetryHandler

    otel = OpenTelemetryHandler()  # the global tracer/meter providers, or pass your own
    await l0.run(source, on_event=otel, context={"model": "gpt-4o-mini"})

One span per run, named as the GenAI conventions say (``{gen_ai.operation.name}
{gen_ai.request.model}``: ``chat gpt-4o-mini``; ``chat`` when ``context`` names no model), which
covers every retry and fallback of the logical operation; one child span per attempt; span
events for retries, fallbacks, timeouts, network errors, guardrail violations, drift, resume and
reset. The run span is always ended: ``SESSION_END`` is the last event of every run (success,
failure, abort, cancellation). Attribute and metric names follow the OpenTelemetry GenAI
semantic conventions (the names below; a test compares them with the
``opentelemetry-semantic-conventions`` package); l0's own live under ``l0.*``. Only the
OpenTelemetry API is used (the conventions package is not needed at run time); global providers
are read, never set.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

try:
    from opentelemetry import trace
    from opentelemetry.metrics import MeterProvider, get_meter_provider
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider
    from opentelemetry.util.types import AttributeValue
except ImportError as exc:  # pragma: no cover - the otel extra installs it
    raise ImportError(
        "l0.observability.opentelemetry needs opentelemetry-api: pip install 'l0[otel]'"
    ) from exc

from l0 import __version__
from l0.observability._common import (
    Outcome,
    RunDispatcher,
    context_model,
    context_system,
    usage_of,
)
from l0.redaction import redact_text
from l0.types import ObservabilityEvent

__all__ = ["OpenTelemetryHandler"]

_SCOPE = "l0"

# OpenTelemetry GenAI semantic-convention names. Kept here rather than imported from
# opentelemetry-semantic-conventions: that package is not a dependency of the API, and its GenAI
# names live in a private ``_incubating`` module. tests/integration/observability/test_semconv.py
# checks every name l0 emits against the package's constants.
_OPERATION_NAME = "gen_ai.operation.name"
_PROVIDER_NAME = "gen_ai.provider.name"
_REQUEST_MODEL = "gen_ai.request.model"
_FINISH_REASONS = "gen_ai.response.finish_reasons"
_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"
_INPUT_TOKENS = "gen_ai.usage.input_tokens"
_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
_TOKEN_TYPE = "gen_ai.token.type"
_TOOL_NAME = "gen_ai.tool.name"
_TOOL_CALL_ID = "gen_ai.tool.call.id"
_TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
_ERROR_TYPE = "error.type"
_CHAT = "chat"  # the gen_ai.operation.name value
_METRIC_TOKEN_USAGE = "gen_ai.client.token.usage"
_METRIC_OPERATION_DURATION = "gen_ai.client.operation.duration"
_METRIC_TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk"

# The bucket boundaries the conventions advise.
_TOKEN_BUCKETS = tuple(4**i for i in range(14))  # 1, 4, 16, ... 67108864
_SECONDS_BUCKETS = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)

Attrs = dict[str, AttributeValue]


@dataclass(slots=True)
class _Run:
    """What the handler keeps for one live run (keyed by ``stream_id``)."""

    span: Span
    started: float
    base: Attrs  # gen_ai.* attributes shared by the run's metrics
    attempt: Span | None = None
    attempt_number: int = 0
    last_error: BaseException | None = None
    error_attrs: Attrs = field(default_factory=dict)
    finish_reason: str | None = None
    usage: Any = None
    retries: int = 0


class OpenTelemetryHandler(RunDispatcher[_Run]):
    """An ``on_event`` handler turning l0 lifecycle events into OpenTelemetry spans and metrics.

    One instance may serve many concurrent runs (state is kept per ``stream_id`` and dropped
    at ``SESSION_END``). Combine it with other handlers through
    :func:`l0.observability.monitoring.combine`.

    Args:
        tracer_provider: Where spans go; the global provider when ``None``.
        meter_provider: Where metrics go; the global provider when ``None``.
        record_content: Also record content-bearing fields (tool-call arguments, guardrail
            violation messages). Off by default: no model output leaves the process.
        attributes: Extra attributes put on every run span.
    """

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        *,
        record_content: bool = False,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        tp = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
        mp = meter_provider if meter_provider is not None else get_meter_provider()
        if not isinstance(record_content, bool):
            raise TypeError(f"record_content must be a bool, got {type(record_content).__name__}")
        self.record_content = record_content
        self._extra: Attrs = dict(attributes or {})
        self._tracer = tp.get_tracer(_SCOPE, __version__)
        meter = mp.get_meter(_SCOPE, __version__)
        self._requests = meter.create_counter(
            "l0.requests", unit="{request}", description="l0 runs, by outcome"
        )
        self._retries = meter.create_counter(
            "l0.retries", unit="{retry}", description="Retries, by error category (once each)"
        )
        self._fallbacks = meter.create_counter(
            "l0.fallbacks", unit="{fallback}", description="Switches to a fallback source"
        )
        self._errors = meter.create_counter(
            "l0.errors", unit="{error}", description="Attempt failures, by category and code"
        )
        self._tokens = meter.create_histogram(
            _METRIC_TOKEN_USAGE,
            unit="{token}",
            description="Provider-reported input and output tokens per run",
            explicit_bucket_boundaries_advisory=list(_TOKEN_BUCKETS),
        )
        self._duration = meter.create_histogram(
            _METRIC_OPERATION_DURATION,
            unit="s",
            description="Duration of an l0 run, every attempt included",
            explicit_bucket_boundaries_advisory=list(_SECONDS_BUCKETS),
        )
        self._ttft = meter.create_histogram(
            _METRIC_TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time from an attempt's request to its first token",
            explicit_bucket_boundaries_advisory=list(_SECONDS_BUCKETS),
        )
        self._runs: dict[str, _Run] = {}
        self._dispatch: dict[str, Callable[[_Run, ObservabilityEvent], None]] = {
            "ATTEMPT_START": self._attempt_start,
            "ADAPTER_DETECTED": self._adapter,
            "FIRST_TOKEN": self._first_token,
            "STREAM_END": self._stream_end,
            "TIMEOUT_TRIGGERED": self._timeout,
            "NETWORK_ERROR": self._network_error,
            "GUARDRAIL_RULE_RESULT": self._violation,
            "DRIFT_CHECK_RESULT": self._drift,
            "TOOL_REQUESTED": self._tool,
            "RESUME_START": self._resume,
            "CONTINUATION_AMBIGUOUS": self._ambiguous,
            "ERROR": self._error,
            "RETRY_ATTEMPT": self._retry,
            "RETRY_GIVE_UP": self._give_up,
            "FALLBACK_START": self._fallback,
            "RESET": self._reset,
            "ABORT_REQUESTED": self._abort,
            "COMPLETE": self._complete,
        }

    # -- session -------------------------------------------------------------------------------

    def _open(self, event: ObservabilityEvent) -> _Run:
        data = event.data
        context = data.get("context") or {}
        model = context_model(context)
        base: Attrs = {_OPERATION_NAME: _CHAT}
        provider = context_system(context)
        if provider:
            base[_PROVIDER_NAME] = provider
        if model:
            base[_REQUEST_MODEL] = model
        attrs: Attrs = {
            **self._extra,
            **base,
            "l0.stream_id": event.stream_id,
            "l0.fallbacks": int(data.get("fallbacks") or 0),
            "l0.continuation": bool(data.get("continuation")),
        }
        span = self._tracer.start_span(
            f"{_CHAT} {model}" if model else _CHAT, kind=SpanKind.CLIENT, attributes=attrs
        )
        return _Run(span=span, started=event.ts, base=base)

    def _close(self, run: _Run, event: ObservabilityEvent) -> None:
        outcome = Outcome.of(event.data.get("status"))
        self._end_attempt(run, run.last_error, outcome)
        span = run.span
        span.set_attribute("l0.outcome", outcome.value)
        span.set_attribute("l0.attempts", int(event.data.get("attempts") or 0))
        span.set_attribute("l0.retries", run.retries)
        usage = run.usage if run.usage is not None else usage_of(event.data)
        self._record_usage(run, usage)
        metric_attrs: Attrs = {**run.base, "l0.outcome": outcome.value}
        if outcome is Outcome.ERRORED:
            raised = event.data.get("error")  # what the caller got, else the last failure
            err = raised if isinstance(raised, BaseException) else run.last_error
            error_type = _error_type(err)
            span.set_attributes({**run.error_attrs, _ERROR_TYPE: error_type})
            _record_error(span, err)
            metric_attrs[_ERROR_TYPE] = error_type
        elif outcome is Outcome.COMPLETED:
            span.set_status(Status(StatusCode.OK))
        self._requests.add(1, metric_attrs)
        self._duration.record(max(0.0, event.ts - run.started), metric_attrs)
        span.end()

    def _record_usage(self, run: _Run, usage: Any) -> None:
        input_tokens = getattr(usage, "input_tokens", None)
        output_tokens = getattr(usage, "output_tokens", None)
        for kind, key, count in (
            ("input", _INPUT_TOKENS, input_tokens),
            ("output", _OUTPUT_TOKENS, output_tokens),
        ):
            if isinstance(count, int):
                run.span.set_attribute(key, count)
                self._tokens.record(count, {**run.base, _TOKEN_TYPE: kind})

    # -- attempts ------------------------------------------------------------------------------

    def _attempt_start(self, run: _Run, event: ObservabilityEvent) -> None:
        self._end_attempt(run, None, Outcome.ABORTED)
        d = event.data
        number = int(d.get("number") or event.attempt)
        attrs: Attrs = {
            "l0.attempt.number": number,
            "l0.attempt.retry_count": int(d.get("retry_count") or 0),
            "l0.attempt.fallback_index": int(d.get("fallback_index") or 0),
            "l0.attempt.is_retry": bool(d.get("is_retry")),
            "l0.attempt.is_fallback": bool(d.get("is_fallback")),
            "l0.attempt.is_continuation": bool(d.get("is_continuation")),
        }
        ctx = trace.set_span_in_context(run.span)
        run.attempt = self._tracer.start_span(f"l0.attempt {number}", context=ctx, attributes=attrs)
        run.attempt_number = number

    def _end_attempt(self, run: _Run, error: BaseException | None, outcome: Outcome) -> None:
        """End the open attempt span (if any) with its outcome; a failed attempt gets
        ``error.type``, the exception event and ERROR status."""
        span = run.attempt
        if span is None:
            return
        run.attempt = None
        span.set_attribute("l0.attempt.outcome", outcome.value)
        if outcome is Outcome.ERRORED:
            span.set_attribute(_ERROR_TYPE, _error_type(error))
            _record_error(span, error)
        span.end()

    def _target(self, run: _Run) -> Span:
        return run.attempt if run.attempt is not None else run.span

    def _adapter(self, run: _Run, event: ObservabilityEvent) -> None:
        name = event.data.get("adapter")
        if run.attempt is not None and name:
            run.attempt.set_attribute("l0.adapter", str(name))
        if name in ("openai", "anthropic") and _PROVIDER_NAME not in run.base:
            run.base[_PROVIDER_NAME] = str(name)
            run.span.set_attribute(_PROVIDER_NAME, str(name))

    def _first_token(self, run: _Run, event: ObservabilityEvent) -> None:
        ttft = event.data.get("ttft")
        if isinstance(ttft, (int, float)):
            self._target(run).set_attribute(_TIME_TO_FIRST_CHUNK, float(ttft))
            self._ttft.record(float(ttft), run.base)

    def _stream_end(self, run: _Run, event: ObservabilityEvent) -> None:
        reason = event.data.get("finish_reason")
        if reason:
            run.finish_reason = str(reason)
        self._target(run).set_attribute("l0.token_count", int(event.data.get("token_count") or 0))

    # -- span events -----------------------------------------------------------------------------

    def _timeout(self, run: _Run, event: ObservabilityEvent) -> None:
        d = event.data
        attrs: Attrs = {"l0.timeout.kind": str(d.get("kind"))}
        for key in ("timeout", "elapsed"):
            if isinstance(d.get(key), (int, float)):
                attrs[f"l0.timeout.{key}"] = float(d[key])
        self._target(run).add_event("l0.timeout", attrs)

    def _network_error(self, run: _Run, event: ObservabilityEvent) -> None:
        err = event.data.get("error")
        self._target(run).add_event(
            "l0.network_error",
            {"l0.network.kind": str(event.data.get("kind")), _ERROR_TYPE: _error_type(err)},
        )

    def _violation(self, run: _Run, event: ObservabilityEvent) -> None:
        v = event.data.get("violation")
        attrs: Attrs = {
            "l0.guardrail.rule": str(event.data.get("rule")),
            "l0.guardrail.severity": str(getattr(getattr(v, "severity", None), "value", "")),
            "l0.guardrail.recoverable": bool(getattr(v, "recoverable", False)),
            "l0.guardrail.final": bool(event.data.get("final")),
        }
        if self.record_content and getattr(v, "message", None):
            attrs["l0.guardrail.message"] = redact_text(str(v.message))  # type: ignore[union-attr]
        self._target(run).add_event("l0.guardrail_violation", attrs)

    def _drift(self, run: _Run, event: ObservabilityEvent) -> None:
        d = event.data
        if not d.get("detected"):
            return
        attrs: Attrs = {
            "l0.drift.types": [str(t) for t in d.get("types") or ()],
            "l0.drift.final": bool(d.get("final")),
        }
        if isinstance(d.get("confidence"), (int, float)):
            attrs["l0.drift.confidence"] = float(d["confidence"])
        self._target(run).add_event("l0.drift", attrs)

    def _tool(self, run: _Run, event: ObservabilityEvent) -> None:
        d = event.data
        attrs: Attrs = {
            _TOOL_NAME: str(d.get("name")),
            _TOOL_CALL_ID: str(d.get("id")),
        }
        if self.record_content and d.get("arguments") is not None:
            attrs[_TOOL_CALL_ARGUMENTS] = redact_text(str(d["arguments"]))
        self._target(run).add_event("l0.tool_requested", attrs)

    def _resume(self, run: _Run, event: ObservabilityEvent) -> None:
        d = event.data
        self._target(run).add_event(
            "l0.resume",
            {
                "l0.resume.checkpoint_length": int(d.get("checkpoint_length") or 0),
                "l0.resume.held_back": int(d.get("held_back") or 0),
                "l0.resume.token_count": int(d.get("token_count") or 0),
            },
        )

    def _ambiguous(self, run: _Run, event: ObservabilityEvent) -> None:
        d = event.data
        self._target(run).add_event(
            "l0.continuation.ambiguous",
            {
                "l0.continuation.reason": str(d.get("reason")),
                "l0.continuation.removed": int(d.get("removed") or 0),
                "l0.continuation.held_back": int(d.get("held_back") or 0),
            },
        )

    def _error(self, run: _Run, event: ObservabilityEvent) -> None:
        d = event.data
        err = d.get("error")
        run.last_error = err if isinstance(err, BaseException) else None
        run.error_attrs = {
            "l0.error.category": str(d.get("category")),
            "l0.error.code": str(d.get("code")),
            "l0.error.action": str(d.get("action")),
            _ERROR_TYPE: _error_type(run.last_error),
        }
        if self._target(run) is run.attempt:
            run.attempt.set_attributes(run.error_attrs)
        self._errors.add(
            1,
            {
                **run.base,
                "l0.error.category": str(d.get("category")),
                "l0.error.code": str(d.get("code")),
            },
        )
        self._end_attempt(run, run.last_error, Outcome.ERRORED)

    def _failure(self, run: _Run) -> Attrs:
        """What a retry, give-up or fallback event says about the failure that caused it."""
        attrs: Attrs = {"l0.attempt.number": run.attempt_number}
        if run.error_attrs:
            attrs[_ERROR_TYPE] = run.error_attrs[_ERROR_TYPE]
            attrs["l0.error.category"] = run.error_attrs["l0.error.category"]
        return attrs

    def _retry(self, run: _Run, event: ObservabilityEvent) -> None:
        d = event.data
        run.retries += 1
        category = str(d.get("category"))
        counts = bool(d.get("counts"))
        attrs: Attrs = {
            **self._failure(run),
            "l0.retry.number": int(d.get("retry") or run.retries),
            "l0.retry.category": category,
            "l0.retry.counts": counts,
            "l0.retry.reason": str(d.get("reason")),
        }
        if isinstance(d.get("delay"), (int, float)):
            attrs["l0.retry.delay"] = float(d["delay"])
        run.span.add_event("l0.retry", attrs)
        self._retries.add(1, {**run.base, "l0.error.category": category, "l0.retry.counts": counts})

    def _give_up(self, run: _Run, event: ObservabilityEvent) -> None:
        run.span.add_event(
            "l0.retry_give_up",
            {
                **self._failure(run),
                "l0.retry.reason": str(event.data.get("reason")),
                "l0.retries": run.retries,
            },
        )

    def _fallback(self, run: _Run, event: ObservabilityEvent) -> None:
        d = event.data
        to_index = int(d.get("to_index") or 0)
        run.span.add_event(
            "l0.fallback",
            {
                **self._failure(run),
                "l0.fallback.from_index": int(d.get("from_index") or 0),
                "l0.fallback.to_index": to_index,
                "l0.fallback.reason": str(d.get("reason")),
            },
        )
        run.span.set_attribute("l0.fallback.index", to_index)
        self._fallbacks.add(1, run.base)

    def _reset(self, run: _Run, event: ObservabilityEvent) -> None:
        run.span.add_event("l0.reset", {"l0.reset.discard": int(event.data.get("discard") or 0)})

    def _abort(self, run: _Run, event: ObservabilityEvent) -> None:
        tokens = int(event.data.get("token_count") or 0)
        self._target(run).add_event("l0.abort", {"l0.token_count": tokens})

    def _complete(self, run: _Run, event: ObservabilityEvent) -> None:
        d = event.data
        self._end_attempt(run, None, Outcome.COMPLETED)
        reason = d.get("finish_reason") or run.finish_reason
        span = run.span
        if reason:
            span.set_attribute(_FINISH_REASONS, [str(reason)])
        span.set_attribute("l0.token_count", int(d.get("token_count") or 0))
        span.set_attribute("l0.content_length", int(d.get("length") or 0))
        run.usage = usage_of(d)


def _error_type(err: BaseException | None) -> str:
    """``error.type``: the exception's class name (the conventions' fallback ``_OTHER`` when
    there is none)."""
    return type(err).__qualname__ if err is not None else "_OTHER"


def _describe(err: BaseException | None) -> str:
    return redact_text(f"{type(err).__name__}: {err}") if err is not None else "l0 run failed"


def _record_error(span: Span, err: BaseException | None) -> None:
    """The exception event and ERROR status, credentials masked (the traceback's chain
    includes the SDK's own error, whose message may echo a key)."""
    if err is not None:
        trace_text = "".join(traceback.format_exception(type(err), err, err.__traceback__))
        span.record_exception(
            err,
            attributes={
                "exception.message": redact_text(str(err)),
                "exception.stacktrace": redact_text(trace_text),
            },
        )
    span.set_status(Status(StatusCode.ERROR, _describe(err)))
