"""Cross-request protection: a circuit breaker per source key.

A :class:`CircuitBreaker` is shared by many runs. Each source gets a key (a model name, say);
when a key collects ``failure_threshold`` counted failures within ``window`` seconds its circuit
opens, and runs skip that source (raising :class:`~l0.errors.CircuitOpenError`, a fatal error,
so the run moves to its next fallback) without calling the provider. After ``recovery_time``
the circuit turns half-open: up to ``half_open_max_calls`` trial calls go through; a success
closes it, a counted failure opens it again::

    closed --(threshold failures in window)--> open --(recovery_time)--> half-open
    half-open --(success)--> closed            half-open --(counted failure)--> open

Every transition is the pure :func:`transition` of a :class:`BreakerPolicy`, a
:class:`CircuitRecord`, a :class:`BreakerOp` and the time; the :class:`BreakerStore` applies it
atomically, so a shared store (Redis, a database) only has to provide an atomic
read-modify-write of one record. A store that can run the transition itself in one round trip
(:class:`l0.redis_stores.RedisBreakerStore` runs it as a Lua script) also implements
:class:`TransitionStore`, and the breaker uses that instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Protocol, TypeVar, runtime_checkable

import anyio

from l0.errors import CircuitOpenError, ErrorCategory, to_l0_error
from l0.runtime.timers import Clock

__all__ = [
    "BreakerChange",
    "BreakerOp",
    "BreakerPolicy",
    "BreakerStore",
    "CircuitBreaker",
    "CircuitRecord",
    "CircuitState",
    "MemoryBreakerStore",
    "TransitionStore",
    "transition",
]

_log = logging.getLogger("l0.breaker")
T = TypeVar("T")
_Apply = Callable[[str, "BreakerOp", float, "BreakerPolicy"], Awaitable["float | None"]]
_States = tuple["float | None", "CircuitState", "CircuitState"]
_ApplyStates = Callable[[str, "BreakerOp", float, "BreakerPolicy"], Awaitable[_States]]

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


@dataclass(frozen=True, slots=True)
class BreakerChange:
    """A state change one breaker call caused (what ``BREAKER_OPEN`` & co. report).

    Attributes:
        key: The circuit's key (a model name, say).
        state_from: The state before the call (as stored).
        state_to: The state after it.
        failures: Counted failures that opened the circuit (``failure_threshold`` from
            closed, 1 failed trial from half-open); 0 for any other change.
        opened_until: When an opened circuit turns half-open (on the breaker's clock);
            ``None`` unless ``state_to`` is open.
    """

    key: str
    state_from: CircuitState
    state_to: CircuitState
    failures: int
    opened_until: float | None


class BreakerOp(str, Enum):
    """What happened to one key: the four inputs of :func:`transition`."""

    ACQUIRE = "acquire"
    """A call wants to go through."""
    SUCCESS = "success"
    """A call that went through succeeded."""
    FAILURE = "failure"
    """A call that went through failed with a counted error."""
    RELEASE = "release"
    """A call that went through failed with an uncounted error (frees a half-open slot)."""


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """The numbers :func:`transition` needs (a :class:`CircuitBreaker`'s options)."""

    failure_threshold: int = 5
    recovery_time: float = 30.0
    half_open_max_calls: int = 1
    window: float = 60.0


def _current(p: BreakerPolicy, r: CircuitRecord, now: float) -> CircuitRecord:
    if r.state is CircuitState.OPEN and now - r.since >= p.recovery_time:
        return CircuitRecord(CircuitState.HALF_OPEN, since=now)
    if (
        r.state is CircuitState.HALF_OPEN
        and r.trials >= p.half_open_max_calls
        and now - r.since >= p.recovery_time
    ):
        # Trials that never reported (cancelled runs) give their slots back.
        return CircuitRecord(CircuitState.HALF_OPEN, since=now)
    return r


def transition(
    policy: BreakerPolicy, record: CircuitRecord | None, op: BreakerOp, now: float
) -> tuple[CircuitRecord, float | None]:
    """The record after ``op`` at ``now``, and (for ``ACQUIRE``) the refusal.

    Returns:
        ``(new record, wait)``: ``wait`` is ``None`` when the call may go through (and for
        every op but ``ACQUIRE``), else the seconds until a trial call will be let through.
    """
    r = _current(policy, record or _CLOSED, now)
    state = r.state
    if op is BreakerOp.ACQUIRE:
        if state is CircuitState.CLOSED:
            return r, None
        if state is CircuitState.HALF_OPEN and r.trials < policy.half_open_max_calls:
            return replace(r, trials=r.trials + 1), None
        return r, max(0.0, r.since + policy.recovery_time - now)
    if op is BreakerOp.SUCCESS:
        return (_CLOSED if state is CircuitState.HALF_OPEN else r), None
    if op is BreakerOp.RELEASE:
        if state is CircuitState.HALF_OPEN and r.trials:
            return replace(r, trials=r.trials - 1), None
        return r, None
    if state is CircuitState.HALF_OPEN:
        return CircuitRecord(CircuitState.OPEN, since=now), None
    if state is CircuitState.OPEN:
        return r, None  # a call let through before it opened: nothing new to learn
    start = now - policy.window
    failures = (*(t for t in r.failures if t > start), now)[-policy.failure_threshold :]
    if len(failures) >= policy.failure_threshold:
        return CircuitRecord(CircuitState.OPEN, since=now), None
    return replace(r, failures=failures), None


@runtime_checkable
class BreakerStore(Protocol):
    """Where circuit records live; one store may serve many breakers' keys.

    ``update`` must be atomic per key: read the record (``None`` if absent), call ``fn`` on it
    (a pure, fast function), write the record it returns and return its second item. A shared
    store implements it with an optimistic transaction (Redis ``WATCH``/``MULTI``/``EXEC``,
    retried on conflict) or a row lock.
    """

    async def get(self, key: str) -> CircuitRecord | None:
        """The stored record of ``key``, or ``None``."""
        ...

    async def update(
        self, key: str, fn: Callable[[CircuitRecord | None], tuple[CircuitRecord, T]]
    ) -> T:
        """Atomically replace the record of ``key`` by ``fn(record)[0]``; return ``[1]``."""
        ...


@runtime_checkable
class TransitionStore(Protocol):
    """A store that applies :func:`transition` itself, atomically, in one step.

    Implementations must give exactly the results of :func:`transition` (a remote store runs
    it server side: one round trip per decision instead of a read-compute-write loop).
    """

    async def apply(
        self, key: str, op: BreakerOp, now: float, policy: BreakerPolicy
    ) -> float | None:
        """Apply ``op`` to the record of ``key``; return :func:`transition`'s ``wait``."""
        ...


# A TransitionStore may also provide ``async apply_states(key, op, now, policy)`` returning
# ``(wait, state before, state after)`` in the same single step; the breaker then reports
# state changes (:class:`BreakerChange`) at no extra cost. Without it, changes made through a
# TransitionStore go unreported.


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
        store: Where records live; a fresh :class:`MemoryBreakerStore` by default, or a
            :class:`l0.redis_stores.RedisBreakerStore` shared by every process.
        clock: Its ``now()`` is read (:class:`l0.testing.FakeClock` in tests); default
            ``time.monotonic`` with the memory store, ``time.time`` with any other.
        count: The error categories that count as failures (network, transient, provider by
            default: an unhealthy provider, never bad content or the caller's own bugs).
        fail_open: What a call does when the store itself fails (Redis down): ``True`` (the
            default) lets it through, ``False`` refuses it with
            :class:`~l0.errors.CircuitOpenError` (the run moves to its next fallback). Either
            way the outage is logged once on the ``l0.breaker`` logger, and its end too.
        store_timeout: Seconds one store call may take before it counts as failed (a hung
            Redis, or a client retrying a refused connection for seconds); ``None``: no
            limit. Not applied to the memory store.

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
        fail_open: bool = True,
        store_timeout: float | None = 2.0,
    ) -> None:
        _positive("failure_threshold", failure_threshold, int)
        _positive("half_open_max_calls", half_open_max_calls, int)
        _positive("recovery_time", recovery_time, (int, float))
        _positive("window", window, (int, float))
        if store is not None and not isinstance(store, BreakerStore):
            raise TypeError("store must provide async get(key) and update(key, fn)")
        if clock is not None and not callable(getattr(clock, "now", None)):
            raise TypeError("clock must provide now()")
        if not isinstance(fail_open, bool):
            raise TypeError(f"fail_open must be True or False, got {fail_open!r}")
        self.policy = BreakerPolicy(
            failure_threshold, float(recovery_time), half_open_max_calls, float(window)
        )
        self.store: BreakerStore = store if store is not None else MemoryBreakerStore()
        self._apply_op: _Apply | None = None
        self._apply_states: _ApplyStates | None = None
        if isinstance(self.store, TransitionStore):
            self._apply_op = self.store.apply
            self._apply_states = getattr(self.store, "apply_states", None)
        # A shared store needs wall time: monotonic clocks differ between processes.
        wall = store is not None and not isinstance(store, MemoryBreakerStore)
        self._now = clock.now if clock else (time.time if wall else time.monotonic)
        self.count = _categories(count)
        self.fail_open = fail_open
        if store_timeout is not None:
            _positive("store_timeout", store_timeout, (int, float))
        local = isinstance(self.store, MemoryBreakerStore)
        self.store_timeout = None if local or store_timeout is None else float(store_timeout)
        self._store_down = False

    @property
    def failure_threshold(self) -> int:
        """Counted failures within ``window`` that open the circuit."""
        return self.policy.failure_threshold

    @property
    def recovery_time(self) -> float:
        """Seconds an open circuit refuses calls."""
        return self.policy.recovery_time

    @property
    def half_open_max_calls(self) -> int:
        """Trial calls let through at once while half-open."""
        return self.policy.half_open_max_calls

    @property
    def window(self) -> float:
        """Seconds a counted failure stays counted."""
        return self.policy.window

    async def acquire(self, key: str) -> BreakerChange | None:
        """Let one call to ``key`` through, or raise.

        Returns:
            The state change letting it through caused (open to half-open), else ``None``.

        Raises:
            l0.CircuitOpenError: The circuit is open (or half-open with every trial taken),
                or the store failed and ``fail_open`` is False.
        """
        try:
            wait, change = await self._do(key, BreakerOp.ACQUIRE)
        except Exception:
            self._store_failed(key)
            if self.fail_open:
                return None
            raise CircuitOpenError(key, 0.0) from None
        if wait is not None:
            raise CircuitOpenError(key, wait)
        return change

    async def record_success(self, key: str) -> BreakerChange | None:
        """A call to ``key`` succeeded: a half-open circuit closes.

        Returns:
            The state change it caused (half-open to closed), else ``None``.
        """
        return await self._record(key, BreakerOp.SUCCESS)

    async def record_failure(self, key: str, error: BaseException) -> BreakerChange | None:
        """A call to ``key`` failed with ``error``.

        Only errors whose category is in ``count`` count; any other failure just gives back a
        half-open trial slot (the provider answered, so it says nothing about its health).

        Returns:
            The state change it caused (to open), else ``None``.
        """
        mapped = to_l0_error(error)
        counted = mapped is not None and mapped.category in self.count
        return await self._record(key, BreakerOp.FAILURE if counted else BreakerOp.RELEASE)

    async def state(self, key: str) -> CircuitState:
        """The current state of ``key`` (an expired open circuit reads as half-open).

        A failing store reads as closed (open when ``fail_open`` is False).
        """
        try:
            record = await self.store.get(key)
        except Exception:
            self._store_failed(key)
            return CircuitState.CLOSED if self.fail_open else CircuitState.OPEN
        return _current(self.policy, record or _CLOSED, self._now()).state

    async def reset(self, key: str) -> None:
        """Close the circuit of ``key`` and forget its failures (an operator's override)."""
        await self.store.update(key, lambda r: (_CLOSED, None))

    async def _do(self, key: str, op: BreakerOp) -> tuple[float | None, BreakerChange | None]:
        if self.store_timeout is None:
            wait, states = await self._call(key, op)
        else:
            with anyio.fail_after(self.store_timeout):
                wait, states = await self._call(key, op)
        if self._store_down:
            self._store_down = False
            _log.warning("circuit breaker store is back (key %r)", key)
        if states is None or states[0] is states[1]:
            return wait, None
        return wait, self._change(key, *states)

    async def _call(
        self, key: str, op: BreakerOp
    ) -> tuple[float | None, tuple[CircuitState, CircuitState, float] | None]:
        now = self._now()
        if self._apply_states is not None:
            wait, before, after = await self._apply_states(key, op, now, self.policy)
            return wait, (before, after, now)
        if self._apply_op is not None:
            return await self._apply_op(key, op, now, self.policy), None
        policy = self.policy

        def step(r: CircuitRecord | None) -> tuple[CircuitRecord, _States]:
            new, wait = transition(policy, r, op, now)
            return new, (wait, (r or _CLOSED).state, new.state)

        wait, before, after = await self.store.update(key, step)
        return wait, (before, after, now)

    def _change(
        self, key: str, before: CircuitState, after: CircuitState, now: float
    ) -> BreakerChange:
        opened = after is CircuitState.OPEN
        failures = 0
        if opened:
            failures = 1 if before is CircuitState.HALF_OPEN else self.policy.failure_threshold
        until = now + self.policy.recovery_time if opened else None
        _log.info(
            "circuit %r: %s -> %s%s",
            key,
            before.value,
            after.value,
            f" after {failures} counted failure(s)" if opened else "",
        )
        return BreakerChange(key, before, after, failures, until)

    async def _record(self, key: str, op: BreakerOp) -> BreakerChange | None:
        # A broken shared store must not take the LLM calls down with it.
        try:
            return (await self._do(key, op))[1]
        except Exception:
            self._store_failed(key)
            return None

    def _store_failed(self, key: str) -> None:
        """Log a store outage once (at its start); later failures only at debug level."""
        if self._store_down:
            _log.debug("circuit breaker store still failing for %r", key, exc_info=True)
            return
        self._store_down = True
        _log.warning(
            "circuit breaker store failed for %r; %s until it answers again (logged once)",
            key,
            "letting calls through" if self.fail_open else "refusing calls",
            exc_info=True,
        )


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
