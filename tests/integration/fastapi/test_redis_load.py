"""500 concurrent SSE clients on one uvicorn worker whose Redis resume store has a pool of 50
connections: every stream exact, every mid-stream reconnect resumed, 0 errors."""

from __future__ import annotations

import uuid

import pytest

from .redis_load import run_load, uvicorn_process

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CLIENTS = 500
POOL = 50  # a tenth of the clients: calls wait for a connection instead of failing
TOKENS = 10


@pytest.mark.timeout(180)
async def test_500_concurrent_sse_clients_on_a_small_redis_pool(redis_url: str) -> None:
    run = uuid.uuid4().hex[:8]
    with uvicorn_process(redis_url, pool=POOL, tokens=TOKENS, prefix=f"load{run}:") as base:
        report = await run_load(base, clients=CLIENTS, tokens=TOKENS, run=run)
    print(f"\nRedis resume store under load (pool {POOL}): {report.summary()}")
    assert report.errors == []
    assert report.reconnects == CLIENTS // 2
    assert report.events == CLIENTS * (TOKENS + 1)
