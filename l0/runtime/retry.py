"""What to do after a failure: a pure function of the policy, the counters and the error.

:func:`decide` never sleeps and never touches a stream; the attempt loop in :mod:`l0.runtime.run`
carries the :class:`Decision` out. Budgets are per source: a fallback starts with fresh
counters (the overall ``Timeout.total`` bounds the whole run).
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from l0.errors import ErrorCategory, ErrorCode, L0Error, NetworkError
from l0.errors.classify import counts_toward_attempts
from l0.runtime.timers import calculate_backoff
from l0.types import Retry

__all__ = [
    "Action",
    "Counters",
    "Decision",
    "counts_toward_attempts",
    "decide",
    "retry_delay",
    "throttled",
]


class Action(str, Enum):
    """The three outcomes of a failure."""

    RETRY = "retry"
    FALLBACK = "fallback"
    GIVE_UP = "give_up"


@dataclass(frozen=True, slots=True)
class Counters:
    """Retries already made on the current source."""

    model: int = 0
    """Retries counted toward ``Retry.attempts`` (model, content, provider errors)."""
    total: int = 0
    """All retries (counted toward ``Retry.max_retries``)."""

    @property
    def network(self) -> int:
        """Retries for network and transient errors."""
        return self.total - self.model

    def after(self, counted: bool) -> Counters:
        """The counters after one more retry."""
        return Counters(self.model + counted, self.total + 1)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the loop does next.

    Attributes:
        action: Retry the same source, move to the next fallback, or give up.
        reason: Why, in a few words (also in the ``RETRY_ATTEMPT``/``ERROR`` events).
        delay: Seconds to wait before the retry (0 unless retrying).
        counts: Whether the retry counts toward ``Retry.attempts``.
    """

    action: Action
    reason: str
    delay: float = 0.0
    counts: bool = False


def _retry_on_allows(policy: Retry, err: L0Error) -> bool:
    retry_on = policy.retry_on
    if callable(retry_on):
        return bool(retry_on(err))
    wanted = {str(getattr(x, "value", x)) for x in retry_on}
    return err.category.value in wanted or err.code.value in wanted


def _not_retried(reason: str, has_fallback: bool) -> Decision:
    return Decision(Action.FALLBACK if has_fallback else Action.GIVE_UP, reason)


def decide(
    policy: Retry,
    err: L0Error | None,
    counters: Counters,
    *,
    has_fallback: bool,
    random: Callable[[], float] | None = None,
) -> Decision:
    """Decide what follows ``err`` on the current source.

    Args:
        policy: The retry policy.
        err: The classified error; ``None`` for a programming error in user code.
        counters: Retries already made on this source.
        has_fallback: Whether another source remains.
        random: Jitter source (defaults to ``policy.random`` or :func:`random.random`).
    """
    if err is None or err.category is ErrorCategory.INTERNAL:
        return Decision(Action.GIVE_UP, "not retryable: a programming or usage error")
    if err.code in (ErrorCode.STREAM_ABORTED, ErrorCode.TOTAL_TIMEOUT):
        return Decision(Action.GIVE_UP, f"{err.code.value.lower()}: the run is over")
    if err.category is ErrorCategory.FATAL:
        return _not_retried(f"fatal error ({err.code.value.lower()})", has_fallback)
    if not _retry_on_allows(policy, err):
        return _not_retried(f"{err.category.value} errors are not in retry_on", has_fallback)
    if counters.total >= policy.max_retries:
        return _not_retried(f"max_retries ({policy.max_retries}) reached", has_fallback)
    counted = counts_toward_attempts(err)
    if counted and counters.model >= policy.attempts:
        return _not_retried(
            f"all {policy.attempts} model-error retries used (Retry.attempts)", has_fallback
        )
    nth = counters.model if counted else counters.network
    delay = retry_delay(policy, err, nth, random=random)
    return Decision(Action.RETRY, f"{err.category.value} error", delay, counted)


def throttled(key: str, has_fallback: bool) -> Decision:
    """What a retry becomes when the :class:`l0.RetryBudget` of ``key`` refuses it: the next
    fallback at once, or giving up."""
    return _not_retried(f"retry budget for {key!r} exhausted", has_fallback)


def retry_delay(
    policy: Retry, err: L0Error, nth: int, *, random: Callable[[], float] | None = None
) -> float:
    """Seconds to wait before retry ``nth`` (0-based, per category) after ``err``.

    The backoff uses ``error_delays`` as its base when a key matches the error (network kind,
    then code, then category). A provider's ``Retry-After`` wins when longer, capped at
    ``retry_after_cap``.
    """
    base = policy.base_delay
    keys = [err.code.value, err.category.value]
    if isinstance(err, NetworkError):
        keys.insert(0, err.kind.value)
    overrides = {str(getattr(k, "value", k)): v for k, v in policy.error_delays.items()}
    for key in keys:
        if key in overrides:
            base = float(overrides[key])
            break
    rand = random or policy.random or _random.random
    delay = calculate_backoff(policy.backoff, nth, base, max(policy.max_delay, base), random=rand)
    if err.retry_after is not None:
        delay = max(delay, min(err.retry_after, policy.retry_after_cap))
    return delay
