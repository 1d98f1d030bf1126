"""``Depends(l0_stream)`` serving a fast-lane source on a real uvicorn gives the client the
bytes the SDK path gives: every wire format, over the chaos server, faults included."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import Response
from openai import AsyncOpenAI

import l0
from l0.chaos import ChaosServer
from l0.integrations.fastapi import L0Stream, l0_stream
from tests.integration.fastlane.paths import source

from .helpers import serve

pytestmark = pytest.mark.anyio

L0S = Annotated[L0Stream, Depends(l0_stream)]
ANSWER = "Streams break; l0 resumes them. Every character arrives exactly once, in order."
RETRY = l0.Retry(attempts=3, max_retries=4, backoff="fixed", base_delay=0.0)
TIMEOUT = l0.Timeout(initial_token=5, inter_token=2)
FORMATS = ("l0", "vercel", "openai")
FAULTS = {
    "ok": ("ok", False),
    "tools": ("ok", True),
    "drop": ("drop_after_tokens=5; ok", False),
    "inband": ("inband_error=3; ok", False),
    "malformed": ("malformed_after_tokens=4; ok", False),
    "401": ("status=401", False),
}
_CREATED = re.compile(rb'"created":[0-9]+')


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    """One gateway for the module: ``/chat?upstream=…&fast=…&tools=…``; one client per
    upstream, made in the gateway's loop, closed when it stops."""
    clients: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        for client in clients.values():
            await client.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/chat")
    async def chat(l0s: L0S, upstream: str, fast: bool, tools: bool) -> Response:
        client = clients.get(upstream)
        if client is None:
            client = clients[upstream] = AsyncOpenAI(
                api_key="test", base_url=upstream, max_retries=0
            )
        src = source("openai.chat", client, fast, tools=tools)
        return l0s(src, retry=RETRY, timeout=TIMEOUT, continuation=True)

    with serve(app, lifespan="on") as url:
        yield url


async def replies(base: str, plan: str, tools: bool) -> dict[bool, list[Any]]:
    """Status, content type and body of one request per format and path (SDK, fast lane)."""
    out: dict[bool, list[Any]] = {False: [], True: []}
    with ChaosServer("; ".join([plan] * 2 * len(FORMATS)), answer=ANSWER, tool_pieces=3) as up:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            for fast in (False, True):
                for fmt in FORMATS:
                    params = {
                        "format": fmt,
                        "stream_id": f"s-{fmt}",
                        "upstream": up.openai_base_url,
                        "fast": fast,
                        "tools": tools,
                    }
                    r = await http.get("/chat", params=params)
                    # the openai format stamps the second the stream started
                    body = _CREATED.sub(b'"created":0', r.content)
                    out[fast].append((fmt, r.status_code, r.headers["content-type"], body))
    return out


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_fast_lane_source_sends_the_sdk_paths_bytes(base: str, fault: str) -> None:
    plan, tools = FAULTS[fault]
    got = await replies(base, plan, tools)
    sdk, fast = got[False], got[True]
    assert fast == sdk
    statuses = {status for _, status, _, _ in sdk}
    assert statuses == ({502} if fault == "401" else {200})
    if fault in ("ok", "drop", "inband", "malformed"):
        l0_body = sdk[0][3].decode()
        assert "event: done" in l0_body
        assert ("event: retry" in l0_body) == (fault != "ok")
