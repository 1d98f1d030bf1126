"""Resumable streams: the store contract (memory and a real Redis), replay and live follow
through a real app, and the error statuses of a reconnect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import Response

from l0.integrations.fastapi import (
    EventsExpiredError,
    L0Settings,
    L0Stream,
    MemoryResumeStore,
    Resume,
    ResumeStore,
    StoredFrame,
    StreamExistsError,
    StreamNotFoundError,
    l0_resume_router,
    l0_stream,
    l0_stream_dependency,
)
from l0.integrations.fastapi.redis_store import RedisResumeStore

from .helpers import events

pytestmark = pytest.mark.anyio

L0S = Annotated[L0Stream, Depends(l0_stream)]
TOKENS = [f"t{i} " for i in range(8)]


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[ResumeStore]:
    if request.param == "memory":
        yield MemoryResumeStore(max_events=4)
        return
    url = request.getfixturevalue("redis_url")
    redis_store = RedisResumeStore.from_url(url, max_events=4, prefix=f"t{id(request)}:")
    try:
        yield redis_store
    finally:
        await redis_store.aclose()


def frames(*ids: int, final_at: int | None = None) -> list[StoredFrame]:
    return [StoredFrame(i, f"data: {i}\n\n".encode(), i == final_at) for i in ids]


async def test_store_contract(store: ResumeStore) -> None:
    with pytest.raises(StreamNotFoundError):
        await store.read_after("s1", 0)
    await store.open("s1")
    with pytest.raises(StreamExistsError):
        await store.open("s1")
    assert await store.read_after("s1", 0) == []
    assert await store.wait("s1", 0, 0.01) is False
    await store.append("s1", frames(1, 2, 3))
    assert [f.id for f in await store.read_after("s1", 0)] == [1, 2, 3]
    assert [f.id for f in await store.read_after("s1", 2)] == [3]
    assert await store.wait("s1", 2, 0.01) is True
    await store.append("s1", frames(4, 5, 6, final_at=6))  # bounded: keeps 3..6
    got = await store.read_after("s1", 3)
    assert [(f.id, f.final) for f in got] == [(4, False), (5, False), (6, True)]
    assert got[0].data == b"data: 4\n\n"
    with pytest.raises(EventsExpiredError):
        await store.read_after("s1", 1)
    await store.expire("s1")
    with pytest.raises(StreamNotFoundError):
        await store.read_after("s1", 0)


async def test_store_wait_wakes_on_append(store: ResumeStore) -> None:
    await store.open("s2")
    woke: list[bool] = []
    async with anyio.create_task_group() as tg:

        async def waiter() -> None:
            woke.append(await store.wait("s2", 0, 2.0))

        tg.start_soon(waiter)
        await anyio.sleep(0.02)
        await store.append("s2", frames(1))
    assert woke == [True]


def test_memory_store_ttl_and_validation() -> None:
    now = [0.0]
    store = MemoryResumeStore(ttl=10, now=lambda: now[0])

    async def scenario() -> None:
        await store.open("a")
        await store.append("a", frames(1))
        now[0] = 10.5
        with pytest.raises(StreamNotFoundError):
            await store.read_after("a", 0)

    anyio.run(scenario)
    with pytest.raises(ValueError, match="max_events"):
        MemoryResumeStore(max_events=0)


def gated_app(store: ResumeStore, gate: anyio.Event) -> FastAPI:
    """A resumable route whose source pauses at a gate after three tokens."""
    settings = L0Settings(resume=Resume(store=store), keepalive=5)
    app = FastAPI()
    app.dependency_overrides[l0_stream] = l0_stream_dependency(settings)
    app.include_router(l0_resume_router(settings))

    async def source() -> AsyncIterator[str]:
        for n, token in enumerate(TOKENS):
            if n == 3:
                await gate.wait()
            yield token

    @app.get("/chat")
    async def chat(l0s: L0S) -> Response:
        return l0s(source)

    return app


async def wait_for_frames(store: ResumeStore, sid: str, n: int) -> None:
    with anyio.fail_after(5):
        while True:
            try:
                if len(await store.read_after(sid, 0)) >= n:
                    return
            except StreamNotFoundError:
                pass
            await anyio.sleep(0.005)


@pytest.mark.parametrize("via", ["router", "same-route"])
async def test_reconnect_replays_then_follows_live(via: str, store: ResumeStore) -> None:
    if isinstance(store, MemoryResumeStore):
        store.max_events = 100
    else:
        assert isinstance(store, RedisResumeStore)
        store.max_events = 100
    gate = anyio.Event()
    app = gated_app(store, gate)
    sid = f"stream-{via}"
    results: dict[str, httpx.Response] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

        async def first() -> None:
            results["first"] = await client.get("/chat", params={"stream_id": sid})

        async def reconnect() -> None:
            await wait_for_frames(store, sid, 3)
            if via == "router":
                req: Any = client.get(f"/l0/streams/{sid}", headers={"last-event-id": "2"})
            else:
                req = client.get("/chat", params={"stream_id": sid}, headers={"last-event-id": "2"})
            results["resumed"] = await req

        async with anyio.create_task_group() as tg:
            tg.start_soon(first)
            tg.start_soon(reconnect)
            await wait_for_frames(store, sid, 3)
            await anyio.sleep(0.05)  # the reconnect is now following live
            gate.set()

    full = events(results["first"].text)
    resumed = events(results["resumed"].text)
    assert [e.id for e in full] == [str(i) for i in range(1, 10)]
    assert [e.id for e in resumed] == [str(i) for i in range(3, 10)]
    assert [e.data for e in resumed] == [e.data for e in full[2:]]
    assert resumed[-1].event == "done"


async def test_reconnect_statuses() -> None:
    store = MemoryResumeStore(max_events=3)
    gate_free = FastAPI()
    settings = L0Settings(resume=Resume(store=store))
    gate_free.dependency_overrides[l0_stream] = l0_stream_dependency(settings)
    gate_free.include_router(l0_resume_router(settings))

    @gate_free.get("/chat")
    async def chat(l0s: L0S) -> Response:
        return l0s(lambda: iter(TOKENS))

    transport = httpx.ASGITransport(app=gate_free)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/chat", params={"stream_id": "done-1"})
        assert r.status_code == 200
        assert events(r.text)[-1].event == "done"
        # 9 events, 3 kept: 7..9
        r = await client.get("/l0/streams/done-1", headers={"last-event-id": "9"})
        assert r.status_code == 204
        r = await client.get("/l0/streams/done-1", params={"last_event_id": "7"})
        assert [e.id for e in events(r.text)] == ["8", "9"]
        r = await client.get("/l0/streams/done-1", headers={"last-event-id": "2"})
        assert r.status_code == 410
        assert r.json()["error"]["code"] == "events_expired"
        r = await client.get("/l0/streams/nope", headers={"last-event-id": "2"})
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "stream_not_found"
        r = await client.get("/chat", params={"stream_id": "done-1"})
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "stream_exists"
        r = await client.get("/chat", params={"stream_id": "bad id!"})
        assert r.status_code == 400
        r = await client.get("/l0/streams/done-1", headers={"last-event-id": "x"})
        assert r.status_code == 400


async def test_resume_across_workers_sharing_redis(redis_url: str) -> None:
    """Worker A produces; worker B (another app, another client) serves the reconnect."""
    stores = [RedisResumeStore.from_url(redis_url, prefix="xw:") for _ in range(2)]
    apps = []
    for s in stores:
        settings = L0Settings(resume=Resume(store=s))
        app = FastAPI()
        app.dependency_overrides[l0_stream] = l0_stream_dependency(settings)
        app.include_router(l0_resume_router(settings))

        @app.get("/chat")
        async def chat(l0s: L0S) -> Response:
            return l0s(lambda: iter(TOKENS))

        apps.append(app)
    try:
        a, b = (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=x), base_url="http://t")
            for x in apps
        )
        async with a, b:
            first = await a.get("/chat", params={"stream_id": "shared-1"})
            resumed = await b.get("/l0/streams/shared-1", headers={"last-event-id": "4"})
        full = events(first.text)
        assert [e.data for e in events(resumed.text)] == [e.data for e in full[4:]]
    finally:
        for s in stores:
            await s.aclose()


class BrokenStore(MemoryResumeStore):
    """A store whose backend goes away after a few appends."""

    def __init__(self, fail_after: int) -> None:
        super().__init__()
        self.left = fail_after

    async def append(self, stream_id: str, frames: Any) -> None:
        self.left -= 1
        if self.left < 0:
            raise ConnectionError("store backend down")
        await super().append(stream_id, frames)


async def test_a_failing_store_does_not_break_the_live_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = L0Settings(resume=Resume(store=BrokenStore(fail_after=2)))
    app = FastAPI()
    app.dependency_overrides[l0_stream] = l0_stream_dependency(settings)

    @app.get("/chat")
    async def chat(l0s: L0S) -> Response:
        return l0s(lambda: iter(TOKENS))

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/chat")
    evs = events(r.text)
    assert "".join(e.json()["text"] for e in evs if e.event == "token") == "".join(TOKENS)
    assert evs[-1].event == "done"
    assert "resume store append failed" in caplog.text
