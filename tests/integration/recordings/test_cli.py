"""``l0 replay`` on recordings of the demo's three scenes: the rendered text."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from l0.demo import ANSWER
from l0.demo import main as demo_main

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}


def l0_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "l0", *args],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=25,
    )


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo's three scenes, recorded; by what happened in them."""
    folder = tmp_path_factory.mktemp("demo")
    assert demo_main(fast=True, out=io.StringIO(), record=str(folder)) == 0
    found: dict[str, Path] = {}
    for path in folder.glob("*.jsonl"):
        text = path.read_text()
        name = (
            "fallback"
            if "FALLBACK_START" in text
            else "stall"
            if "TIMEOUT_TRIGGERED" in text
            else "drop"
        )
        found[name] = path
    assert sorted(found) == ["drop", "fallback", "stall"]
    return found


def _lines(out: str) -> list[str]:
    return [" ".join(line.split()[2:]) for line in out.splitlines() if line.lstrip()[:1].isdigit()]


def test_drop_scene_timeline(scenes: dict[str, Path]) -> None:
    done = l0_cli("replay", str(scenes["drop"]))
    assert done.returncode == 0, done.stderr
    assert _lines(done.stdout) == [
        "session start (0 fallback(s), continuation on)",
        "attempt 1 on source 0",
        _lines(done.stdout)[2],  # first token after <measured> s
        "fault NetworkError: ConnectionResetError: connection reset by peer [network] -> "
        "retry (network error)",
        "retry 1 after 0.05s (network)",
        "attempt 2 on source 0 (retry)",
        "resume from the checkpoint (98 chars)",
        _lines(done.stdout)[7],
        "stream end (no finish reason, 52 tokens)",
        "complete: 285 chars",
        "session end: completed, 2 attempt(s)",
    ]
    assert _lines(done.stdout)[2].startswith("first token after ")
    flat = " ".join(done.stdout.split())
    words = " ".join(done.stdout.replace("│", " ").split())
    assert "final text" in done.stdout and " ".join(ANSWER.split()) in words
    assert "│ status │ completed │" in flat and "│ replay │ " in flat
    # (Exact replay of a real-time recording is checked in the unit tests; under heavy load
    # a demo recording was seen to differ: under investigation, see docs/replay.md.)


def test_stall_scene_timeline(scenes: dict[str, Path]) -> None:
    done = l0_cli("replay", str(scenes["stall"]))
    assert done.returncode == 0, done.stderr
    lines = _lines(done.stdout)
    assert any(
        line.startswith("inter_token timeout: ") and line.endswith("limit 0.1s") for line in lines
    )
    assert "retry 1 after 0.05s (transient)" in lines
    assert "resume from the checkpoint (144 chars)" in lines
    assert lines[-1] == "session end: completed, 2 attempt(s)"
    assert "│ replay" in done.stdout


def test_fallback_scene_timeline_and_summary(scenes: dict[str, Path]) -> None:
    done = l0_cli("replay", str(scenes["fallback"]))
    assert done.returncode == 0, done.stderr
    lines = _lines(done.stdout)
    faults = [line.split(" [")[0] for line in lines if line.startswith("fault ")]
    assert faults == [
        "fault NetworkError: ConnectionResetError: connection reset by peer",
        "fault ServerError: model-a: overloaded (529)",
        "fault AuthenticationError: model-a: invalid API key (401)",
    ]
    assert "fallback 0 -> 1: fatal error (authentication_error)" in lines
    assert "attempt 4 on source 1" in lines
    flat = " ".join(done.stdout.split())
    assert "│ attempts │ 4 │" in flat and "│ fallbacks │ 1 │" in flat
    assert "{'network': 1, 'transient': 1, 'fatal': 1}" in flat


