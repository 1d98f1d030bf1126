"""The l0 error tree, error categories and the classification helpers.

Every failure l0 reports is an :class:`L0Error` (or, for a bug in the caller's own code, the
original exception, which l0 never retries)::

    L0Error                          .category, .code, .retryable
    ├── NetworkError                 network    reset/refused, DNS, TLS, EOF, undecodable bytes
    │   ├── MalformedChunkError      network    a chunk of a shape the protocol does not allow
    │   └── TruncatedStreamError     network    ended without a finish reason or end marker
    ├── StreamTimeoutError           transient  initial-token / inter-token (total: fatal)
    ├── ProviderError                by status  an API error (.status_code, .retry_after)
    │   ├── RateLimitError           transient  429
    │   ├── ServerError              transient  500/502/503/504/529, in-band "overloaded"
    │   ├── AuthenticationError      fatal      401/403
    │   ├── BadRequestError          fatal      400/404/413/422, context window exceeded
    │   └── CircuitOpenError         fatal      a CircuitBreaker refused the call (next fallback)
    ├── ContentError                 content    the answer itself is unusable
    │   ├── ZeroOutputError          content    the stream ended with no content
    │   ├── GuardrailViolationError  content    a rule failed (fatal rules: category fatal)
    │   ├── DriftError               content    the output drifted (tone, format, repetition)
    │   └── RefusalError             fatal      the model refused to answer (next fallback)
    ├── StructuredOutputError        content    output did not validate against the schema
    ├── AbortedError                 fatal      the caller aborted the stream
    ├── OutputRetractedError         fatal      a restart after text was sent, on a surface
    │                                           that cannot take it back
    ├── RetriesExhaustedError        (of last)  everything failed; .errors holds every error
    │   └── RetryBudgetExhaustedError (of last) a RetryBudget refused the retry, no fallback left
    └── InvalidStreamError           internal   a source l0 cannot read; no adapter found

Categories decide what happens next (:mod:`l0.runtime.retry`): network and transient errors are
retried without counting toward ``Retry.attempts`` (but toward ``Retry.max_retries``); model,
content and provider errors are retried and counted; fatal errors are never retried on the
same source (the next fallback is tried); internal errors stop the run at once.

Layout: ``_tree.py`` defines the classes; :mod:`l0.errors.classify` translates any exception
into one of them (by type first), and the helpers below come from there.
"""

from __future__ import annotations

from l0.errors._tree import (
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
)
from l0.errors.classify import (
    categorize_error,
    is_network_error,
    is_retryable,
    to_l0_error,
)

__all__ = [
    "AbortedError",
    "AuthenticationError",
    "BadRequestError",
    "CircuitOpenError",
    "ContentError",
    "DriftError",
    "ErrorCategory",
    "ErrorCode",
    "GuardrailViolationError",
    "InvalidStreamError",
    "L0Error",
    "MalformedChunkError",
    "NetworkError",
    "NetworkErrorKind",
    "OutputRetractedError",
    "ProviderError",
    "RateLimitError",
    "RefusalError",
    "RetriesExhaustedError",
    "RetryBudgetExhaustedError",
    "ServerError",
    "StreamTimeoutError",
    "StructuredOutputError",
    "TruncatedStreamError",
    "ZeroOutputError",
    "categorize_error",
    "is_network_error",
    "is_retryable",
    "to_l0_error",
]

# Tracebacks, reprs and pickles name the public module (``l0.errors.RateLimitError``), not
# the private one that defines the classes (recordings of either name read back).
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__ == "l0.errors._tree":
        _obj.__module__ = __name__
del _name, _obj
