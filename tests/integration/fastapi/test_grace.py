"""The resume grace period over a real uvicorn: a reconnect keeps the run alive; the grace
timer restarts when the last reader leaves (in one worker, and across two workers on Redis)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from typing import Annotated

import anyio
import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import Response

from l0.integrations.fastapi import (
    L0Settings,
    L0Stream,
    MemoryResumeStore,
    Resume,
    ResumeStore,
    l0_resume_router,
    l0_stream,
    l0_stream_dependency,
)
from l0.integrations.fastapi.redis_store import RedisResumeStore

from .helpers import Provider, events, parse_sse, serve

pytestmark = pytest.mark.anyio

L0S = Annotated[L0Stream, Depends(l0_stream)]
GRACE = 1.0


def grace_app(provider: Provider, store: ResumeStore) -> FastAPI:
    settings = L0Settings(resume=Resume(store=store, grace=GRACE))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if isinstance(store, RedisResumeStore):
            await store.aclose()  # its connections live on this server's loop

    app = FastAPI(lifespan=lifespan)
    app.dependency_overrides[l0_stream] = l0_stream_dependency(settings)
    app.include_router(l0_resume_router(settings))

    @app.get("/chat")
    async def chat(l0s: L0S) -> Response:
        return l0s(provider.source)

    return app


async def read_until(
    client: httpx.AsyncClient, url: str, *, last: str | None, n: int = 0, until: float = 0.0
) -> tuple[str, float]:
    """Read events (at least ``n``, and until monotonic time ``until``), then close."""
    headers = {"last-event-id": last} if last else {}
    async with client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        text = ""
        async for chunk in response.aiter_text():
            text += chunk
            if text.count("\nid: ") >= n and time.monotonic() >= until and text.endswith("\n\n"):
                break
        closed = time.monotonic()
    return text, closed


@contextmanager
def two_workers(redis_url: str, provider: Provider) -> Iterator[tuple[str, str]]:
    with ExitStack() as stack:
        urls = []
        for _ in range(2):  # each worker: its own app, its own client on the shared Redis
            store = RedisResumeStore.from_url(redis_url, prefix="grace:")
            urls.append(stack.enter_context(serve(grace_app(provider, store), lifespan="on")))
        yield urls[0], urls[1]


@pytest.mark.parametrize("workers", ["one worker, memory store", "two workers, redis store"])
async def test_a_reconnect_within_the_grace_period_keeps_the_run_alive(
    workers: str, request: pytest.FixtureRequest
) -> None:
    provider = Provider()
    with ExitStack() as stack:
        if workers.startswith("one"):
            base = stack.enter_context(serve(grace_app(provider, MemoryResumeStore())))
            first, other = base, base
        else:
            first, other = stack.enter_context(
                two_workers(request.getfixturevalue("redis_url"), provider)
            )
        async with httpx.AsyncClient(timeout=5) as client:
            a, t0 = await read_until(client, f"{first}/chat?stream_id=g1", last=None, n=3)
            await anyio.sleep(0.1)  # reconnect 0.1 s after the disconnect
            last_a = parse_sse(a)[-1].id
            # stay well past the grace period counted from the first disconnect
            b, t1 = await read_until(
                client, f"{other}/l0/streams/g1", last=last_a, until=t0 + 2.5 * GRACE
            )
            assert not provider.stopped.is_set(), "the run was cut off while a reader followed"
            # the last reader left: the run stops one grace period later, not before
            assert await anyio.to_thread.run_sync(provider.stopped.wait, 5)
            stopped_after = provider.at - t1
            assert GRACE - 0.05 < stopped_after < GRACE * 1.25 + 1.0, stopped_after
            last_b = parse_sse(b)[-1].id
            r = await client.get(f"{first}/l0/streams/g1", headers={"last-event-id": last_b or ""})
    c = events(r.text)
    assert c[-1].event == "error"
    assert c[-1].json()["code"] == "STREAM_ABORTED"
    # every token exactly once across the three connections, in order
    got = [e for part in (a, b, r.text) for e in events(part)]
    assert [int(e.id or 0) for e in got] == list(range(1, len(got) + 1))
    tokens = "".join(e.json()["text"] for e in got if e.event == "token")
    assert tokens == "".join(f"tok{i} " for i in range(1, len(got)))
