"""Cross-request protection: a circuit breaker per source key.

A :class:`CircuitBreaker` is shared by many runs. Each source gets a key (a model name, say);
when a key collects ``failure_threshold`` counted failures within ``window`` seconds its circuit
opens, and runs skip that source (raising :class:`~l0.errors.CircuitOpenError`, a fatal error,
so the run moves to its next fallback) without calling the provider. After ``recovery_time``
the circuit turns half-open: up to ``half_open_max_calls`` trial calls go through; a success
closes it, a counted failure opens it again::

    closed --(threshold failures in window)--> open --(recovery_time)--> half-open
    half-open --(success)--> closed            half-open --(counted failure)--> open

Every transition is a pure function of a :class:`CircuitRecord` and the time; the
:class:`BreakerStore` applies it atomically, so a shared store (Redis, a database) only has to
provide an atomic read-modify-write of one record.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Protocol, TypeVar, runtime_checkable

from l0.errors import CircuitOpenError, ErrorCategory, to_l0_error
from l0.runtime.timers import Clock

__all__ = [
    "BreakerStore",
    "CircuitBreaker",
    "CircuitRecord",
    "CircuitState",
    "MemoryBreakerStore",
]

_log = logging.getLogger("l0.breaker")
T = TypeVar("T")

DEFAULT_COUNTED = frozenset(
    {ErrorCategory.NETWORK, ErrorCategory.TRANSIENT, ErrorCategory.PROVIDER}
)


class CircuitState(str, Enum):
    """The state of one key's circuit."""

    CLOSED = "closed"
    """Calls go through; counted failures are recorded."""
    OPEN = "open"
    """Calls are refused until ``recovery_time`` has passed."""
    HALF_OPEN = "half_open"
    """Up to ``half_open_max_calls`` trial calls go through."""


