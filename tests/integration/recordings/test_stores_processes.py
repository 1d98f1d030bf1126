"""Stores across processes: Redis readable from another process; a writer killed mid-run
leaves a readable prefix that replays (Redis and file)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
import redis.asyncio as aioredis

import l0
from l0.recordings import ReplayDivergedError

WRITER = Path(__file__).with_name("writer.py")
ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _writer(target: str, key: str, tokens: int, delay: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), target, key, str(tokens), str(delay)],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_redis_store_written_by_one_process_read_by_another(redis_url: str) -> None:
    proc = _writer(redis_url, "whole", 30, 0.0)
    out, err = proc.communicate(timeout=25)
    assert proc.returncode == 0, err
    reader = (
        "import anyio, l0, sys\n"
        "async def main():\n"
        "    rep = await l0.replay(sys.argv[1])\n"
        "    print(rep.identical, len(rep.text), rep.original.status)\n"
        "anyio.run(main)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", reader, f"{redis_url}/whole"],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=25,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", out.strip(), "completed"]

    async def check_stream() -> None:
        client = aioredis.from_url(redis_url)
        try:
            assert await client.type("l0:rec:whole") == b"stream"
            assert 0 < await client.ttl("l0:rec:whole") <= 7 * 24 * 3600
            assert await client.xlen("l0:rec:whole") > 3  # one entry per batch
        finally:
            await client.aclose()

    anyio.run(check_stream)


def _kill_when(proc: subprocess.Popen[str], ready: object) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if ready():  # type: ignore[operator]
            break
        if proc.poll() is not None:
            raise AssertionError(f"the writer ended early: {proc.communicate()}")
        time.sleep(0.05)
    else:
        raise AssertionError("the writer recorded nothing in 20 s")
    proc.kill()
    proc.communicate(timeout=10)  # reaps it and closes its pipes


async def _replays_prefix(rec: l0.Recording) -> None:
    assert rec.status == "incomplete" and rec.end is None
    rep = await l0.replay(rec)
    assert isinstance(rep.error, ReplayDivergedError)
    assert "writer died" in str(rep.error)
    prefix = rec.canonical()[:-3]  # the recorded items; then readings, draws, outcome
    assert len(prefix) > 10
    assert rep.recording.canonical()[: len(prefix)] == prefix
    assert rep.recording.reads[: len(rec.reads)] == rec.reads


def test_redis_writer_killed_mid_run_leaves_a_prefix_that_replays(redis_url: str) -> None:
    proc = _writer(redis_url, "killed", 100_000, 0.002)

    def ready() -> bool:
        async def xlen() -> int:
            client = aioredis.from_url(redis_url)
            try:
                return int(await client.xlen("l0:rec:killed"))
            finally:
                await client.aclose()

        return anyio.run(xlen) >= 5

    _kill_when(proc, ready)
    rec = anyio.run(l0.load_recording, f"{redis_url}/killed")
    anyio.run(_replays_prefix, rec)


def test_file_writer_killed_mid_run_leaves_a_prefix_that_replays(tmp_path: Path) -> None:
    path = tmp_path / "killed.jsonl"
    proc = _writer(str(path), "killed", 100_000, 0.002)
    _kill_when(proc, lambda: path.exists() and path.read_text().count("\n") >= 5)
    rec = anyio.run(l0.load_recording, path)
    anyio.run(_replays_prefix, rec)


@pytest.mark.parametrize("url", ["redis://localhost:6379/0", "redis://h/0?x=1"])
def test_a_redis_url_must_name_the_recording(url: str) -> None:
    with pytest.raises(ValueError, match="name the recording"):
        anyio.run(l0.load_recording, url)
