"""Redis stores for the circuit breaker and the retry budget: one truth for every worker.

Both run their transition inside Redis as a Lua script (``EVALSHA``; redis-py reloads the
script after a server restart), so each decision is **one round trip** and atomic across
every process: a half-open trial is granted to exactly one caller, a bucket never goes below
its floor. The scripts mirror the pure Python :func:`l0.breaker.transition` and
:func:`l0.budget.budget_step` (a test runs both on the same inputs and compares).

Keys are ``<prefix><key>``; every write sets an expiry, and a record that says nothing (a
closed circuit without failures, a full bucket) is deleted, so healthy providers leave no keys.
The ``redis.asyncio`` client is yours: give it short timeouts (``socket_timeout``,
``socket_connect_timeout``) and few retries (redis-py 8 retries a refused connection 10 times
with backoff by default: seconds), since the breaker and the budget wait for it on every
attempt; their ``store_timeout`` (2 s) bounds each call anyway. When Redis fails, they fail
open (or closed, as configured) and log it once. ``from_url`` builds a client set up so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

try:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import WatchError
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "l0.redis_stores needs redis: pip install 'l0[all]' (or pip install redis)"
    ) from exc

from l0.breaker import BreakerOp, BreakerPolicy, CircuitRecord, CircuitState
from l0.budget import BudgetOp, BudgetPolicy

__all__ = ["RedisBreakerStore", "RedisBudgetStore"]

T = TypeVar("T")

_BREAKER_LUA = """
local key = KEYS[1]
local op = ARGV[1]
local now = tonumber(ARGV[2])
local threshold = tonumber(ARGV[3])
local recovery = tonumber(ARGV[4])
local max_trials = tonumber(ARGV[5])
local window = tonumber(ARGV[6])
local h = redis.call('HMGET', key, 'state', 'since', 'trials', 'failures')
local state = h[1] or 'closed'
local before = state
local since = tonumber(h[2]) or 0
local trials = tonumber(h[3]) or 0
local failures = {}
if h[4] then
  for t in string.gmatch(h[4], '[^,]+') do failures[#failures + 1] = tonumber(t) end
end
local changed = false
if (state == 'open' and now - since >= recovery)
    or (state == 'half_open' and trials >= max_trials and now - since >= recovery) then
  state = 'half_open'; since = now; trials = 0; failures = {}; changed = true
end
local wait = false
if op == 'acquire' then
  if state == 'half_open' and trials < max_trials then
    trials = trials + 1; changed = true
  elseif state ~= 'closed' then
    wait = math.max(0, since + recovery - now)
  end
elseif op == 'success' then
  if state == 'half_open' then
    state = 'closed'; since = 0; trials = 0; failures = {}; changed = true
  end
elseif op == 'release' then
  if state == 'half_open' and trials > 0 then trials = trials - 1; changed = true end
elseif op == 'failure' then
  if state == 'half_open' then
    state = 'open'; since = now; trials = 0; failures = {}; changed = true
  elseif state == 'closed' then
    local kept = {}
    for _, t in ipairs(failures) do
      if t > now - window then kept[#kept + 1] = t end
    end
    kept[#kept + 1] = now
    while #kept > threshold do table.remove(kept, 1) end
    if #kept >= threshold then
      state = 'open'; since = now; trials = 0; failures = {}
    else
      failures = kept
    end
    changed = true
  end
end
if changed then
  if state == 'closed' and #failures == 0 then
    redis.call('DEL', key)
  else
    local parts = {}
    for i, t in ipairs(failures) do parts[i] = string.format('%.17g', t) end
    redis.call('HSET', key, 'state', state, 'since', string.format('%.17g', since),
      'trials', trials, 'failures', table.concat(parts, ','))
    redis.call('PEXPIRE', key, ARGV[7])
  end
end
if wait then wait = string.format('%.17g', wait) else wait = '' end
return {wait, before, state}
"""

_BUDGET_LUA = """
local key = KEYS[1]
local op = ARGV[1]
local max = tonumber(ARGV[2])
local ratio = tonumber(ARGV[3])
local raw = redis.call('GET', key)
local t = tonumber(raw) or max
local ok = 1
if op == 'spend' then
  if t > max / 2 then t = t - 1 else ok = 0 end
elseif op == 'refill' then
  t = math.min(max, t + ratio)
end
if op ~= 'read' and ok == 1 then
  if t >= max then
    if raw then redis.call('DEL', key) end
  else
    redis.call('SET', key, string.format('%.17g', t), 'PX', ARGV[4])
  end
end
return {ok, string.format('%.17g', t)}
"""


def _ttl_ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def _check_ttl(owner: str, ttl: float | None) -> None:
    if ttl is None:
        return
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 0 < ttl < math.inf:
        raise ValueError(f"{owner} ttl must be seconds, finite and > 0, got {ttl!r}")


def _client(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        url,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), 1),
    )


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class RedisBreakerStore:
    """Circuit records in Redis, shared by every process (:class:`l0.CircuitBreaker`'s
    ``store=``).

    Each key is a hash (``state``, ``since``, ``trials``, ``failures``). Decisions run the
    breaker's transition as one Lua script (:class:`l0.breaker.TransitionStore`); ``get`` and
    ``update`` (used by ``state()`` and ``reset()``) read the same hash.

    Args:
        client: A ``redis.asyncio.Redis`` client (either ``decode_responses`` setting).
        prefix: Key prefix (default ``"l0:breaker:"``).
        ttl: Seconds a record lives after its last change (default: twice the longer of the
            breaker's ``window`` and ``recovery_time``); an expired record reads as closed.

    Raises:
        ValueError: For a bad ``ttl``.
    """

    def __init__(
        self, client: aioredis.Redis, *, prefix: str = "l0:breaker:", ttl: float | None = None
    ) -> None:
        _check_ttl("RedisBreakerStore", ttl)
        self.client = client
        self.prefix = prefix
        self.ttl = ttl
        self._script = client.register_script(_BREAKER_LUA)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisBreakerStore:
        """A store on a new client for ``url`` (0.5 s socket timeouts, one quick retry)."""
        return cls(_client(url), **kwargs)

    async def apply(
        self, key: str, op: BreakerOp, now: float, policy: BreakerPolicy
    ) -> float | None:
        """Run the transition for ``op`` in Redis; the wait of a refused acquire, or None."""
        return (await self.apply_states(key, op, now, policy))[0]

    async def apply_states(
        self, key: str, op: BreakerOp, now: float, policy: BreakerPolicy
    ) -> tuple[float | None, CircuitState, CircuitState]:
        """Like :meth:`apply`, plus the state before and after (same single round trip)."""
        ttl = self.ttl or 2 * max(policy.window, policy.recovery_time)
        out = await self._script(
            keys=[self.prefix + key],
            args=[
                op.value,
                repr(now),
                policy.failure_threshold,
                repr(policy.recovery_time),
                policy.half_open_max_calls,
                repr(policy.window),
                _ttl_ms(ttl),
            ],
        )
        raw_wait, before, after = (_text(x) for x in out)
        wait = float(raw_wait) if raw_wait else None
        return wait, CircuitState(before), CircuitState(after)

    async def get(self, key: str) -> CircuitRecord | None:
        """The stored record of ``key``, or ``None``."""
        return _record(await self.client.hgetall(self.prefix + key))

    async def update(
        self, key: str, fn: Callable[[CircuitRecord | None], tuple[CircuitRecord, T]]
    ) -> T:
        """Atomically replace the record of ``key`` by ``fn(record)[0]`` (``WATCH``/``MULTI``,
        recomputed on conflict); return ``[1]``."""
        name = self.prefix + key
        async with self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(name)
                    record, out = fn(_record(await pipe.hgetall(name)))
                    ttl_ms = await pipe.pttl(name)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if record.state is CircuitState.CLOSED and not record.failures:
                        pipe.delete(name)
                    else:
                        pipe.hset(name, mapping=_fields(record))
                        pipe.pexpire(name, ttl_ms if ttl_ms > 0 else _ttl_ms(self.ttl or 3600))
                    await pipe.execute()
                    return out
                except WatchError:
                    continue  # another process changed the record: recompute


def _record(fields: dict[Any, Any]) -> CircuitRecord | None:
    if not fields:
        return None
    f = {_text(k): _text(v) for k, v in fields.items()}
    failures = tuple(float(t) for t in f.get("failures", "").split(",") if t)
    return CircuitRecord(
        CircuitState(f.get("state", "closed")),
        failures,
        float(f.get("since", 0.0)),
        int(f.get("trials", 0)),
    )


def _fields(record: CircuitRecord) -> dict[Any, str]:
    return {
        "state": record.state.value,
        "since": repr(record.since),
        "trials": str(record.trials),
        "failures": ",".join(repr(t) for t in record.failures),
    }


class RedisBudgetStore:
    """Retry-budget buckets in Redis, shared by every process (:class:`l0.RetryBudget`'s
    ``store=``).

    Each bucket is one string key holding its tokens; a full bucket has no key. Every
    operation is one Lua script (one round trip).

    Args:
        client: A ``redis.asyncio.Redis`` client (either ``decode_responses`` setting).
        prefix: Key prefix (default ``"l0:budget:"``).
        ttl: Seconds a bucket lives after its last change (default 600); an expired bucket
            is full again.

    Raises:
        ValueError: For a bad ``ttl``.
    """

    def __init__(
        self, client: aioredis.Redis, *, prefix: str = "l0:budget:", ttl: float = 600.0
    ) -> None:
        _check_ttl("RedisBudgetStore", ttl)
        self.client = client
        self.prefix = prefix
        self.ttl = ttl
        self._script = client.register_script(_BUDGET_LUA)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisBudgetStore:
        """A store on a new client for ``url`` (0.5 s socket timeouts, one quick retry)."""
        return cls(_client(url), **kwargs)

    async def apply(self, key: str, op: BudgetOp, policy: BudgetPolicy) -> tuple[float, bool]:
        """Apply ``op`` to the bucket of ``key``; return ``(tokens after, allowed)``."""
        ok, tokens = await self._script(
            keys=[self.prefix + key],
            args=[op.value, repr(policy.max_tokens), repr(policy.token_ratio), _ttl_ms(self.ttl)],
        )
        return float(_text(tokens)), bool(int(ok))
