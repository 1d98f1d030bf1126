"""Resume inputs from outside: ``Last-Event-ID`` / ``?last_event_id=`` validated, ids at or
past the end answered at once, and a failing store never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import Response

from l0.integrations.fastapi import (
    L0Settings,
    L0Stream,
    MemoryResumeStore,
    Resume,
    ResumeStore,
    StoredFrame,
    l0_resume_router,
    l0_stream,
    l0_stream_dependency,
)
from l0.integrations.fastapi.redis_store import RedisResumeStore

from .helpers import Reply, asgi_get, events

pytestmark = pytest.mark.anyio

L0S = Annotated[L0Stream, Depends(l0_stream)]
TOKENS = [f"t{i} " for i in range(8)]  # 8 tokens + done = ids 1..9


def resume_app(store: ResumeStore) -> FastAPI:
    settings = L0Settings(resume=Resume(store=store), keepalive=5)
    app = FastAPI()
    app.dependency_overrides[l0_stream] = l0_stream_dependency(settings)
    app.include_router(l0_resume_router(settings))

    @app.get("/chat")
    async def chat(l0s: L0S) -> Response:
        return l0s(lambda: iter(TOKENS))

    return app


async def finished_and_running(store: ResumeStore) -> FastAPI:
    """An app whose store holds ``done`` (ids 1..9, finished) and ``live`` (ids 1..5, running)."""
    app = resume_app(store)
    with anyio.fail_after(5):
        r = await asgi_get(app, "/chat", query=b"stream_id=done", leave_after_first_body=False)
    assert r.status == 200
    assert [e.id for e in events(r.text)] == [str(i) for i in range(1, 10)]
    await store.open("live")
    await store.append(
        "live", [StoredFrame(i, f"id: {i}\ndata: x\n\n".encode()) for i in range(1, 6)]
    )
    return app


async def reconnect(app: FastAPI, stream: str, last: bytes, how: str) -> Reply:
    with anyio.fail_after(2):  # never a hang
        if how == "header":
            return await asgi_get(app, f"/l0/streams/{stream}", headers=[(b"last-event-id", last)])
        if how == "query":
            from urllib.parse import quote_from_bytes

            return await asgi_get(
                app,
                f"/l0/streams/{stream}",
                query=b"last_event_id=" + quote_from_bytes(last).encode(),
            )
        return await asgi_get(
            app, "/chat", query=f"stream_id={stream}".encode(), headers=[(b"last-event-id", last)]
        )


HOW = ["header", "query", "same-route"]


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize(
    "bad",
    [
        b"9" * 4301,  # was a 500 (int() of a 4,301-digit string)
        "٣".encode(),  # an Arabic-Indic three: was accepted as 3
        "３".encode(),  # a fullwidth three
        b"1" * 19,  # one digit over the bound
        b"-1",
        b"+3",
        b" 3",
        b"3.0",
        b"0x10",
        b"1_000",
        b"\xff",
    ],
)
async def test_bad_last_event_id_is_a_400(bad: bytes, how: str) -> None:
    app = await finished_and_running(MemoryResumeStore())
    r = await reconnect(app, "done", bad, how)
    assert r.status == 400
    error = r.json()["error"]
    assert error["code"] == "invalid_last_event_id"
    assert "ASCII digits" in error["message"]
    assert len(error["message"]) < 200  # the input is not echoed at length


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[ResumeStore]:
    if request.param == "memory":
        yield MemoryResumeStore()
        return
    url = request.getfixturevalue("redis_url")
    redis_store = RedisResumeStore.from_url(url, prefix=f"in{id(request)}:")
    try:
        yield redis_store
    finally:
        await redis_store.aclose()


@pytest.mark.parametrize("how", HOW)
async def test_ids_at_or_past_the_end_are_answered_at_once(how: str, store: ResumeStore) -> None:
    app = await finished_and_running(store)
    # finished stream: at the end or past it, nothing will ever come: 204 at once
    for last in (b"9", b"10", b"123456789012345678"):
        r = await reconnect(app, "done", last, how)
        assert (r.status, r.body) == (204, b""), last
    r = await reconnect(app, "done", b"7", how)
    assert (r.status, [e.id for e in events(r.text)]) == (200, ["8", "9"])
    r = await reconnect(app, "done", b"0007", how)
    assert [e.id for e in events(r.text)] == ["8", "9"]
    # running stream: past its current end is a clear error, not a wait
    for last in (b"6", b"999"):
        r = await reconnect(app, "live", last, how)
        assert r.status == 416, last
        error = r.json()["error"]
        assert error["code"] == "last_event_id_ahead"
        assert error["newest_id"] == 5
        assert "past the end" in error["message"]
    # at its current end: follows live (the client leaves after the first bytes)
    r = await reconnect(app, "live", b"5", how)
    assert r.status == 200
    assert events(r.text) == []
    r = await reconnect(app, "live", b"3", how)
    assert [e.id for e in events(r.text)] == ["4", "5"]


async def test_resume_method_validates_its_argument() -> None:
    app = FastAPI()

    @app.get("/r/{sid}")
    async def route(sid: str, l0s: L0S) -> Response:
        return l0s.resume(sid, -1)  # a bug in the route, not the client's input

    with pytest.raises(ValueError, match="last_event_id must be an int >= 0, got -1"):
        await asgi_get(app, "/r/x")


class FlakyStore(MemoryResumeStore):
    """A store backend that can be made to fail per operation (as a down Redis would)."""

    def __init__(self) -> None:
        super().__init__()
        self.down: set[str] = set()

    def _check(self, op: str) -> None:
        if op in self.down:
            raise ConnectionError(f"store backend down ({op})")

    async def open(self, stream_id: str) -> None:
        self._check("open")
        await super().open(stream_id)

    async def read_after(self, stream_id: str, last_id: int) -> list[StoredFrame]:
        self._check("read_after")
        return await super().read_after(stream_id, last_id)

    async def wait(self, stream_id: str, last_id: int, max_wait: float) -> bool:
        self._check("wait")
        return await super().wait(stream_id, last_id, max_wait)


async def test_store_failure_before_the_first_byte_is_a_503_with_retry_after() -> None:
    store = FlakyStore()
    app = await finished_and_running(store)
    store.down = {"open"}
    r = await asgi_get(app, "/chat", query=b"stream_id=new", leave_after_first_body=False)
    assert r.status == 503
    assert r.headers["retry-after"] == "1"
    assert r.json()["error"]["code"] == "resume_store_unavailable"
    store.down = {"read_after"}
    for how in HOW:
        r = await reconnect(app, "done", b"3", how)
        assert r.status == 503, how
        assert r.headers["retry-after"] == "1"


async def test_store_failure_after_the_first_byte_is_an_in_band_error() -> None:
    store = FlakyStore()
    app = await finished_and_running(store)
    store.down = {"wait"}
    with anyio.fail_after(2):
        r = await asgi_get(
            app,
            "/l0/streams/live",
            headers=[(b"last-event-id", b"2")],
            leave_after_first_body=False,
        )
    assert r.status == 200
    assert r.complete
    evs = events(r.text)
    assert [e.id for e in evs[:-1]] == ["3", "4", "5"]
    assert evs[-1].event == "error"
    assert evs[-1].id is None  # a later reconnect resumes after 5, before this error
    assert evs[-1].json()["code"] == "RESUME_STORE_UNAVAILABLE"
    assert evs[-1].json()["retryable"] is True


async def test_redis_pool_exhausted_waits_then_503_never_500(redis_url: str) -> None:
    """One pooled command connection, held by a slow command: a new stream waits for the pool
    (pool_timeout) and answers 503 + Retry-After instead of MaxConnectionsError/500."""
    store = RedisResumeStore.from_url(
        redis_url, max_connections=1, pool_timeout=0.1, prefix="pool:"
    )
    try:
        app = resume_app(store)
        async with anyio.create_task_group() as tg:
            # a slow command holds the only command connection for ~1 s
            tg.start_soon(lambda: store.client.blpop(["pool:nothing"], timeout=1))
            await anyio.sleep(0.05)
            r = await asgi_get(app, "/chat", query=b"stream_id=s2", leave_after_first_body=False)
            assert r.status == 503
            assert r.headers["retry-after"] == "1"
            tg.cancel_scope.cancel()
    finally:
        await store.aclose()


def test_redis_from_url_validates_the_pool_options() -> None:
    with pytest.raises(ValueError, match="max_connections"):
        RedisResumeStore.from_url("redis://127.0.0.1:1/0", max_connections=0)
    with pytest.raises(TypeError, match="max_connections"):
        RedisResumeStore.from_url("redis://127.0.0.1:1/0", max_connections=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pool_timeout"):
        RedisResumeStore.from_url("redis://127.0.0.1:1/0", pool_timeout=0)
