"""Cross-request protection: a retry budget (a token bucket per provider key).

When a provider browns out, every run retries every stream and the retries multiply the load
on the provider that is already failing. A :class:`RetryBudget` bounds them, with the token
bucket of gRPC's retry throttling (gRFC A6: ``max_tokens``, ``token_ratio``):

- each key's bucket starts full, at ``max_tokens``;
- a retry (or a hedged attempt) is allowed only while the bucket holds more than half of
  ``max_tokens``, and it spends one token;
- each successful run refills ``token_ratio`` tokens, up to ``max_tokens``.

So in a full outage at most ``max_tokens / 2`` retries go out (then one try per request), and
in steady state retries stay below ``token_ratio`` times the successes. A run whose retry is
refused moves to its next fallback, or fails at once with
:class:`~l0.errors.RetryBudgetExhaustedError`.

One bucket per key lives in a :class:`BudgetStore`: in process by default
(:class:`MemoryBudgetStore`), or shared by every worker
(:class:`l0.redis_stores.RedisBudgetStore`). The bucket arithmetic is the pure
:func:`budget_step`; a store applies it atomically.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, runtime_checkable

import anyio

__all__ = [
    "BudgetOp",
    "BudgetPolicy",
    "BudgetStore",
    "MemoryBudgetStore",
    "RetryBudget",
    "budget_step",
]

_log = logging.getLogger("l0.budget")


class BudgetOp(str, Enum):
    """What happened to one key's bucket."""

    SPEND = "spend"
    """A retry or hedge wants to go out: allowed (and one token spent) above half."""
    REFILL = "refill"
    """A run succeeded: ``token_ratio`` tokens back."""
    READ = "read"
    """Nothing: just read the tokens."""


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    """The numbers of a bucket (a :class:`RetryBudget`'s options)."""

    max_tokens: float = 10.0
    token_ratio: float = 0.1


def budget_step(policy: BudgetPolicy, tokens: float | None, op: BudgetOp) -> tuple[float, bool]:
    """The tokens after ``op`` (``None``: a bucket never touched, i.e. full) and whether a
    ``SPEND`` was allowed (``True`` for the other ops)."""
    t = policy.max_tokens if tokens is None else tokens
    if op is BudgetOp.SPEND:
        if t > policy.max_tokens / 2:
            return t - 1.0, True
        return t, False
    if op is BudgetOp.REFILL:
        return min(policy.max_tokens, t + policy.token_ratio), True
    return t, True


@runtime_checkable
class BudgetStore(Protocol):
    """Where buckets live. ``apply`` must be atomic per key and give :func:`budget_step`'s
    results exactly."""

    async def apply(self, key: str, op: BudgetOp, policy: BudgetPolicy) -> tuple[float, bool]:
        """Apply ``op`` to the bucket of ``key``; return ``(tokens after, allowed)``."""
        ...


class MemoryBudgetStore:
    """The in-process default: a dict behind a lock (safe across threads and event loops).

    One bucket per key ever used: keys should be a bounded set (model names).
    """

    def __init__(self) -> None:
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    async def apply(self, key: str, op: BudgetOp, policy: BudgetPolicy) -> tuple[float, bool]:
        """Apply ``op`` to the bucket of ``key``; return ``(tokens after, allowed)``."""
        with self._lock:
            tokens, ok = budget_step(policy, self._tokens.get(key), op)
            self._tokens[key] = tokens
        return tokens, ok


class RetryBudget:
    """A retry budget shared by runs (``l0.run(..., retry_budget=b, keys=[...])``).

    Args:
        max_tokens: The bucket size (> 0); retries stop once half of it is spent: with
            ``max_tokens=10`` a full outage lets 5 retries through, then none.
        token_ratio: Tokens a successful run gives back (> 0 and <= 1 is usual: 0.1 allows
            about one retry per ten successes in steady state).
        store: Where buckets live: a fresh :class:`MemoryBudgetStore` (this process) by
            default, or a :class:`l0.redis_stores.RedisBudgetStore` (every process).
        fail_open: When the store itself fails: ``True`` (default) allows the retry,
            ``False`` refuses it. The outage is logged once on the ``l0.budget`` logger.
        store_timeout: Seconds one store call may take before it counts as failed;
            ``None``: no limit. Not applied to the memory store.

    Raises:
        TypeError, ValueError: For an invalid option, naming it.
    """

    def __init__(
        self,
        *,
        max_tokens: float = 10.0,
        token_ratio: float = 0.1,
        store: BudgetStore | None = None,
        fail_open: bool = True,
        store_timeout: float | None = 2.0,
    ) -> None:
        _number("max_tokens", max_tokens, minimum=0.0)
        _number("token_ratio", token_ratio, minimum=0.0)
        if store is not None and not isinstance(store, BudgetStore):
            raise TypeError(
                "store must provide async apply(key, op, policy) "
                "(l0.budget.MemoryBudgetStore or l0.redis_stores.RedisBudgetStore)"
            )
        if not isinstance(fail_open, bool):
            raise TypeError(f"fail_open must be True or False, got {fail_open!r}")
        self.policy = BudgetPolicy(float(max_tokens), float(token_ratio))
        self.store: BudgetStore = store if store is not None else MemoryBudgetStore()
        self.fail_open = fail_open
        if store_timeout is not None:
            _number("store_timeout", store_timeout, minimum=0.0)
        local = isinstance(self.store, MemoryBudgetStore)
        self.store_timeout = None if local or store_timeout is None else float(store_timeout)
        self._store_down = False

    @property
    def max_tokens(self) -> float:
        """The bucket size."""
        return self.policy.max_tokens

    @property
    def token_ratio(self) -> float:
        """Tokens a success gives back."""
        return self.policy.token_ratio

    async def try_spend(self, key: str) -> bool:
        """Ask for one retry (or hedge) on ``key``: True (one token spent) or False."""
        ok = await self._do(key, BudgetOp.SPEND)
        return self.fail_open if ok is None else ok[1]

    async def record_success(self, key: str) -> None:
        """A run on ``key`` succeeded: refill ``token_ratio`` tokens."""
        await self._do(key, BudgetOp.REFILL)

    async def tokens(self, key: str) -> float:
        """The tokens left in the bucket of ``key`` (``max_tokens`` when never used).

        Raises:
            Exception: Whatever the store raised (an operator's read is not hidden).
        """
        tokens, _ = await self.store.apply(key, BudgetOp.READ, self.policy)
        return tokens

    async def _do(self, key: str, op: BudgetOp) -> tuple[float, bool] | None:
        try:
            if self.store_timeout is None:
                out = await self.store.apply(key, op, self.policy)
            else:
                with anyio.fail_after(self.store_timeout):
                    out = await self.store.apply(key, op, self.policy)
        except Exception:
            if not self._store_down:
                self._store_down = True
                _log.warning(
                    "retry budget store failed for %r; %s retries until it answers again "
                    "(logged once)",
                    key,
                    "allowing" if self.fail_open else "refusing",
                    exc_info=True,
                )
            return None
        if self._store_down:
            self._store_down = False
            _log.warning("retry budget store is back (key %r)", key)
        return out


def _number(name: str, value: object, *, minimum: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not (math.isfinite(value) and value > minimum):
        raise ValueError(f"{name} must be finite and > {minimum:g}, got {value}")
