"""The run's policies: timeouts, check intervals, continuation and retry (frozen option types).

Part of the vocabulary layer (re-exported by :mod:`l0.types` and :mod:`l0`): nothing here imports
the runtime.
"""

from __future__ import annotations

import difflib
import functools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeVar

__all__ = ["BackoffName", "CheckIntervals", "Continuation", "Retry", "Timeout"]


_T = TypeVar("_T", bound=type)


def _named_options(cls: _T) -> _T:
    """Make a misspelt keyword name the closest valid one (``Retry(max_retires=3)``)."""
    init: Callable[..., None] = cls.__init__  # type: ignore[misc]
    names = tuple(f.name for f in fields(cls) if f.init)

    @functools.wraps(init)
    def checked_init(self: Any, *args: Any, **kwargs: Any) -> None:
        for key in kwargs:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise TypeError(
                    f"l0.{cls.__name__}() got an unknown option {key!r}{hint} "
                    f"(valid: {', '.join(names)})"
                )
        init(self, *args, **kwargs)

    setattr(cls, "__init__", checked_init)  # noqa: B010 (mypy forbids assigning a method)
    return cls


def _check_seconds(name: str, value: float | None, *, allow_none: bool = True) -> None:
    if value is None:
        if not allow_none:
            raise ValueError(f"{name} must be a number of seconds, not None")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    if math.isnan(value) or value <= 0:
        raise ValueError(f"{name} must be > 0 seconds (or None to disable), got {value!r}")


@_named_options
@dataclass(frozen=True, slots=True)
class Timeout:
    """Stall and overall deadlines, in seconds; ``None`` disables one.

    The defaults are safe for reasoning models: any chunk the provider sends (a role chunk,
    a reasoning or thinking delta, a keepalive an adapter surfaces) counts as liveness.

    Attributes:
        initial_token: Longest wait for the first sign of life of each attempt (default 60 s).
        inter_token: Longest silence between two chunks once the stream is flowing (default 30 s).
        total: One deadline over the whole run, across every retry, backoff and fallback
            (default ``None``: no overall limit).
        after_end: Once the provider sent its end marker (finish reason, ``message_stop``,
            ``response.completed``), how long trailing chunks (a usage chunk) may still
            arrive before l0 closes the stream and returns the result (default 1 s, never
            more than ``inter_token``; ``0``: close at once). Whatever happens then (silence,
            a reset, an error) never fails or retries a finished answer.
    """

    initial_token: float | None = 60.0
    inter_token: float | None = 30.0
    total: float | None = None
    after_end: float = 1.0

    def __post_init__(self) -> None:
        _check_seconds("Timeout.initial_token", self.initial_token)
        _check_seconds("Timeout.inter_token", self.inter_token)
        _check_seconds("Timeout.total", self.total)
        if self.after_end != 0:
            _check_seconds("Timeout.after_end", self.after_end, allow_none=False)

    @property
    def enabled(self) -> bool:
        """True when any deadline is set."""
        return not (self.initial_token is None and self.inter_token is None and self.total is None)