def test_policy_replay_and_json(scenes: dict[str, Path], tmp_path: Path) -> None:
    policy = tmp_path / "retry.json"
    policy.write_text('{"retry": {"attempts": 0, "max_retries": 0, "backoff": "fixed"}}')
    done = l0_cli("replay", str(scenes["fallback"]), "--policy", str(policy), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["identical"] is None and doc["text"] == ANSWER
    assert doc["summary"]["attempts"] == 2 and doc["summary"]["fallbacks"] == 1
    assert doc["diff"]["attempts"] == [4, 2]
    assert "attempts: 4 -> 2" in doc["diff"]["summary"]
    events = [e["event"] for e in doc["timeline"]]
    assert events.count("FALLBACK_START") == 1 and "RETRY_ATTEMPT" not in events


def test_diff_two_recordings(scenes: dict[str, Path]) -> None:
    done = l0_cli("replay", str(scenes["drop"]), "--diff", str(scenes["stall"]))
    assert done.returncode == 0, done.stderr
    assert "errors by category" in done.stdout
    assert "{'network': 1}" in done.stdout and "{'transient': 1}" in done.stdout


def test_bad_inputs_name_the_fix(scenes: dict[str, Path], tmp_path: Path) -> None:
    missing = l0_cli("replay", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "no recording at" in missing.stderr
    policy = tmp_path / "bad.json"
    policy.write_text('{"retyr": {}}')
    bad = l0_cli("replay", str(scenes["drop"]), "--policy", str(policy))
    assert bad.returncode == 2 and "unknown policy key 'retyr'" in bad.stderr
    assert "retry" in bad.stderr


def test_recorded_text_is_shown_as_text_not_rich_markup(tmp_path: Path) -> None:
    # The summary table read "(credentials received: )": rich took "[redacted]" for markup.
    import anyio

    import l0
    from l0.testing import ScriptedSource

    store = l0.FileStore(tmp_path / "recs")
    answer = "a [bold]literal[/bold] and [redacted] answer"

    async def run() -> None:
        with pytest.raises(l0.L0Error):
            await l0.run(
                lambda: (_ for _ in ()).throw(l0.ServerError("key [redacted] refused")),
                record=store,
                retry=l0.Retry(max_retries=0),
            )
        await l0.run(ScriptedSource([answer]), record=store)

    anyio.run(run)
    failed, ok = sorted(store.path.glob("*.jsonl"), key=lambda p: "COMPLETE" in p.read_text())
    done = l0_cli("replay", str(failed))
    assert done.returncode == 0, done.stderr
    assert "key [redacted] refused" in done.stdout
    done = l0_cli("replay", str(ok))
    assert done.returncode == 0, done.stderr
    assert answer in done.stdout


def test_a_diff_names_the_event_that_differs_not_clock_noise(scenes: dict[str, Path]) -> None:
    import anyio

    import l0

    async def compare() -> l0.ReplayDiff:
        rec = await l0.load_recording(scenes["drop"])
        other = await l0.replay(rec, retry=l0.Retry(max_retries=5, base_delay=0.0))
        return l0.compare_replays(rec, other)

    diff = anyio.run(compare)
    # The timings differ (a virtual clock); the first event that differs in what happened is
    # the retry, whose delay the policy changed (it read "FIRST_TOKEN (ttft: ...)").
    assert not diff.identical
    assert "first differing event" in str(diff) and "RETRY_ATTEMPT (delay: " in str(diff)


@pytest.mark.parametrize("limit", [None, 3.0, 10.0])
def test_a_replayed_stall_is_cut_when_the_replays_own_limit_says(
    scenes: dict[str, Path], limit: float | None
) -> None:
    # With overrides the replay's stall moved the virtual clock in doubling 1 s steps: a 10 s
    # limit reported "32.50s waited" (a 0.1 s one, under any override, "1.101s").
    import anyio

    import l0

    async def replayed() -> tuple[l0.ReplayResult, l0.Recording]:
        rec = await l0.load_recording(scenes["stall"])
        if limit is None:
            return await l0.replay(rec, continuation=l0.Continuation()), rec
        return await l0.replay(rec, timeout=l0.Timeout(inter_token=limit)), rec

    rep, rec = anyio.run(replayed)
    (fired,) = [e for e in rep.lifecycle if e.name == "TIMEOUT_TRIGGERED"]
    (live,) = [e for e in rec.lifecycle() if e["n"] == "TIMEOUT_TRIGGERED"]
    if limit is None:  # the live limit: cut where the live run's reading was cut
        assert fired.data["elapsed"] == pytest.approx(live["d"]["elapsed"], abs=2e-3)
    else:
        assert fired.data["elapsed"] == pytest.approx(limit, abs=1e-6)
    assert rep.text == ANSWER
    duration = rep.recording.telemetry["duration"]
    assert duration == pytest.approx(rec.telemetry["duration"] + (limit or 0.1) - 0.1, abs=0.01)


def test_a_replay_that_needs_more_than_was_recorded_says_so(tmp_path: Path) -> None:
    # A failed run replayed with more retries wants attempts never recorded: the outcome is
    # inconclusive. --json said nothing of it, and the replayed run's "gave up" log reached
    # stderr as if a live run had failed.
    import anyio

    import l0
    from l0.testing import ScriptedSource, drop

    path = tmp_path / "incident.jsonl"

    async def record() -> None:
        with pytest.raises(l0.RetriesExhaustedError):
            await l0.run(
                ScriptedSource([drop()], [drop()]),
                record=l0.FileStore(path),
                retry=l0.Retry(max_retries=1, base_delay=0.0),
            )

    anyio.run(record)
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"retry": {"max_retries": 3, "base_delay": 0}}))
    done = l0_cli("replay", str(path), "--policy", str(policy), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert "the recording does not have" in doc["diverged"]
    assert "gave up" not in done.stderr
    shown = l0_cli("replay", str(path), "--policy", str(policy))
    assert "inconclusive" in shown.stdout and "gave up" not in shown.stderr
    # Nothing diverges when the recording has all the replay needs.
    done = l0_cli("replay", str(path), "--json")
    assert json.loads(done.stdout)["diverged"] is None


def test_only_clock_readings_differing_is_no_difference() -> None:
    from l0.recordings.compare import _unmeasured

    def complete(duration: float, text: str = "hi") -> dict[str, object]:
        state = {"content": text, "started_at": 1.0, "duration": duration, "token_count": 2}
        telemetry = {"duration": duration, "retries": 0, "time_to_first_token": duration / 2}
        return {"result": {"text": text, "state": state, "telemetry": telemetry}}

    assert _unmeasured(complete(0.15)) == _unmeasured(complete(1.15))
    assert _unmeasured(complete(0.15)) != _unmeasured(complete(0.15, "other"))
