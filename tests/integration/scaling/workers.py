"""Worker processes for the cross-process tests: each runs l0 over the real OpenAI SDK against
one chaos server, with a breaker and a retry budget stored in one real Redis.

A :class:`WorkerPool` forks N processes once (forked, not spawned: importing the SDKs again
costs seconds per process on a loaded machine); :meth:`WorkerPool.run` sends every worker the
same scenario and gathers what each of its runs did.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
import warnings
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

# Imported before forking, so the workers start with them loaded.
import openai  # noqa: F401
import redis.asyncio  # noqa: F401

import l0.redis_stores

PRIMARY, FALLBACK = "primary-model", "fallback-model"


@dataclass
class Scenario:
    """What every worker does (all fields picklable)."""

    chaos_url: str
    redis_url: str
    prefix: str
    primary_fault: str = "status=503"
    breaker: dict[str, Any] | None = None
    budget: dict[str, Any] | None = None
    retry: dict[str, Any] = field(default_factory=lambda: {"max_retries": 0})
    runs: int = 5
    concurrent: bool = False
    start_at: float = 0.0  # time.monotonic() (one clock for every process on the host)
    pause: float = 0.0  # between sequential runs


@dataclass
class RunRecord:
    """One user request as a worker saw it."""

    worker: int
    text: str = ""
    error: str | None = None
    fallback_index: int = -1
    codes: list[str] = field(default_factory=list)
    primary_init: float | None = None  # STREAM_INIT of the primary (the breaker let it through)
    primary_end: float | None = None  # its STREAM_END (success) or ERROR (failure)


async def _scenario(worker: int, sc: Scenario) -> list[RunRecord]:
    import redis.asyncio as aioredis
    from openai import AsyncOpenAI

    import l0
    from l0.redis_stores import RedisBreakerStore, RedisBudgetStore

    redis = _cached(
        ("redis", sc.redis_url),
        lambda: aioredis.Redis.from_url(
            sc.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
        ),
    )
    breaker = budget = None
    if sc.breaker is not None:
        store = RedisBreakerStore(redis, prefix=sc.prefix + "breaker:")
        breaker = l0.CircuitBreaker(store=store, **sc.breaker)
    if sc.budget is not None:
        budget = l0.RetryBudget(
            store=RedisBudgetStore(redis, prefix=sc.prefix + "budget:"), **sc.budget
        )
    client = _cached(
        ("openai", sc.chaos_url),
        lambda: AsyncOpenAI(base_url=sc.chaos_url, api_key="test", max_retries=0),
    )
    messages: Any = [{"role": "user", "content": "hi"}]

    def primary() -> Any:
        return client.chat.completions.create(
            model=PRIMARY,
            messages=messages,
            stream=True,
            extra_headers={"x-l0-chaos": sc.primary_fault},
        )

    def fallback() -> Any:
        return client.chat.completions.create(model=FALLBACK, messages=messages, stream=True)

    async def one() -> RunRecord:
        rec = RunRecord(worker)

        def seen(ev: l0.ObservabilityEvent) -> None:
            if ev.name == "ATTEMPT_START":
                rec.fallback_index = ev.data["fallback_index"]
            elif ev.name == "STREAM_INIT" and rec.fallback_index == 0:
                rec.primary_init = time.monotonic()
            elif (
                ev.name in ("STREAM_END", "ERROR")
                and rec.fallback_index == 0
                and rec.primary_init is not None
                and rec.primary_end is None
            ):
                rec.primary_end = time.monotonic()

        try:
            result = await l0.run(
                primary,
                fallbacks=[fallback],
                retry=l0.Retry(backoff="fixed", base_delay=0.01, **sc.retry),
                breaker=breaker,
                retry_budget=budget,
                keys=[PRIMARY, FALLBACK] if breaker or budget else None,
                on_event=seen,
            )
        except l0.L0Error as exc:
            rec.error = exc.code.value
            rec.codes = [getattr(e, "code", "?").value for e in getattr(exc, "errors", [exc])]
            return rec
        rec.text = result.text
        rec.fallback_index = result.fallback_index
        rec.codes = [getattr(e, "code", "?").value for e in result.errors]
        return rec

    await asyncio.sleep(max(0.0, sc.start_at - time.monotonic()))
    if sc.concurrent:
        return list(await asyncio.gather(*(one() for _ in range(sc.runs))))
    out = []
    for _ in range(sc.runs):
        out.append(await one())
        await asyncio.sleep(sc.pause)
    return out


_CLIENTS: dict[tuple[str, str], Any] = {}


def _cached(key: tuple[str, str], make: Any) -> Any:
    """One client per URL for the worker's life (its one event loop): a new SDK client costs
    a TLS context and a warm-up, hundreds of ms on a loaded machine."""
    if key not in _CLIENTS:
        _CLIENTS[key] = make()
    return _CLIENTS[key]


def _serve(worker: int, conn: Connection) -> None:
    loop = asyncio.new_event_loop()
    conn.send("ready")
    while True:
        sc = conn.recv()
        if sc is None:
            loop.close()
            return
        try:
            conn.send(loop.run_until_complete(_scenario(worker, sc)))
        except BaseException as exc:  # report, do not hang the parent
            conn.send(exc)


class WorkerPool:
    """N long-lived worker processes (started once: importing the SDKs costs seconds)."""

    def __init__(self, n: int) -> None:
        ctx = mp.get_context("fork")
        self.conns: list[Connection] = []
        self.procs = []
        for i in range(n):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(i, child), daemon=True)
            with warnings.catch_warnings():
                # Python 3.12+ warns about forking a threaded process; the child only runs
                # its own fresh event loop.
                warnings.simplefilter("ignore", DeprecationWarning)
                proc.start()
            self.conns.append(parent)
            self.procs.append(proc)
        for conn in self.conns:
            if not conn.poll(25.0) or conn.recv() != "ready":
                self.close()
                raise TimeoutError("a worker did not start")

    def start(self, sc: Scenario) -> None:
        """Send ``sc`` to every worker (collect with :meth:`collect`)."""
        for conn in self.conns:
            conn.send(sc)

    def collect(self, timeout: float = 25.0) -> list[RunRecord]:
        """Every worker's records, worker by worker."""
        out: list[RunRecord] = []
        for conn in self.conns:
            if not conn.poll(timeout):
                raise TimeoutError("a worker did not answer")
            got = conn.recv()
            if isinstance(got, BaseException):
                raise got
            out.extend(got)
        return out

    def run(self, sc: Scenario) -> list[RunRecord]:
        """Send ``sc`` to every worker; gather their records."""
        self.start(sc)
        return self.collect()

    def close(self) -> None:
        """Stop every worker."""
        for conn in self.conns:
            conn.send(None)
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
