"""The catalog of lifecycle (observability) event names, in the order they are emitted.

``on_event`` receives an :class:`l0.ObservabilityEvent` for each, synchronously with the
stream (never reordered; ``seq`` is gap-free). Building an event costs nothing when nobody
listens.

Fixed orders::

    success   SESSION_START ATTEMPT_START STREAM_INIT ADAPTER_DETECTED STREAM_READY FIRST_TOKEN
              [CHECKPOINT_SAVED | GUARDRAIL_RULE_RESULT | DRIFT_CHECK_RESULT | TOOL_REQUESTED]*
              STREAM_END [GUARDRAIL_RULE_RESULT | DRIFT_CHECK_RESULT]* COMPLETE SESSION_END
    retry     … [TIMEOUT_TRIGGERED] [NETWORK_ERROR] ERROR RETRY_ATTEMPT [RESET]
              ATTEMPT_START [RESUME_START] STREAM_INIT …
    fallback  … [TIMEOUT_TRIGGERED] [NETWORK_ERROR] ERROR [RETRY_GIVE_UP] FALLBACK_START [RESET]
              ATTEMPT_START [RESUME_START] STREAM_INIT …
    failure   … ERROR [RETRY_GIVE_UP] SESSION_END
    abort     … ABORT_REQUESTED ERROR SESSION_END

``RESET`` is emitted (and a ``RESET`` stream event yielded) only when text was delivered and
the next attempt cannot continue from it. ``RESUME_START`` only when it does continue; then
``CONTINUATION_AMBIGUOUS`` may follow ``FIRST_TOKEN`` once the resumed text is aligned.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["EventName"]


class EventName(str, Enum):
    """Lifecycle event names (the value is the name itself)."""

    SESSION_START = "SESSION_START"
    """data: ``fallbacks`` (count), ``continuation`` (bool), ``context``."""
    ATTEMPT_START = "ATTEMPT_START"
    """data: ``number``, ``retry_count``, ``fallback_index``, ``is_retry``, ``is_fallback``,
    ``is_continuation``."""
    STREAM_INIT = "STREAM_INIT"
    """The source factory is about to be called."""
    ADAPTER_DETECTED = "ADAPTER_DETECTED"
    """data: ``adapter`` (name)."""
    STREAM_READY = "STREAM_READY"
    """The provider stream is open and being read."""
    FIRST_TOKEN = "FIRST_TOKEN"
    """data: ``ttft`` (seconds since the attempt started)."""
    CHECKPOINT_SAVED = "CHECKPOINT_SAVED"
    """data: ``token_count``, ``length`` (chars kept)."""
    GUARDRAIL_RULE_RESULT = "GUARDRAIL_RULE_RESULT"
    """data: ``rule``, ``violation`` (a :class:`l0.guardrails.Violation`), ``final``."""
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
    """data: ``checkpoint_length`` (chars delivered), ``held_back`` (chars of it not sent back,
    which the resumed stream should restate), ``token_count``."""
    CONTINUATION_AMBIGUOUS = "CONTINUATION_AMBIGUOUS"
    """A resumed stream could not be aligned with the delivered text by evidence alone; the
    documented policy decided (:mod:`l0.runtime.continuation`). data: ``reason``
    (``several`` readings fit / the model ``diverged`` from the held-back text), ``removed``
    (chars dropped from the resumed stream), ``candidates``, ``held_back`` (chars)."""
    ABORT_REQUESTED = "ABORT_REQUESTED"
    """The caller aborted; data: ``token_count``."""
    COMPLETE = "COMPLETE"
    """data: ``token_count``, ``length``, ``duration``, ``finish_reason``, ``usage`` (an
    :class:`l0.Usage` or ``None``), ``tool_calls`` (count), ``fallback_index``, ``result``
    (the :class:`l0.Result`)."""
    SESSION_END = "SESSION_END"
    """Always last; data: ``status`` (completed / errored / aborted), ``attempts``,
    ``telemetry`` (the :class:`l0.Telemetry`), ``error`` (what the run raised, else ``None``)."""

    # Structured output (emitted by l0.structured).
    STRUCTURED_PARSE_START = "STRUCTURED_PARSE_START"
    STRUCTURED_AUTO_CORRECT = "STRUCTURED_AUTO_CORRECT"
    STRUCTURED_VALIDATION_ERROR = "STRUCTURED_VALIDATION_ERROR"
    STRUCTURED_VALIDATED = "STRUCTURED_VALIDATED"
