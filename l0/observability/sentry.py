"""Sentry breadcrumbs, error events and performance spans for l0 runs, as an ``on_event``
handler.

::

    import sentry_sdk
    from l0.observability.sentry import SentryHandler

    sentry_sdk.init(dsn=..., traces_sample_rate=0.1)  # your app does this, not l0
    await l0.run(source, on_event=SentryHandler())

Retries, fallbacks, timeouts, network errors, resets and aborts become breadcrumbs; a run
that finally fails is captured once (tags: the l0 error's category and code, the HTTP status
when there is one, the run's ``stream_id``); with tracing enabled each run is a transaction
(or a child of the span already running) with one child span per attempt, finished when the
run ends. Captured events carry no frame local variables (they could hold prompts or
headers), no prompt text and no model output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

try:
    import sentry_sdk
    from sentry_sdk.tracing import Span
    from sentry_sdk.tracing_utils import has_tracing_enabled
    from sentry_sdk.utils import event_from_exception, exc_info_from_error
except ImportError as exc:  # pragma: no cover - the sentry extra installs it
    raise ImportError("l0.observability.sentry needs sentry-sdk: pip install 'l0[sentry]'") from exc

from l0.observability._common import (
    Outcome,
    RunDispatcher,
    context_model,
    context_system,
    usage_of,
)
from l0.redaction import redact
from l0.types import ObservabilityEvent

__all__ = ["SentryHandler"]

_SEVERITY_RANK = {"warning": 0, "error": 1, "fatal": 2}
_NETWORK_CATEGORIES = frozenset({"network", "transient"})
_SPAN_STATUS = {
    Outcome.COMPLETED: "ok",
    Outcome.ERRORED: "internal_error",
    Outcome.ABORTED: "cancelled",
}
# Breadcrumb message and level per event; data comes from the event's (content-free) fields.
_CRUMBS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "SESSION_START": ("l0 run started", "info", ("fallbacks", "continuation")),
    "RETRY_ATTEMPT": ("l0 retry", "warning", ("retry", "delay", "counts", "category", "reason")),
    "RETRY_GIVE_UP": ("l0 gave up retrying", "warning", ("reason", "retries")),
    "FALLBACK_START": ("l0 fallback", "warning", ("from_index", "to_index", "reason")),
    "TIMEOUT_TRIGGERED": ("l0 timeout", "warning", ("kind", "timeout", "elapsed")),
    "NETWORK_ERROR": ("l0 network error", "warning", ("kind",)),
    "ERROR": ("l0 attempt failed", "warning", ("code", "category", "action", "reason")),
    "RESET": ("l0 reset delivered text", "info", ("discard",)),
    "RESUME_START": (
        "l0 resumed from checkpoint",
        "info",
        ("checkpoint_length", "held_back", "token_count"),
    ),
    "CONTINUATION_AMBIGUOUS": (
        "l0 continuation ambiguous",
        "warning",
        ("reason", "removed", "candidates", "held_back"),
    ),
    "ABORT_REQUESTED": ("l0 run aborted", "info", ("token_count",)),
    "DRIFT_CHECK_RESULT": ("l0 drift detected", "warning", ("types", "confidence", "final")),
}


@dataclass(slots=True)
class _Run:
    """What the handler keeps for one live run (keyed by ``stream_id``)."""

    span: Span | None
    attempt: Span | None = None
    error: BaseException | None = None
    tags: dict[str, str] = field(default_factory=dict)
    reported_rules: set[str] = field(default_factory=set)


class SentryHandler(RunDispatcher[_Run]):
    """An ``on_event`` handler reporting l0 runs to Sentry.

    One instance may serve many concurrent runs. It does nothing while no Sentry client is
    active. Combine it with other handlers through :func:`l0.observability.monitoring.combine`.

    Args:
        scope: The :class:`sentry_sdk.Scope` to report to; by default breadcrumbs go to the
            isolation scope and events/spans to the current scope (as ``sentry_sdk.*`` do).
        capture_network_errors: Capture a final failure whose category is network or
            transient (retried network errors are breadcrumbs only, always).
        min_violation_severity: Capture a message, once per rule and run, for a guardrail
            violation at or above this severity (``"warning"``, ``"error"``, ``"fatal"``);
            ``None`` never captures violations (they are still breadcrumbs).
        breadcrumbs: Add breadcrumbs for retries, fallbacks, timeouts, errors and the like.
        record_content: Include guardrail violation messages (they may quote model output).

    Raises:
        ValueError: For an unknown ``min_violation_severity``.
    """

    def __init__(
        self,
        scope: sentry_sdk.Scope | None = None,
        *,
        capture_network_errors: bool = True,
        min_violation_severity: str | None = "error",
        breadcrumbs: bool = True,
        record_content: bool = False,
    ) -> None:
        if min_violation_severity is not None and min_violation_severity not in _SEVERITY_RANK:
            raise ValueError(
                "min_violation_severity must be 'warning', 'error', 'fatal' or None, "
                f"got {min_violation_severity!r}"
            )
        self._scope = scope
        self.capture_network_errors = capture_network_errors
        self._min_rank = (
            None if min_violation_severity is None else _SEVERITY_RANK[min_violation_severity]
        )
        self.breadcrumbs = breadcrumbs
        self.record_content = record_content
        self._runs: dict[str, _Run] = {}
        self._dispatch: dict[str, Callable[[_Run, ObservabilityEvent], None]] = {
            "ATTEMPT_START": self._attempt_start,
            "ERROR": self._error,
            "GUARDRAIL_RULE_RESULT": self._violation,
            "COMPLETE": self._complete,
        }

    def _open(self, event: ObservabilityEvent) -> _Run | None:
        if not sentry_sdk.get_client().is_active():
            return None
        return _Run(span=self._start_span(event))

    def _seen(self, run: _Run, event: ObservabilityEvent) -> None:
        if self.breadcrumbs and event.name in _CRUMBS:
            self._crumb(event)

    # -- scopes and spans ------------------------------------------------------------------------

    def _event_scope(self) -> sentry_sdk.Scope:
        return self._scope if self._scope is not None else sentry_sdk.get_current_scope()

    def _crumb(self, event: ObservabilityEvent) -> None:
        message, level, keys = _CRUMBS[event.name]
        if event.name == "DRIFT_CHECK_RESULT" and not event.data.get("detected"):
            return
        data: dict[str, Any] = {k: event.data[k] for k in keys if k in event.data}
        data["stream_id"] = event.stream_id
        data["attempt"] = event.attempt
        self._add_breadcrumb(message, level, data)

    def _add_breadcrumb(self, message: str, level: str, data: dict[str, Any]) -> None:
        scope = self._scope if self._scope is not None else sentry_sdk.get_isolation_scope()
        scope.add_breadcrumb(category="l0", message=message, level=level, data=redact(data))

    def _start_span(self, event: ObservabilityEvent) -> Span | None:
        if not has_tracing_enabled(sentry_sdk.get_client().options):
            return None
        context = event.data.get("context") or {}
        model = context_model(context)
        name = f"chat {model}" if model else "l0.stream"
        scope = self._event_scope()
        parent = scope.span
        span: Span = (
            parent.start_child(op="gen_ai.chat", name=name)
            if parent is not None
            else scope.start_transaction(op="gen_ai.chat", name=name)
        )
        span.set_data("l0.stream_id", event.stream_id)
        span.set_tag("l0.stream_id", event.stream_id)
        span.set_data("gen_ai.operation.name", "chat")
        if model:
            span.set_data("gen_ai.request.model", model)
        provider = context_system(context)
        if provider:
            # (``gen_ai.system`` is deprecated in the GenAI conventions and in Sentry's SDK)
            span.set_data("gen_ai.provider.name", provider)
        return span

    # -- events ----------------------------------------------------------------------------------

    def _attempt_start(self, run: _Run, event: ObservabilityEvent) -> None:
        self._end_attempt(run, "ok")
        if run.span is not None:
            run.attempt = run.span.start_child(op="l0.attempt", name=f"l0.attempt {event.attempt}")
            for key in ("retry_count", "fallback_index", "is_retry", "is_fallback"):
                run.attempt.set_data(f"l0.attempt.{key}", event.data.get(key))

    def _end_attempt(self, run: _Run, status: str) -> None:
        if run.attempt is not None:
            run.attempt.set_status(status)
            run.attempt.finish()
            run.attempt = None

    def _error(self, run: _Run, event: ObservabilityEvent) -> None:
        d = event.data
        err = d.get("error")
        run.error = err if isinstance(err, BaseException) else None
        run.tags = {
            "l0.error.category": str(d.get("category")),
            "l0.error.code": str(d.get("code")),
        }
        status = getattr(err, "status", None) or getattr(err, "status_code", None)
        if isinstance(status, int):
            run.tags["l0.error.status"] = str(status)
        self._end_attempt(run, "internal_error")

    def _violation(self, run: _Run, event: ObservabilityEvent) -> None:
        v = event.data.get("violation")
        rule = str(event.data.get("rule"))
        severity = str(getattr(getattr(v, "severity", None), "value", "error"))
        data: dict[str, Any] = {"rule": rule, "severity": severity, "stream_id": event.stream_id}
        if self.record_content and getattr(v, "message", None):
            data["message"] = str(v.message)  # type: ignore[union-attr]
        if self.breadcrumbs:
            self._add_breadcrumb("l0 guardrail violation", "warning", data)
        rank = _SEVERITY_RANK.get(severity, 1)
        if self._min_rank is None or rank < self._min_rank or rule in run.reported_rules:
            return
        run.reported_rules.add(rule)
        self._event_scope().capture_message(
            f"l0 guardrail violation: {rule}",
            level="warning" if rank == 0 else "error",
            tags={"l0.stream_id": event.stream_id, "l0.guardrail.rule": rule},
            contexts={"l0": data},
        )

    def _complete(self, run: _Run, event: ObservabilityEvent) -> None:
        self._end_attempt(run, "ok")
        span = run.span
        if span is None:
            return
        d = event.data
        if d.get("finish_reason"):
            span.set_data("gen_ai.response.finish_reasons", [str(d["finish_reason"])])
        span.set_data("l0.token_count", d.get("token_count"))
        usage = usage_of(d)
        for kind in ("input_tokens", "output_tokens"):
            count = getattr(usage, kind, None)
            if isinstance(count, int):
                span.set_data(f"gen_ai.usage.{kind}", count)

    def _close(self, run: _Run, event: ObservabilityEvent) -> None:
        outcome = Outcome.of(event.data.get("status"))
        self._end_attempt(run, _SPAN_STATUS[outcome])
        if outcome is Outcome.ERRORED and self._should_capture(run):
            self._capture_failure(run, event)
        if run.span is not None:
            run.span.set_data("l0.attempts", event.data.get("attempts"))
            run.span.set_status(_SPAN_STATUS[outcome])
            run.span.finish()

    def _should_capture(self, run: _Run) -> bool:
        category = run.tags.get("l0.error.category")
        return self.capture_network_errors or category not in _NETWORK_CATEGORIES

    def _capture_failure(self, run: _Run, event: ObservabilityEvent) -> None:
        err = run.error
        scope = self._event_scope()
        tags = {**run.tags, "l0.stream_id": event.stream_id}
        raised = event.data.get("error")
        if isinstance(raised, BaseException):
            tags["l0.error.raised"] = type(raised).__name__
        contexts = {"l0": {"stream_id": event.stream_id, "attempts": event.data.get("attempts")}}
        if err is None:
            scope.capture_message("l0 run failed", level="error", tags=tags, contexts=contexts)
            return
        # Build the event without frame variables: SDK frames hold prompts and headers.
        options = {**sentry_sdk.get_client().options, "include_local_variables": False}
        payload, hint = event_from_exception(exc_info_from_error(err), client_options=options)
        # The exception chain holds the SDK's own error, whose message may echo a key.
        scope.capture_event(redact(payload), hint=hint, tags=redact(tags), contexts=contexts)
