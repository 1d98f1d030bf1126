"""docs/replay.md's 3 a.m. story, end to end: the real openai SDK on the chaos server.

The provider stalls, then (a proxy in the way) sends the whole answer with no finish reason
and no ``[DONE]``, every time: l0 calls it truncated, retries, gives up. Replaying the
recording with ``{"detect_truncation": false}`` shows the first full answer would have been
returned. The live run is recorded on a fake clock (the 30 s stall takes no real time).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

import l0
from l0.chaos import ChaosServer, split_tokens
from l0.recordings import ReplayDivergedError
from l0.testing import FakeClock
from l0.testing.chaos import openai_client

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "replay.md"
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "COLUMNS": "120"}
ANSWER = "Your refund of 40 EUR was approved on 3 March; it reaches your card within five days."
WHOLE = len(split_tokens(ANSWER))
# A stall after 4 tokens, then the whole answer without its end, on every later request.
PLAN = "stall_after_tokens=4"
THEN = f"truncate_after_tokens={WHOLE}"
USER: Any = [{"role": "user", "content": "Where is my refund?"}]
POLICY: dict[str, Any] = {"detect_truncation": False}


async def _unstick(server: ChaosServer, clock: FakeClock) -> None:
    """Move the fake clock on while the server holds a stalled response."""
    while len(server.requests) < 2:
        if server.requests and server.requests[0].outcome == "stalled":
            clock.advance(5.0)
        await anyio.sleep(0.002)


async def _record(path: Path) -> BaseException:
    clock = FakeClock()
    async with (
        ChaosServer(PLAN, answer=ANSWER, then=THEN) as server,
        openai_client(server) as client,
    ):

        def source(attempt: l0.Attempt) -> Any:
            return client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)

        async with anyio.create_task_group() as tg:
            tg.start_soon(_unstick, server, clock)
            with pytest.raises(l0.RetriesExhaustedError) as failed:
                await l0.run(
                    source, retry=l0.Retry(max_retries=2), clock=clock, record=l0.FileStore(path)
                )
        assert [r.outcome for r in server.requests] == ["stalled", "truncated", "truncated"]
    return failed.value


@pytest.fixture(scope="module")
def incident(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The failed run, recorded as one file (what production keeps in Redis)."""
    path = tmp_path_factory.mktemp("story") / "incident.jsonl"
    started = time.monotonic()
    error = anyio.run(_record, path)
    assert time.monotonic() - started < 5  # the 30 s stall was virtual
    assert "stream ended without a finish reason" in str(error)
    return path


def _faults(rec: l0.Recording) -> list[str]:
    return [a.fault["err"]["type"] for a in rec.attempts() if a.fault]


@pytest.mark.anyio
async def test_the_run_failed_as_the_story_says(incident: Path) -> None:
    rec = await l0.load_recording(incident)
    assert rec.status == "errored" and rec.text is None
    assert _faults(rec) == ["StreamTimeoutError", "TruncatedStreamError", "TruncatedStreamError"]
    assert {a.open["adapter"] for a in rec.attempts() if a.open} == {"openai"}
    exact = await l0.replay(incident)
    assert exact.identical, exact.first_difference
    assert exact.status == "errored" and isinstance(exact.error, l0.RetriesExhaustedError)


@pytest.mark.anyio
async def test_the_policy_would_have_saved_it(incident: Path) -> None:
    started = time.monotonic()
    exact = await l0.replay(incident)
    fixed = await l0.replay(incident, **POLICY)
    assert time.monotonic() - started < 2  # the stall replays on virtual time
    assert fixed.diverged is None and fixed.identical is None
    assert fixed.status == "completed" and fixed.text == ANSWER
    assert fixed.result is not None
    assert [type(e).__name__ for e in fixed.result.errors] == ["StreamTimeoutError"]
    summary = l0.compare_replays(exact, fixed).summary
    assert "status: errored -> completed" in summary
    assert "attempts: 3 -> 2" in summary


@pytest.mark.anyio
async def test_more_retries_are_inconclusive(incident: Path) -> None:
    more = await l0.replay(incident, retry=l0.Retry(max_retries=4))
    assert more.status == "errored"
    assert isinstance(more.diverged, ReplayDivergedError)
    assert "the replay wants attempt 4" in str(more.diverged)


def _cli(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "l0", "replay", *args],
        env=ENV,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=25,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _timeline(out: str) -> list[str]:
    return [" ".join(line.split()[2:]) for line in out.splitlines() if line.lstrip()[:1].isdigit()]


def test_the_cli_shows_the_story(incident: Path, tmp_path: Path) -> None:
    shown = _timeline(_cli(str(incident), cwd=tmp_path))
    assert "stream end (no finish reason, 17 tokens)" in shown
    assert shown[-3:] == [
        "fault TruncatedStreamError: stream ended without a finish reason [network] -> "
        "give_up (max_retries (2) reached)",
        "give up: max_retries (2) reached",
        "session end: errored, 3 attempt(s)",
    ]
    (tmp_path / "policy.json").write_text(json.dumps(POLICY))
    out = _cli(str(incident), "--policy", "policy.json", cwd=tmp_path)
    after = _timeline(out.split("replay with policy", 1)[1])
    assert after[-3:] == [
        "stream end (no finish reason, 17 tokens)",
        f"complete: {len(ANSWER)} chars",
        "session end: completed, 2 attempt(s)",
    ]
    assert "status: errored -> completed\nattempts: 3 -> 2\n" in out
    assert f"\n+{ANSWER}" in out
    (tmp_path / "more.json").write_text(json.dumps({"retry": {"max_retries": 4}}))
    more = _cli(str(incident), "--policy", "more.json", cwd=tmp_path)
    assert "inconclusive: source made 3 attempt(s) in the recording" in more
    assert "status: errored -> completed" not in more


def _doc_block(name: str) -> str:
    """The Python block of docs/replay.md that defines ``name``."""
    found = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    (code,) = [str(c) for c in found if f"def {name}(" in c]
    return code


def test_the_regression_tests_in_the_doc_pass(incident: Path, tmp_path: Path) -> None:
    (tmp_path / "recordings").mkdir()
    shutil.copy(incident, tmp_path / "recordings" / "incident.jsonl")
    (tmp_path / "test_incident.py").write_text(_doc_block("test_the_3am_incident"))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"],
        env=ENV,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
    assert time.monotonic() - started < 20  # the recorded stall ran on the fake clock
