"""A blocking sync source served through ``Depends(l0_stream)`` on a real uvicorn: tokens
arrive as they are produced, ``/health`` on the same worker stays fast, and a client that
leaves stops the provider (its iterator is closed)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Annotated

import anyio
import anyio.to_thread
import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import Response

from l0.integrations.fastapi import L0Stream, l0_stream

from .helpers import serve

pytestmark = pytest.mark.anyio

L0S = Annotated[L0Stream, Depends(l0_stream)]
TOKENS = 12
PER_TOKEN = 0.05  # a blocking read per token (e.g. httpx.Client streaming)


class BlockingProvider:
    def __init__(self) -> None:
        self.closed = threading.Event()

    def gen(self) -> Iterator[str]:
        try:
            for i in range(TOKENS):
                time.sleep(PER_TOKEN)
                yield f"t{i} "
        finally:
            self.closed.set()


def app_for(provider: BlockingProvider) -> FastAPI:
    app = FastAPI()

    @app.get("/chat")
    async def chat(l0s: L0S) -> Response:
        return l0s(provider.gen)

    @app.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    return app


async def test_health_stays_fast_and_tokens_stream_while_blocking_sources_run() -> None:
    provider = BlockingProvider()
    with serve(app_for(provider)) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            arrivals: list[list[float]] = []

            async def read_stream() -> None:
                times: list[float] = []
                async with client.stream("GET", "/chat") as response:
                    async for chunk in response.aiter_text():
                        if "event: token" in chunk:
                            times.append(time.monotonic())
                arrivals.append(times)

            health: list[float] = []
            async with anyio.create_task_group() as tg:
                for _ in range(4):
                    tg.start_soon(read_stream)
                await anyio.sleep(0.1)
                for _ in range(5):
                    started = time.monotonic()
                    assert (await client.get("/health")).json() == {"ok": True}
                    health.append(time.monotonic() - started)
                    await anyio.sleep(0.05)
    # Read on the loop, each /health would wait for a whole stream (~0.6 s): a loose bound.
    assert max(health) < 0.25, health
    for times in arrivals:
        # tokens arrive spread out as produced, not all at once at the end
        assert times[-1] - times[0] > (TOKENS - 4) * PER_TOKEN, times


async def test_a_client_that_leaves_stops_the_blocking_provider() -> None:
    provider = BlockingProvider()
    with serve(app_for(provider)) as base:
        async with (
            httpx.AsyncClient(base_url=base, timeout=10) as client,
            client.stream("GET", "/chat") as response,
        ):
            async for chunk in response.aiter_text():
                if "event: token" in chunk:
                    break  # leave after the first token
        assert await anyio.to_thread.run_sync(provider.closed.wait, 3)