def _check_interval(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1 (tokens), got {value!r}")


@_named_options
@dataclass(frozen=True, slots=True)
class CheckIntervals:
    """How often (in tokens) streaming checks run.

    Guardrails and drift always see every character: at each check they receive the whole
    delta since the previous check.

    Attributes:
        guardrails: Tokens between streaming guardrail checks (default 20).
        drift: Tokens between drift checks (default 40; the detector itself analyses text in
            windows of a few hundred characters, so checking more often gains nothing).
        checkpoint: Tokens between ``CHECKPOINT_SAVED`` events (default 20).
    """

    guardrails: int = 20
    drift: int = 40
    checkpoint: int = 20

    def __post_init__(self) -> None:
        _check_interval("CheckIntervals.guardrails", self.guardrails)
        _check_interval("CheckIntervals.drift", self.drift)
        _check_interval("CheckIntervals.checkpoint", self.checkpoint)


@_named_options
@dataclass(frozen=True, slots=True)
class Continuation:
    """How a retry continues from the text already delivered.

    l0 sends back the delivered text minus a short tail it *holds back* (the shortest tail
    found nowhere else near the cut) and aligns the resumed stream against it, so restated
    text is removed exactly, on periodic text (tables, lists, code) too; see
    :mod:`l0.runtime.continuation` and docs/continuation.md.

    Attributes:
        min_overlap: Kept for compatibility and validated, but no longer used: the overlap
            is decided by alignment, at any length (default 2).
        max_overlap: Longest restatement (chars) of the prefix a provider may make (default
            500). A resumed stream that restarts the whole answer is recognised at any length.
        max_held_back: Longest tail (chars) l0 holds back (default 500). When the text is
            periodic for longer than that, the next attempt restarts the answer instead
            (the checkpoint sent is empty) and l0 removes what it repeats.
        prompt: Optional text appended as a user message after the assistant prefix by
            :meth:`Attempt.continuation_messages` (for providers that do not continue a
            trailing assistant message by themselves).
        restart_similarity: A resumed stream that fits no reading of the checkpoint and
            whose opening is at least this similar (0..1, ``rapidfuzz`` token-set ratio) to
            the answer's opening restarted the answer in other words: it replaces the
            checkpoint (a ``RESET`` for text already shown) instead of being glued onto it
            (default 0.75; ``None`` turns detection off; needs ``rapidfuzz``).
        restart_window: Characters of each opening compared (default 48).
    """

    min_overlap: int = 2
    max_overlap: int = 500
    prompt: str | None = None
    max_held_back: int = 500
    restart_similarity: float | None = 0.75
    restart_window: int = 48

    def __post_init__(self) -> None:
        if isinstance(self.max_held_back, bool) or not isinstance(self.max_held_back, int):
            raise TypeError("Continuation.max_held_back must be an int")
        if self.max_held_back < 1:
            raise ValueError(f"Continuation.max_held_back must be >= 1, got {self.max_held_back}")
        sim = self.restart_similarity
        if sim is not None and (isinstance(sim, bool) or not isinstance(sim, (int, float))):
            raise TypeError("Continuation.restart_similarity must be a number in (0, 1] or None")
        if sim is not None and not 0 < sim <= 1:
            raise ValueError(f"Continuation.restart_similarity must be in (0, 1], got {sim}")
        if isinstance(self.restart_window, bool) or not isinstance(self.restart_window, int):
            raise TypeError("Continuation.restart_window must be an int")
        if self.restart_window < 16:
            raise ValueError(
                f"Continuation.restart_window must be >= 16, got {self.restart_window}"
            )
        if isinstance(self.min_overlap, bool) or not isinstance(self.min_overlap, int):
            raise TypeError("Continuation.min_overlap must be an int")
        if isinstance(self.max_overlap, bool) or not isinstance(self.max_overlap, int):
            raise TypeError("Continuation.max_overlap must be an int")
        if not 1 <= self.min_overlap <= self.max_overlap:
            raise ValueError(
                "Continuation needs 1 <= min_overlap <= max_overlap, got "
                f"min_overlap={self.min_overlap}, max_overlap={self.max_overlap}"
            )


BackoffName = Literal["exponential", "linear", "fixed", "fixed_jitter", "full_jitter"]


_BACKOFFS = ("exponential", "linear", "fixed", "fixed_jitter", "full_jitter")


_KEYS: tuple[frozenset[str], frozenset[str]] | None = None


def _retry_keys() -> tuple[frozenset[str], frozenset[str]]:
    """(valid ``error_delays`` keys, valid ``retry_on`` entries), computed once."""
    global _KEYS
    if _KEYS is None:
        from l0.errors import ErrorCategory, ErrorCode, NetworkErrorKind

        cats = {c.value for c in ErrorCategory} | {c.value for c in ErrorCode}
        _KEYS = (frozenset(cats | {k.value for k in NetworkErrorKind}), frozenset(cats))
    return _KEYS


_DEFAULT_RETRY_ON: frozenset[Any] | None = None


def _check_retry_on(retry_on: object, valid: frozenset[str]) -> None:
    """Raise an error naming the fix when ``retry_on`` is not a collection of valid entries."""
    example = 'retry_on={"network", "transient"}'
    if isinstance(retry_on, str):
        raise TypeError(
            f"Retry.retry_on got the string {retry_on!r}; pass a collection of categories or "
            f"codes (retry_on={{{retry_on!r}}}) or a predicate on the L0Error"
        )
    if not isinstance(retry_on, Iterable):
        raise TypeError(
            f"Retry.retry_on must be a collection of ErrorCategory / ErrorCode values or a "
            f"predicate on the L0Error; got {retry_on!r} (e.g. {example})"
        )
    for item in retry_on:
        value = str(getattr(item, "value", item))
        if value not in valid:
            close = difflib.get_close_matches(value, sorted(valid), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"e.g. {example}"
            raise ValueError(
                f"Retry.retry_on has unknown entry {item!r}; use ErrorCategory or ErrorCode "
                f"values ({hint})"
            )


def _default_retry_on() -> frozenset[Any]:
    global _DEFAULT_RETRY_ON
    if _DEFAULT_RETRY_ON is None:
        from l0.errors import ErrorCategory as C

        _DEFAULT_RETRY_ON = frozenset({C.NETWORK, C.TRANSIENT, C.MODEL, C.CONTENT, C.PROVIDER})
    return _DEFAULT_RETRY_ON


@_named_options
@dataclass(frozen=True, slots=True)
class Retry:
    """When and how long to wait before trying a source again.

    Each source (the primary and every fallback) has its own budget. Network and transient
    errors (connection drops, DNS, TLS, stalls, 429, 5xx, 529) are retried without counting
    toward ``attempts``; model, content and provider errors count. Every retry counts toward
    ``max_retries``. Fatal errors are never retried on the same source.

    Attributes:
        attempts: Retries allowed per source for model/content/provider errors (default 3).
        max_retries: Retries allowed per source in all (default 6).
        backoff: ``exponential``, ``linear``, ``fixed``, ``fixed_jitter`` (default:
            ``base_delay`` scaled by a random factor in [0.5, 1.5)) or ``full_jitter``.
        base_delay: Seconds; the unit of every backoff strategy (default 1.0).
        max_delay: Cap in seconds on the computed backoff (default 10.0).
        retry_on: The :class:`~l0.errors.ErrorCategory` values (or error codes) that may be
            retried, or a predicate on the :class:`~l0.errors.L0Error`.
        error_delays: Per-kind base delays in seconds, keyed by a
            :class:`~l0.errors.NetworkErrorKind`, :class:`~l0.errors.ErrorCode` or
            :class:`~l0.errors.ErrorCategory` value (e.g. ``{"dns": 3.0, "timeout": 0.5}``).
        retry_after_cap: Longest ``Retry-After`` honoured, independent of ``max_delay``
            (default 120 s).
        random: The jitter source, a zero-argument callable returning a float in [0, 1)
            (default :func:`random.random`); inject a seeded one for exact tests.
    """

    attempts: int = 3
    max_retries: int = 6
    backoff: BackoffName = "fixed_jitter"
    base_delay: float = 1.0
    max_delay: float = 10.0
    retry_on: Any = field(default_factory=_default_retry_on)
    error_delays: Mapping[str, float] = field(default_factory=dict)
    retry_after_cap: float = 120.0
    random: Any = None

    def __post_init__(self) -> None:
        for name in ("attempts", "max_retries"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"Retry.{name} must be an int >= 0, got {value!r}")
        if self.backoff not in _BACKOFFS:
            raise ValueError(
                f"Retry.backoff must be one of {', '.join(_BACKOFFS)}; got {self.backoff!r}"
            )
        for name in ("base_delay", "max_delay", "retry_after_cap"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"Retry.{name} must be a number of seconds >= 0, got {value!r}")
        known, valid = _retry_keys()
        for key, delay in self.error_delays.items():
            if str(getattr(key, "value", key)) not in known:
                raise ValueError(
                    f"Retry.error_delays has unknown key {key!r}; use a NetworkErrorKind, "
                    "ErrorCode or ErrorCategory value"
                )
            if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
                raise ValueError(f"Retry.error_delays[{key!r}] must be seconds >= 0")
        if not callable(self.retry_on):
            _check_retry_on(self.retry_on, valid)
        if self.random is not None and not callable(self.random):
            raise TypeError("Retry.random must be a zero-argument callable returning [0, 1)")
