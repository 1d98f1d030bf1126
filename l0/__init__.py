"""l0: reliable, observable LLM token streams.

Layout (the data flow, left to right)::

    adapters/       provider stream -> l0 Event  (openai, anthropic, litellm, langchain, text)
    core.py         run / stream / run_sync / stream_sync: the attempt loop
    runtime/        classify -> retry decision -> backoff; watchdog, continuation, events, state
    guardrails/     rules over the text, incrementally      drift.py: drift detection
    structured.py   Pydantic structured output               observability/: events, OTel, Sentry
    integrations/   langchain (L0Runnable), litellm (l0_handler), fastapi (l0_stream)
    testing/        fault streams, fake clock, adapter conformance suite; chaos/: fault server
"""

from l0.core import run, run_sync, stream, stream_sync
from l0.errors import (
    AbortedError,
    AuthenticationError,
    BadRequestError,
    ContentError,
    DriftError,
    ErrorCategory,
    ErrorCode,
    GuardrailViolationError,
    InvalidStreamError,
    L0Error,
    NetworkError,
    NetworkErrorKind,
    ProviderError,
    RateLimitError,
    RefusalError,
    RetriesExhaustedError,
    ServerError,
    StreamTimeoutError,
    StructuredOutputError,
    TruncatedStreamError,
    ZeroOutputError,
    categorize_error,
    is_network_error,
    is_retryable,
)
from l0.runtime.stream import Stream
from l0.runtime.timers import calculate_backoff
from l0.types import (
    Attempt,
    CheckIntervals,
    Continuation,
    Event,
    EventType,
    ObservabilityEvent,
    Result,
    Retry,
    State,
    Status,
    Telemetry,
    Timeout,
    ToolCall,
    Usage,
)

__version__ = "0.1.0"

__all__ = [
    "AbortedError",
    "Attempt",
    "AuthenticationError",
    "BadRequestError",
    "CheckIntervals",
    "ContentError",
    "Continuation",
    "DriftError",
    "ErrorCategory",
    "ErrorCode",
    "Event",
    "EventType",
    "GuardrailViolationError",
    "InvalidStreamError",
    "L0Error",
    "NetworkError",
    "NetworkErrorKind",
    "ObservabilityEvent",
    "ProviderError",
    "RateLimitError",
    "RefusalError",
    "Result",
    "RetriesExhaustedError",
    "Retry",
    "ServerError",
    "State",
    "Status",
    "Stream",
    "StreamTimeoutError",
    "StructuredOutputError",
    "Telemetry",
    "Timeout",
    "ToolCall",
    "TruncatedStreamError",
    "Usage",
    "ZeroOutputError",
    "__version__",
    "calculate_backoff",
    "categorize_error",
    "is_network_error",
    "is_retryable",
    "run",
    "run_sync",
    "stream",
    "stream_sync",
]