@dataclass(frozen=True, slots=True)
class CircuitRecord:
    """What a store keeps per key (JSON-safe through :meth:`to_dict`/:meth:`from_dict`).

    Attributes:
        state: The state as last written (an open circuit past its recovery time is
            half-open when next read).
        failures: Times of the counted failures still inside the window (closed state).
        since: When the circuit last opened or turned half-open.
        trials: Half-open trial calls in flight.
    """

    state: CircuitState = CircuitState.CLOSED
    failures: tuple[float, ...] = ()
    since: float = 0.0
    trials: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict, for stores that keep records as text."""
        return {
            "state": self.state.value,
            "failures": list(self.failures),
            "since": self.since,
            "trials": self.trials,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CircuitRecord:
        """The record :meth:`to_dict` produced."""
        failures = tuple(float(t) for t in data["failures"])
        return cls(CircuitState(data["state"]), failures, float(data["since"]), int(data["trials"]))


_CLOSED = CircuitRecord()


@runtime_checkable
class BreakerStore(Protocol):
    """Where circuit records live; one store may serve many breakers' keys.

    ``update`` must be atomic per key: read the record (``None`` if absent), call ``fn`` on it
    (a pure, fast function), write the record it returns and return its second item. A shared
    store implements it with an optimistic transaction (Redis ``WATCH``/``MULTI``/``EXEC``,
    retried on conflict) or a row lock, keeping :meth:`CircuitRecord.to_dict` as JSON.
    """

    async def get(self, key: str) -> CircuitRecord | None:
        """The stored record of ``key``, or ``None``."""
        ...

    async def update(
        self, key: str, fn: Callable[[CircuitRecord | None], tuple[CircuitRecord, T]]
    ) -> T:
        """Atomically replace the record of ``key`` by ``fn(record)[0]``; return ``[1]``."""
        ...


class MemoryBreakerStore:
    """The in-process default: a dict behind a lock (safe across threads and event loops).

    Records are kept for the life of the store, one per key ever used: keys should be a
    bounded set such as model names, never per-request values.
    """

    def __init__(self) -> None:
        self._records: dict[str, CircuitRecord] = {}
        self._lock = threading.Lock()

    async def get(self, key: str) -> CircuitRecord | None:
        """The stored record of ``key``, or ``None``."""
        return self._records.get(key)

    async def update(
        self, key: str, fn: Callable[[CircuitRecord | None], tuple[CircuitRecord, T]]
    ) -> T:
        """Atomically replace the record of ``key`` by ``fn(record)[0]``; return ``[1]``."""
        with self._lock:  # never held across an await: fn is synchronous
            record, out = fn(self._records.get(key))
            self._records[key] = record
        return out


class CircuitBreaker:
    """Per-key circuit breaker shared by runs (``l0.run(..., breaker=b, breaker_keys=[...])``).

    Args:
        failure_threshold: Counted failures within ``window`` that open the circuit.
        recovery_time: Seconds an open circuit refuses calls before turning half-open. Also
            how long a half-open trial may stay unreported before its slot is given back.
        half_open_max_calls: Trial calls let through at once while half-open.
        window: Seconds a counted failure stays counted (a sliding window).
        store: Where records live; a fresh :class:`MemoryBreakerStore` by default.
        clock: Its ``now()`` is read (:class:`l0.testing.FakeClock` in tests); default
            ``time.monotonic`` with the memory store, ``time.time`` with any other.
        count: The error categories that count as failures (network, transient, provider by
            default: an unhealthy provider, never bad content or the caller's own bugs).

    Raises:
        TypeError, ValueError: For an invalid option, naming it.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        recovery_time: float = 30.0,
        half_open_max_calls: int = 1,
        window: float = 60.0,
        store: BreakerStore | None = None,
        clock: Clock | None = None,
        count: Iterable[ErrorCategory | str] = DEFAULT_COUNTED,
    ) -> None:
        _positive("failure_threshold", failure_threshold, int)
        _positive("half_open_max_calls", half_open_max_calls, int)
        _positive("recovery_time", recovery_time, (int, float))
        _positive("window", window, (int, float))
        if store is not None and not isinstance(store, BreakerStore):
            raise TypeError("store must provide async get(key) and update(key, fn)")
        if clock is not None and not callable(getattr(clock, "now", None)):
            raise TypeError("clock must provide now()")
        self.failure_threshold = failure_threshold
        self.recovery_time = float(recovery_time)
        self.half_open_max_calls = half_open_max_calls
        self.window = float(window)
        self.store: BreakerStore = store if store is not None else MemoryBreakerStore()
        # A shared store needs wall time: monotonic clocks differ between processes.
        wall = store is not None and not isinstance(store, MemoryBreakerStore)
        self._now = clock.now if clock else (time.time if wall else time.monotonic)
        self.count = _categories(count)

    async def acquire(self, key: str) -> None:
        """Let one call to ``key`` through, or raise.

        Raises:
            l0.CircuitOpenError: The circuit is open (or half-open with every trial taken).
        """
        now = self._now()
        wait = await self._apply(key, lambda r: self._acquire(r, now))
        if wait is not None:
            raise CircuitOpenError(key, wait)

    async def record_success(self, key: str) -> None:
        """A call to ``key`` succeeded: a half-open circuit closes."""
        now = self._now()
        await self._apply(key, lambda r: self._success(r, now))

    async def record_failure(self, key: str, error: BaseException) -> None:
        """A call to ``key`` failed with ``error``.

        Only errors whose category is in ``count`` count; any other failure just gives back a
        half-open trial slot (the provider answered, so it says nothing about its health).
        """
        mapped = to_l0_error(error)
        counted = mapped is not None and mapped.category in self.count
        now = self._now()
        fn = self._failure if counted else self._release
        await self._apply(key, lambda r: fn(r, now))

    async def state(self, key: str) -> CircuitState:
        """The current state of ``key`` (an expired open circuit reads as half-open)."""
        try:
            record = await self.store.get(key)
        except Exception:
            _log.warning("circuit breaker store failed; reading %r as closed", key, exc_info=True)
            return CircuitState.CLOSED
        return self._current(record or _CLOSED, self._now()).state

    async def reset(self, key: str) -> None:
        """Close the circuit of ``key`` and forget its failures (an operator's override)."""
        await self.store.update(key, lambda r: (_CLOSED, None))

    async def _apply(
        self, key: str, fn: Callable[[CircuitRecord], tuple[CircuitRecord, T]]
    ) -> T | None:
        # A broken shared store must not take the LLM calls down with it: fail open, loudly.
        try:
            return await self.store.update(key, lambda r: fn(r or _CLOSED))
        except Exception:
            _log.warning(
                "circuit breaker store failed for %r; letting the call through", key, exc_info=True
            )
            return None

    def _current(self, r: CircuitRecord, now: float) -> CircuitRecord:
        if r.state is CircuitState.OPEN and now - r.since >= self.recovery_time:
            return CircuitRecord(CircuitState.HALF_OPEN, since=now)
        if (
            r.state is CircuitState.HALF_OPEN
            and r.trials >= self.half_open_max_calls
            and now - r.since >= self.recovery_time
        ):
            # Trials that never reported (cancelled runs) give their slots back.
            return CircuitRecord(CircuitState.HALF_OPEN, since=now)
        return r

    def _acquire(self, r: CircuitRecord, now: float) -> tuple[CircuitRecord, float | None]:
        r = self._current(r, now)
        if r.state is CircuitState.CLOSED:
            return r, None
        if r.state is CircuitState.HALF_OPEN and r.trials < self.half_open_max_calls:
            return replace(r, trials=r.trials + 1), None
        return r, max(0.0, r.since + self.recovery_time - now)

    def _success(self, r: CircuitRecord, now: float) -> tuple[CircuitRecord, None]:
        r = self._current(r, now)
        return (_CLOSED if r.state is CircuitState.HALF_OPEN else r), None

    def _failure(self, r: CircuitRecord, now: float) -> tuple[CircuitRecord, None]:
        r = self._current(r, now)
        if r.state is CircuitState.HALF_OPEN:
            return CircuitRecord(CircuitState.OPEN, since=now), None
        if r.state is CircuitState.OPEN:
            return r, None  # a call let through before it opened: nothing new to learn
        start = now - self.window
        failures = (*(t for t in r.failures if t > start), now)[-self.failure_threshold :]
        if len(failures) >= self.failure_threshold:
            return CircuitRecord(CircuitState.OPEN, since=now), None
        return replace(r, failures=failures), None

    def _release(self, r: CircuitRecord, now: float) -> tuple[CircuitRecord, None]:
        r = self._current(r, now)
        if r.state is CircuitState.HALF_OPEN and r.trials:
            return replace(r, trials=r.trials - 1), None
        return r, None


def _positive(name: str, value: object, kind: type | tuple[type, ...]) -> None:
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"{name} must be {'an int' if kind is int else 'seconds'}, got {value!r}")
    if not 0 < value < float("inf"):  # type: ignore[operator]  # also rejects NaN
        raise ValueError(
            f"{name} must be {'>= 1' if kind is int else 'finite and > 0'}, got {value}"
        )


def _categories(count: Iterable[ErrorCategory | str]) -> frozenset[ErrorCategory]:
    if isinstance(count, (str, bytes)) or not isinstance(count, Iterable):
        raise TypeError("count must be a collection of l0.ErrorCategory values")
    out = set()
    for c in count:
        try:
            out.add(ErrorCategory(c))
        except ValueError:
            names = ", ".join(x.value for x in ErrorCategory)
            raise ValueError(f"count: unknown error category {c!r}; use {names}") from None
    if not out:
        raise ValueError("count must name at least one error category")
    return frozenset(out)
