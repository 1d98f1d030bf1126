"""The lifecycle event vocabulary: every event name and the fields of its payload.

This module sits at the bottom of the import graph (beside :class:`l0.types.ObservabilityEvent`):
the runtime emits these events, and observability (OpenTelemetry, Sentry, monitoring), the
integrations and user code subscribe to them. :mod:`l0.observability.events` re-exports it.

``on_event`` receives an :class:`l0.ObservabilityEvent` for each, synchronously with the
stream (never reordered; ``seq`` is gap-free). Building an event costs nothing when nobody
listens.

Fixed orders::

    success   SESSION_START ATTEMPT_START STREAM_INIT ADAPTER_DETECTED STREAM_READY
              [TIMEOUT_START] FIRST_TOKEN
              [CHECKPOINT_SAVED | GUARDRAIL_RULE_RESULT | DRIFT_CHECK_RESULT | TOOL_REQUESTED]*
              STREAM_END [GUARDRAIL_PHASE_START GUARDRAIL_RULE_RESULT* GUARDRAIL_PHASE_END]
              [DRIFT_CHECK_RESULT] COMPLETE [RETRY_END] [FALLBACK_END] SESSION_END
    retry     … [TIMEOUT_TRIGGERED] [NETWORK_ERROR] ERROR RETRY_ATTEMPT [RESET]
              ATTEMPT_START [RESUME_START] STREAM_INIT …
    fallback  … [TIMEOUT_TRIGGERED] [NETWORK_ERROR] ERROR [RETRY_GIVE_UP] FALLBACK_START [RESET]
              ATTEMPT_START [RESUME_START] STREAM_INIT …
    failure   … ERROR [RETRY_GIVE_UP] SESSION_END
    abort     … ABORT_REQUESTED ERROR SESSION_END

``LOOP_LAG`` comes just before ``SESSION_END`` when the event loop was blocked during the run.

``RESET`` is emitted (and a ``RESET`` stream event yielded) only when text was delivered and
the next attempt cannot continue from it. ``RESUME_START`` only when it does continue; then
``CONTINUATION_AMBIGUOUS`` may follow ``FIRST_TOKEN`` once the resumed text is aligned, and
``RESET`` when the resumed text restarted the answer in other words (``Continuation``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

from typing_extensions import TypedDict

if TYPE_CHECKING:
    from l0.guardrails.hooks import Violation
    from l0.types import Result, Telemetry, Usage

__all__ = [
    "PAYLOADS",
    "AbortRequestedData",
    "AdapterDetectedData",
    "AttemptStartData",
    "BreakerChangeData",
    "CheckpointSavedData",
    "CompleteData",
    "ConsensusAnalysisData",
    "ConsensusEndData",
    "ConsensusOutputData",
    "ConsensusStartData",
    "ContinuationAmbiguousData",
    "DriftCheckResultData",
    "EmptyData",
    "ErrorData",
    "EventName",
    "FallbackEndData",
    "FallbackStartData",
    "FirstTokenData",
    "GuardrailPhaseEndData",
    "GuardrailPhaseStartData",
    "GuardrailRuleResultData",
    "LoopLagData",
    "NetworkErrorData",
    "ResetData",
    "ResumeStartData",
    "RetryAttemptData",
    "RetryEndData",
    "RetryGiveUpData",
    "SessionEndData",
    "SessionStartData",
    "StreamEndData",
    "StructuredAutoCorrectData",
    "StructuredParseStartData",
    "StructuredValidatedData",
    "StructuredValidationErrorData",
    "TimeoutStartData",
    "TimeoutTriggeredData",
    "ToolRequestedData",
]


class EventName(str, Enum):
    """Lifecycle event names (the value is the name itself)."""

    SESSION_START = "SESSION_START"
    """data: ``fallbacks`` (count), ``continuation`` (bool), ``context`` (the run's context,
    deep-copied and read-only; also on every event as :attr:`ObservabilityEvent.context`)."""
    ATTEMPT_START = "ATTEMPT_START"
    """data: ``number``, ``retry_count``, ``fallback_index``, ``is_retry``, ``is_fallback``,
    ``is_continuation``."""
    STREAM_INIT = "STREAM_INIT"
    """The source factory is about to be called."""
    ADAPTER_DETECTED = "ADAPTER_DETECTED"
    """data: ``adapter`` (name)."""
    STREAM_READY = "STREAM_READY"
    """The provider stream is open and being read."""
    TIMEOUT_START = "TIMEOUT_START"
    """The attempt's timers are armed (after ``STREAM_READY``, when a per-attempt limit is
    set); data: ``initial_token``, ``inter_token``, ``total`` (configured seconds, ``None``
    when off)."""
    FIRST_TOKEN = "FIRST_TOKEN"
    """data: ``ttft`` (seconds since the attempt started)."""
    CHECKPOINT_SAVED = "CHECKPOINT_SAVED"
    """data: ``token_count``, ``length`` (chars kept)."""
    GUARDRAIL_PHASE_START = "GUARDRAIL_PHASE_START"
    """The completion guardrail check begins (after ``STREAM_END``); data: ``final``
    (always true: streaming checks report only their violations), ``length`` (chars of
    the answer checked)."""
    GUARDRAIL_RULE_RESULT = "GUARDRAIL_RULE_RESULT"
    """data: ``rule``, ``violation`` (a :class:`l0.guardrails.Violation`), ``final``."""
    GUARDRAIL_PHASE_END = "GUARDRAIL_PHASE_END"
    """The completion check ended, after its ``GUARDRAIL_RULE_RESULT`` events and before the
    ``ERROR`` a rejecting violation causes; data: ``final``, ``violations`` (count),
    ``passed``, ``duration`` (s)."""
    DRIFT_CHECK_RESULT = "DRIFT_CHECK_RESULT"
    """data: ``detected``, ``types``, ``confidence``, ``final``."""
    TOOL_REQUESTED = "TOOL_REQUESTED"
    """data: ``id``, ``name``, ``arguments``."""
    STREAM_END = "STREAM_END"
    """The source finished normally; data: ``finish_reason``, ``token_count``."""
    TIMEOUT_TRIGGERED = "TIMEOUT_TRIGGERED"
    """data: ``kind`` (initial_token / inter_token / total), ``timeout``, ``elapsed``."""
    NETWORK_ERROR = "NETWORK_ERROR"
    """data: ``kind`` (a :class:`l0.errors.NetworkErrorKind` value), ``error``."""
    ERROR = "ERROR"
    """data: ``error``, ``code``, ``category``, ``action`` (retry / fallback / give_up),
    ``reason``."""
    RETRY_ATTEMPT = "RETRY_ATTEMPT"
    """data: ``retry`` (1-based on this source), ``delay``, ``counts`` (toward attempts),
    ``category``, ``reason``."""
    RETRY_GIVE_UP = "RETRY_GIVE_UP"
    """data: ``reason``, ``retries``."""
    FALLBACK_START = "FALLBACK_START"
    """data: ``from_index``, ``to_index``, ``reason``."""
    RESET = "RESET"
    """data: ``discard`` (chars the consumer must drop)."""
    RESUME_START = "RESUME_START"
    """data: ``checkpoint_length`` (chars delivered), ``held_back`` (chars of it not sent
    back, which the resumed stream should restate), ``token_count``."""
    CONTINUATION_AMBIGUOUS = "CONTINUATION_AMBIGUOUS"
    """A resumed stream could not be aligned with the delivered text by evidence alone; the
    documented policy decided (:mod:`l0.runtime.continuation`, docs/continuation.md). data:
    ``reason`` (``several`` readings fit / the model ``diverged`` from the held-back text),
    ``removed`` (chars dropped from the resumed stream), ``candidates``, ``held_back``."""
    ABORT_REQUESTED = "ABORT_REQUESTED"
    """The caller aborted; data: ``token_count``."""
    COMPLETE = "COMPLETE"
    """data: ``token_count``, ``length``, ``duration``, ``finish_reason``, ``usage`` (an
    :class:`l0.Usage` or ``None``), ``tool_calls`` (count), ``fallback_index``, ``result``
    (the :class:`l0.Result`)."""
    LOOP_LAG = "LOOP_LAG"
    """The event loop was blocked during the run: a watchdog timer fired more than
    ``threshold`` seconds late. data: ``lag`` (the most seconds late), ``count`` (timers that
    late), ``threshold``. A stall deadline that passed while the loop was blocked is
    re-checked after received data is read, so lag alone never cuts a stream."""
    RETRY_END = "RETRY_END"
    """After ``COMPLETE`` of a run that retried; data: ``retries``, ``success`` (true)."""
    FALLBACK_END = "FALLBACK_END"
    """After ``COMPLETE`` (and ``RETRY_END``) of a run a fallback answered; data: ``index``
    (the fallback's source index), ``success`` (true)."""
    BREAKER_OPEN = "BREAKER_OPEN"
    """A call this run made on its :class:`l0.CircuitBreaker` opened a key's circuit (a
    counted failure: the threshold reached, or a half-open trial failed), before that
    failure's ``NETWORK_ERROR``/``ERROR``. data: ``key``, ``state_from``,
    ``state_to`` (``open``), ``failures`` (counted failures that opened it),
    ``opened_until`` (when it turns half-open, on the breaker's clock)."""
    BREAKER_HALF_OPEN = "BREAKER_HALF_OPEN"
    """The run's call let a trial through an open circuit whose recovery time passed (before
    ``STREAM_INIT``); data as ``BREAKER_OPEN`` (``failures`` 0, ``opened_until`` ``None``)."""
    BREAKER_CLOSE = "BREAKER_CLOSE"
    """The run's half-open trial succeeded and closed the circuit (before ``COMPLETE``); data
    as ``BREAKER_OPEN`` (``failures`` 0, ``opened_until`` ``None``)."""
    SESSION_END = "SESSION_END"
    """Always last; data: ``status`` (completed / errored / aborted), ``attempts``,
    ``telemetry`` (the :class:`l0.Telemetry`), ``error`` (what the run raised, else ``None``)."""

    # Structured output (emitted by l0.structured).
    STRUCTURED_PARSE_START = "STRUCTURED_PARSE_START"
    """``l0.structured`` starts parsing an attempt's text; data: ``length``."""
    STRUCTURED_AUTO_CORRECT = "STRUCTURED_AUTO_CORRECT"
    """The text was repaired before validation; data: ``corrections``, ``valid``."""
    STRUCTURED_VALIDATION_ERROR = "STRUCTURED_VALIDATION_ERROR"
    """The parsed value failed the schema (the attempt is retried); data: ``errors``."""
    STRUCTURED_VALIDATED = "STRUCTURED_VALIDATED"
    """The parsed value passed the schema; data: ``corrected``."""

    # Consensus (emitted by l0.consensus under its own stream_id; each source's run keeps its
    # own events and stream_id).
    CONSENSUS_START = "CONSENSUS_START"
    """``l0.consensus`` checked its options and starts every source; data: ``sources``
    (count), ``strategy``, ``threshold``, ``resolve``, ``structured`` (``model=`` given),
    ``stream_ids`` (each source's run id, in source order)."""
    CONSENSUS_OUTPUT_COLLECTED = "CONSENSUS_OUTPUT_COLLECTED"
    """One source's run ended (in the order they end, after that run's ``SESSION_END``);
    data: ``index``, ``ok``, ``length`` (chars of its text, 0 when it failed), ``error``
    (what ended it, else ``None``)."""
    CONSENSUS_ANALYSIS = "CONSENSUS_ANALYSIS"
    """The successful outputs were compared (not emitted when every source failed); data:
    ``compared`` (their indexes), ``agreements`` / ``disagreements`` (pairs at / below the
    threshold), ``mean_similarity``, ``min_similarity`` (over those pairs; 1.0 with fewer
    than two outputs)."""
    CONSENSUS_END = "CONSENSUS_END"
    """Always the last event of a consensus, before it returns or raises; data: ``status``
    (``agreed`` / ``disagreed`` / ``failed``: every source failed / ``cancelled``),
    ``winner_index`` (``None`` when failed), ``agreement``, ``confidence``, ``resolution``,
    ``duration`` (s, on the runs' clock)."""


# -- payloads: ``ObservabilityEvent.data`` for each name -------------------------------------


class EmptyData(TypedDict):
    """No fields (``STREAM_INIT``, ``STREAM_READY``)."""


class SessionStartData(TypedDict):
    """``SESSION_START``."""

    fallbacks: int
    continuation: bool
    context: Mapping[str, Any]


class AttemptStartData(TypedDict):
    """``ATTEMPT_START``."""

    number: int
    retry_count: int
    fallback_index: int
    is_retry: bool
    is_fallback: bool
    is_continuation: bool


class AdapterDetectedData(TypedDict):
    """``ADAPTER_DETECTED``."""

    adapter: str


class FirstTokenData(TypedDict):
    """``FIRST_TOKEN``."""

    ttft: float | None


class CheckpointSavedData(TypedDict):
    """``CHECKPOINT_SAVED``."""

    token_count: int
    length: int


class TimeoutStartData(TypedDict):
    """``TIMEOUT_START``."""

    initial_token: float | None
    inter_token: float | None
    total: float | None


class GuardrailPhaseStartData(TypedDict):
    """``GUARDRAIL_PHASE_START``."""

    final: bool
    length: int


class GuardrailPhaseEndData(TypedDict):
    """``GUARDRAIL_PHASE_END``."""

    final: bool
    violations: int
    passed: bool
    duration: float


class RetryEndData(TypedDict):
    """``RETRY_END``."""

    retries: int
    success: bool


class FallbackEndData(TypedDict):
    """``FALLBACK_END``."""

    index: int
    success: bool


class GuardrailRuleResultData(TypedDict):
    """``GUARDRAIL_RULE_RESULT``."""

    rule: str
    violation: Violation
    final: bool


class DriftCheckResultData(TypedDict):
    """``DRIFT_CHECK_RESULT``."""

    detected: bool
    types: tuple[str, ...]
    confidence: float
    final: bool


class ToolRequestedData(TypedDict):
    """``TOOL_REQUESTED``."""

    id: str | None
    name: str | None
    arguments: Any


class StreamEndData(TypedDict):
    """``STREAM_END``."""

    finish_reason: str | None
    token_count: int


class TimeoutTriggeredData(TypedDict):
    """``TIMEOUT_TRIGGERED``."""

    kind: str
    timeout: float
    elapsed: float


class LoopLagData(TypedDict):
    """``LOOP_LAG``."""

    lag: float
    count: int
    threshold: float


class NetworkErrorData(TypedDict):
    """``NETWORK_ERROR``."""

    kind: str | None
    error: BaseException


class ErrorData(TypedDict):
    """``ERROR``."""

    error: BaseException
    code: str | None
    category: str
    action: str
    reason: str


class RetryAttemptData(TypedDict):
    """``RETRY_ATTEMPT``."""

    retry: int
    delay: float
    counts: bool
    category: str | None
    reason: str


class RetryGiveUpData(TypedDict):
    """``RETRY_GIVE_UP``."""

    reason: str
    retries: int


class FallbackStartData(TypedDict):
    """``FALLBACK_START``."""

    from_index: int
    to_index: int
    reason: str


class ResetData(TypedDict):
    """``RESET``."""

    discard: int


class ResumeStartData(TypedDict):
    """``RESUME_START``."""

    checkpoint_length: int
    held_back: int
    token_count: int


class ContinuationAmbiguousData(TypedDict):
    """``CONTINUATION_AMBIGUOUS``."""

    reason: str
    removed: int
    candidates: tuple[int, ...]
    held_back: int


class AbortRequestedData(TypedDict):
    """``ABORT_REQUESTED``."""

    token_count: int


class CompleteData(TypedDict):
    """``COMPLETE``."""

    token_count: int
    length: int
    duration: float | None
    finish_reason: str | None
    usage: Usage | None
    tool_calls: int
    fallback_index: int
    result: Result


class BreakerChangeData(TypedDict):
    """``BREAKER_OPEN``, ``BREAKER_HALF_OPEN``, ``BREAKER_CLOSE``."""

    key: str
    state_from: str
    state_to: str
    failures: int
    opened_until: float | None


class SessionEndData(TypedDict):
    """``SESSION_END``."""

    status: str
    attempts: int
    telemetry: Telemetry
    error: BaseException | None


class StructuredParseStartData(TypedDict):
    """``STRUCTURED_PARSE_START``."""

    length: int


class StructuredAutoCorrectData(TypedDict):
    """``STRUCTURED_AUTO_CORRECT``."""

    corrections: Sequence[str]
    valid: bool


class StructuredValidationErrorData(TypedDict):
    """``STRUCTURED_VALIDATION_ERROR``."""

    errors: tuple[dict[str, Any], ...]


class StructuredValidatedData(TypedDict):
    """``STRUCTURED_VALIDATED``."""

    corrected: bool


class ConsensusStartData(TypedDict):
    """``CONSENSUS_START``."""

    sources: int
    strategy: str
    threshold: float
    resolve: str
    structured: bool
    stream_ids: tuple[str, ...]


class ConsensusOutputData(TypedDict):
    """``CONSENSUS_OUTPUT_COLLECTED``."""

    index: int
    ok: bool
    length: int
    error: BaseException | None


class ConsensusAnalysisData(TypedDict):
    """``CONSENSUS_ANALYSIS``."""

    compared: tuple[int, ...]
    agreements: int
    disagreements: int
    mean_similarity: float
    min_similarity: float


class ConsensusEndData(TypedDict):
    """``CONSENSUS_END``."""

    status: str
    winner_index: int | None
    agreement: float
    confidence: float
    resolution: str
    duration: float


_N = EventName
PAYLOADS: Mapping[EventName, type[Any]] = {
    _N.SESSION_START: SessionStartData,
    _N.ATTEMPT_START: AttemptStartData,
    _N.STREAM_INIT: EmptyData,
    _N.ADAPTER_DETECTED: AdapterDetectedData,
    _N.STREAM_READY: EmptyData,
    _N.TIMEOUT_START: TimeoutStartData,
    _N.FIRST_TOKEN: FirstTokenData,
    _N.CHECKPOINT_SAVED: CheckpointSavedData,
    _N.GUARDRAIL_PHASE_START: GuardrailPhaseStartData,
    _N.GUARDRAIL_RULE_RESULT: GuardrailRuleResultData,
    _N.GUARDRAIL_PHASE_END: GuardrailPhaseEndData,
    _N.DRIFT_CHECK_RESULT: DriftCheckResultData,
    _N.TOOL_REQUESTED: ToolRequestedData,
    _N.STREAM_END: StreamEndData,
    _N.TIMEOUT_TRIGGERED: TimeoutTriggeredData,
    _N.NETWORK_ERROR: NetworkErrorData,
    _N.ERROR: ErrorData,
    _N.RETRY_ATTEMPT: RetryAttemptData,
    _N.RETRY_GIVE_UP: RetryGiveUpData,
    _N.FALLBACK_START: FallbackStartData,
    _N.RESET: ResetData,
    _N.RESUME_START: ResumeStartData,
    _N.CONTINUATION_AMBIGUOUS: ContinuationAmbiguousData,
    _N.ABORT_REQUESTED: AbortRequestedData,
    _N.COMPLETE: CompleteData,
    _N.LOOP_LAG: LoopLagData,
    _N.RETRY_END: RetryEndData,
    _N.FALLBACK_END: FallbackEndData,
    _N.BREAKER_OPEN: BreakerChangeData,
    _N.BREAKER_HALF_OPEN: BreakerChangeData,
    _N.BREAKER_CLOSE: BreakerChangeData,
    _N.SESSION_END: SessionEndData,
    _N.STRUCTURED_PARSE_START: StructuredParseStartData,
    _N.STRUCTURED_AUTO_CORRECT: StructuredAutoCorrectData,
    _N.STRUCTURED_VALIDATION_ERROR: StructuredValidationErrorData,
    _N.STRUCTURED_VALIDATED: StructuredValidatedData,
    _N.CONSENSUS_START: ConsensusStartData,
    _N.CONSENSUS_OUTPUT_COLLECTED: ConsensusOutputData,
    _N.CONSENSUS_ANALYSIS: ConsensusAnalysisData,
    _N.CONSENSUS_END: ConsensusEndData,
}
"""The payload type of each event: ``cast(PAYLOADS[name], event.data)``-style typed access;
a test checks every emitted event's fields against it."""
