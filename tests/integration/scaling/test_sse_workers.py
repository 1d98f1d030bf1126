"""SSE resume across workers: two uvicorn processes serve the FastAPI example, sharing one
real redis-server; a client cut off by one reconnects with ``Last-Event-ID`` to the other and
gets the rest, exactly."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from examples.fastapi_app import ANSWER
from tests.integration.fastapi.helpers import events
from tests.integration.redis_server import free_port

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def workers(redis_url: str) -> Iterator[list[str]]:
    """Two single-worker uvicorn processes of the example app (two ports: which worker
    serves a request is then certain)."""
    env = {**os.environ, "L0_REDIS_URL": redis_url, "PYTHONPATH": str(ROOT)}
    ports = [free_port(), free_port()]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "examples.fastapi_app:app",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        # Two Python processes importing FastAPI and l0: tens of seconds on a loaded machine
        # (bounded here; the test itself has the usual 30 s, without this set-up).
        deadline = time.monotonic() + 90
        for url, proc in zip(urls, procs, strict=True):
            while True:
                try:
                    if httpx.get(url + "/", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"uvicorn on {url} did not start")
                time.sleep(0.1)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)


@pytest.mark.timeout(30, func_only=True)
def test_a_reconnect_to_another_worker_gets_the_rest_exactly(workers: list[str]) -> None:
    a, b = workers
    stream_id = f"xw-{time.monotonic_ns()}"
    # Worker A: the "proxy" in the example cuts the response after 6 events.
    first = httpx.get(
        f"{a}/chat", params={"q": "hi", "stream_id": stream_id, "cut": "6"}, timeout=10
    )
    assert first.status_code == 200
    got = events(first.text)
    assert len(got) == 6 and got[-1].event != "done"
    last_id = got[-1].id
    # Worker B (another process) serves the reconnect from Redis while A keeps producing.
    rest = httpx.get(f"{b}/l0/streams/{stream_id}", headers={"last-event-id": last_id}, timeout=15)
    assert rest.status_code == 200
    tail = events(rest.text)
    assert tail[-1].event == "done"
    ids = [int(e.id) for e in got + tail]
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # no gap, no repeat
    text = "".join(e.json()["text"] for e in got + tail if e.event == "token")
    assert text == ANSWER  # every character exactly once (the drop in A was continued)
