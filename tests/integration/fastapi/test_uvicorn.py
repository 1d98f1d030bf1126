"""Over a real uvicorn on 127.0.0.1: client disconnects and provider drops mid-stream."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import Response

import l0
from l0.integrations.fastapi import (
    L0Settings,
    L0Stream,
    MemoryResumeStore,
    Resume,
    l0_resume_router,
    l0_stream,
    l0_stream_dependency,
)

from .helpers import Provider, events, parse_sse, serve

pytestmark = pytest.mark.anyio

L0S = Annotated[L0Stream, Depends(l0_stream)]
TEXT = "Streams drop. Readers should never notice: l0 continues from the checkpoint."


def disconnect_app(provider: Provider, resume: Resume | None) -> FastAPI:
    app = FastAPI()
    settings = L0Settings(resume=resume)
    app.dependency_overrides[l0_stream] = l0_stream_dependency(settings)
    app.include_router(l0_resume_router(settings))

    @app.get("/chat")
    async def chat(l0s: L0S) -> Response:
        return l0s(provider.source)

    return app


async def read_events_then_close(url: str, n: int, **params: str) -> tuple[float, str]:
    """Read ``n`` events over a real connection, then close it; (close time, text read)."""
    async with (
        httpx.AsyncClient(timeout=5) as client,
        client.stream("GET", url, params=params) as response,
    ):
        assert response.status_code == 200
        text = ""
        async for chunk in response.aiter_text():
            text += chunk
            if text.count("\nid: ") >= n:
                break
        closed_at = time.monotonic()
    return closed_at, text


async def test_disconnect_cancels_the_provider_at_once() -> None:
    provider = Provider()
    with serve(disconnect_app(provider, resume=None)) as base:
        closed_at, _ = await read_events_then_close(f"{base}/chat", 3)
        assert await anyio.to_thread.run_sync(provider.stopped.wait, 2)
    assert provider.how in ("GeneratorExit", "CancelledError")
    assert provider.at - closed_at < 0.1, f"provider stopped {provider.at - closed_at:.3f}s late"


async def test_resumable_run_outlives_its_client_then_stops_after_grace() -> None:
    provider = Provider()
    store = MemoryResumeStore()
    with serve(disconnect_app(provider, resume=Resume(store=store, grace=0.3))) as base:
        closed_at, text = await read_events_then_close(f"{base}/chat", 3, stream_id="keep-1")
        await anyio.sleep(0.15)
        assert not provider.stopped.is_set()  # still producing into the buffer
        assert await anyio.to_thread.run_sync(provider.stopped.wait, 2)
        assert 0.25 < provider.at - closed_at < 1.5  # grace 0.3 s (loose bound for slow CI)
        last = parse_sse(text)[-1].id
        async with httpx.AsyncClient(timeout=5) as client:
            r = await client.get(f"{base}/l0/streams/keep-1", headers={"last-event-id": last})
    resumed = events(r.text)
    assert resumed[0].id == str(int(last or 0) + 1)
    assert [e.event for e in resumed[:-1]] == ["token"] * (len(resumed) - 1)
    assert len(resumed) > 5  # it kept producing while nobody listened
    assert resumed[-1].event == "error"
    assert resumed[-1].json()["code"] == "STREAM_ABORTED"


def drop_app(calls: list[l0.Attempt]) -> FastAPI:
    app = FastAPI()

    async def source(attempt: l0.Attempt) -> AsyncIterator[str]:
        calls.append(attempt)
        if attempt.checkpoint:
            # the resumed provider restates the end of the checkpoint: l0 removes it
            rest = TEXT[len(attempt.checkpoint) - 5 :]
            for i in range(0, len(rest), 4):
                yield rest[i : i + 4]
            return
        for i in range(0, 30, 3):
            yield TEXT[i : i + 3]
            await anyio.sleep(0.002)
        raise ConnectionResetError("upstream connection reset")

    @app.post("/chat")
    async def chat(l0s: L0S) -> Response:
        return l0s(source, continuation=True, retry=l0.Retry(base_delay=0.01))

    return app


@pytest.fixture
def attempts() -> list[l0.Attempt]:
    return []


async def test_provider_drop_mid_stream_is_invisible_to_the_client(
    attempts: list[l0.Attempt],
) -> None:
    with serve(drop_app(attempts)) as base:
        async with httpx.AsyncClient(timeout=5) as client:
            r = await client.post(f"{base}/chat")
    assert r.status_code == 200
    evs = events(r.text)
    tokens = [e.json()["text"] for e in evs if e.event == "token"]
    assert "".join(tokens) == TEXT  # byte-exact: nothing lost, nothing repeated
    assert "reset" not in [e.event for e in evs]
    assert evs[-1].event == "done"
    assert [a.is_continuation for a in attempts] == [False, True]
    assert attempts[1].checkpoint + attempts[1].held_back == TEXT[:30]
