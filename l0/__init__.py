"""l0: reliable, observable LLM token streams.

Layout, in layers: each imports only its own layer and those below it (enforced by
tests/unit/test_layers.py; docs/architecture.md)::

    surface        integrations/ (langchain, litellm, fastapi)   observability/ (OTel, Sentry)
                   testing/, chaos/ (fault server), cli.py        -- subscribe to the core
    orchestration  orchestration/ (parallel, race, consensus, pipelines, windows)
                   output/ (structured output, JSON repair helpers)
    facade         core.py: run / stream / run_sync / stream_sync
    runtime        runtime/run.py: the run record and the attempt loop; options, checks,
                   recovery, retry (pure decisions), watchdog, continuation, events, sync;
                   breaker.py, budget.py, hedging.py, redis_stores.py: cross-request
                   protection (circuit breaker, retry budget, hedging; Redis stores)
    components     adapters/ (provider stream -> l0 Event), guardrails/ (rules),
                   drift.py, utils/
    vocabulary     types.py, policy.py (option types), events.py (event names + payloads),
                   errors/ (the tree and its classifier), guardrails/hooks.py (Severity,
                   Violation, hook protocols), redaction.py (credentials masked by value)
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

# Utility modules (l0.format.format_tools(...), l0.compare.similarity(...)); not in __all__:
# a star import must not shadow the builtin format().
from l0 import compare as compare
from l0 import format as format
from l0.breaker import BreakerStore, CircuitBreaker, CircuitState, MemoryBreakerStore
from l0.budget import RetryBudget
from l0.core import run, run_sync, stream, stream_sync
from l0.errors import (
    AbortedError,
    AuthenticationError,
    BadRequestError,
    CircuitOpenError,
    ContentError,
    DriftError,
    ErrorCategory,
    ErrorCode,
    GuardrailViolationError,
    InvalidStreamError,
    L0Error,
    MalformedChunkError,
    NetworkError,
    NetworkErrorKind,
    OutputRetractedError,
    ProviderError,
    RateLimitError,
    RefusalError,
    RetriesExhaustedError,
    RetryBudgetExhaustedError,
    ServerError,
    StreamTimeoutError,
    StructuredOutputError,
    TruncatedStreamError,
    ZeroOutputError,
    categorize_error,
    is_network_error,
    is_retryable,
)
from l0.hedging import Hedge
from l0.orchestration.consensus import ConsensusResult, consensus, quick_consensus
from l0.orchestration.parallel import RaceResult, batched, parallel, race
from l0.orchestration.pipeline import (
    Branch,
    Parallel,
    Pipeline,
    PipelineContext,
    PipelineProgress,
    PipelineResult,
    PipelineStep,
    create_pipeline,
    pipe,
)
from l0.orchestration.pool import OperationPool, PoolProgress, PoolTask, PoolTelemetry, sequential
from l0.orchestration.tokens import estimate_tokens
from l0.orchestration.window import Chunk, DocumentWindow, create_window
from l0.redaction import redact, register_secret
from l0.runtime.options import RunOptions
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

if _TYPE_CHECKING:
    from l0.drift import DriftDetector
    from l0.output.jsontools import extract_json, parse_or_repair, repair_json
    from l0.output.presets import StructuredPreset
    from l0.output.streaming import StructuredStream, structured_stream
    from l0.output.structured import StructuredAttempt, StructuredResult, structured
    from l0.recordings import (
        Recording,
        ReplayDiff,
        ReplayResult,
        compare_replays,
        load_recording,
        replay,
    )
    from l0.runtime.record_stores import FileStore, MemoryStore, RedisStore, Store
    from l0.runtime.recording import Recorder
    from l0.utils.auto_correct import AutoCorrectResult, auto_correct_json

__version__ = "0.1.0"

# Loaded on first use: structured output pulls in pydantic, which `import l0` need not pay for.
_LAZY = {
    "AutoCorrectResult": "l0.utils.auto_correct",
    "DriftDetector": "l0.drift",
    "FileStore": "l0.runtime.record_stores",
    "MemoryStore": "l0.runtime.record_stores",
    "Recorder": "l0.runtime.recording",
    "Recording": "l0.recordings",
    "RedisStore": "l0.runtime.record_stores",
    "ReplayDiff": "l0.recordings",
    "ReplayResult": "l0.recordings",
    "Store": "l0.runtime.record_stores",
    "compare_replays": "l0.recordings",
    "load_recording": "l0.recordings",
    "replay": "l0.recordings",
    "StructuredAttempt": "l0.output.structured",
    "StructuredPreset": "l0.output.presets",
    "StructuredResult": "l0.output.structured",
    "StructuredStream": "l0.output.streaming",
    "auto_correct_json": "l0.utils.auto_correct",
    "extract_json": "l0.output.jsontools",
    "parse_or_repair": "l0.output.jsontools",
    "repair_json": "l0.output.jsontools",
    "structured": "l0.output.structured",
    "structured_stream": "l0.output.streaming",
}


# Public submodules reachable as ``l0.<name>`` after a bare ``import l0`` (imported on first
# use, as ``import l0.<name>`` would).
_SUBMODULES = frozenset({"fastlane", "format", "recordings", "testing"})


def __getattr__(name: str) -> _Any:
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"l0.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'l0' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)


__all__ = [
    "AbortedError",
    "Attempt",
    "AuthenticationError",
    "AutoCorrectResult",
    "BadRequestError",
    "Branch",
    "BreakerStore",
    "CheckIntervals",
    "Chunk",
    "CircuitBreaker",
    "CircuitOpenError",
    "CircuitState",
    "ConsensusResult",
    "ContentError",
    "Continuation",
    "DocumentWindow",
    "DriftDetector",
    "DriftError",
    "ErrorCategory",
    "ErrorCode",
    "Event",
    "EventType",
    "FileStore",
    "GuardrailViolationError",
    "Hedge",
    "InvalidStreamError",
    "L0Error",
    "MalformedChunkError",
    "MemoryBreakerStore",
    "MemoryStore",
    "NetworkError",
    "NetworkErrorKind",
    "ObservabilityEvent",
    "OperationPool",
    "OutputRetractedError",
    "Parallel",
    "Pipeline",
    "PipelineContext",
    "PipelineProgress",
    "PipelineResult",
    "PipelineStep",
    "PoolProgress",
    "PoolTask",
    "PoolTelemetry",
    "ProviderError",
    "RaceResult",
    "RateLimitError",
    "Recorder",
    "Recording",
    "RedisStore",
    "RefusalError",
    "ReplayDiff",
    "ReplayResult",
    "Result",
    "RetriesExhaustedError",
    "Retry",
    "RetryBudget",
    "RetryBudgetExhaustedError",
    "RunOptions",
    "ServerError",
    "State",
    "Status",
    "Store",
    "Stream",
    "StreamTimeoutError",
    "StructuredAttempt",
    "StructuredOutputError",
    "StructuredPreset",
    "StructuredResult",
    "StructuredStream",
    "Telemetry",
    "Timeout",
    "ToolCall",
    "TruncatedStreamError",
    "Usage",
    "ZeroOutputError",
    "__version__",
    "auto_correct_json",
    "batched",
    "calculate_backoff",
    "categorize_error",
    "compare_replays",
    "consensus",
    "create_pipeline",
    "create_window",
    "estimate_tokens",
    "extract_json",
    "is_network_error",
    "is_retryable",
    "load_recording",
    "parallel",
    "parse_or_repair",
    "pipe",
    "quick_consensus",
    "race",
    "redact",
    "register_secret",
    "repair_json",
    "replay",
    "run",
    "run_sync",
    "sequential",
    "stream",
    "stream_sync",
    "structured",
    "structured_stream",
]
