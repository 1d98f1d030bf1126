"""Recording as a run option: schema, stores, metadata-only mode, redaction, replay basics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

import l0
from l0.recordings import ReplayDivergedError
from l0.testing import FakeClock, ScriptedSource, drop, recorded_source, tokens

RETRY = l0.Retry(base_delay=0.5, backoff="fixed")


def _flaky() -> ScriptedSource:
    return ScriptedSource([*tokens("Hello, wor"), drop()], [*tokens("Hello, world!")])


async def _record(store: l0.Store, **extra: object) -> l0.Result:
    return await l0.run(_flaky(), retry=RETRY, continuation=True, record=store, **extra)


def test_off_by_default_nothing_recorded() -> None:
    from l0.runtime.options import build_options

    assert build_options(lambda: iter(["a"])).record is None


def test_memory_store_schema_header_batches_end() -> None:
    store = l0.MemoryStore()
    result = anyio.run(_record, store)
    (key,) = store.keys()
    assert key == result.telemetry.stream_id
    lines = [json.loads(line) for line in store.recordings[key]]
    assert lines[0]["kind"] == "header"
    assert (lines[0]["format"], lines[0]["version"]) == ("l0.recording", 1)
    assert lines[0]["options"]["retry"]["base_delay"] == 0.5
    assert lines[0]["options"]["continuation"]["max_overlap"] == 500
    assert {d["kind"] for d in lines[1:-1]} == {"batch"}
    assert lines[-1]["kind"] == "end" and lines[-1]["status"] == "completed"
    assert lines[-1]["result"]["text"] == "Hello, world!"
    items = [i for d in lines[1:-1] for i in d["items"]]
    assert "Hello, wor"[:4] in items  # the tokens as the source sent them
    kinds = [i["k"] for i in items if isinstance(i, dict)]
    assert kinds.count("att") == 2 and "fault" in kinds and "sleep" in kinds
    names = [i["n"] for i in items if isinstance(i, dict) and i["k"] == "life"]
    assert names[0] == "SESSION_START" and "RETRY_ATTEMPT" in names and names[-1] == "SESSION_END"


def test_replay_without_overrides_is_identical_on_the_system_clock() -> None:
    async def main() -> None:
        store = l0.MemoryStore()
        result = await _record(store)
        rep = await l0.replay(store, store.keys()[0])
        assert rep.exact and rep.identical, rep.first_difference
        assert rep.result is not None and rep.text == result.text == "Hello, world!"
        assert rep.result.state.first_token_at == result.state.first_token_at
        assert rep.result.telemetry == result.telemetry
        assert [e.name for e in rep.lifecycle][-1] == "SESSION_END"

    anyio.run(main)


def test_replay_with_overrides_shows_what_would_have_happened() -> None:
    async def main() -> None:
        store = l0.MemoryStore()
        await _record(store)
        rec = await l0.load_recording(store, store.keys()[0])
        strict = await l0.replay(rec, retry=l0.Retry(attempts=0, max_retries=0))
        assert strict.text is None and isinstance(strict.error, l0.NetworkError)
        diff = l0.compare_replays(rec, strict)
        assert not diff.identical
        assert diff.status == ("completed", "errored") and diff.attempts == (2, 1)
        assert diff.text == ("Hello, world!", None)
        assert "status: completed -> errored" in diff.summary
        assert str(diff).splitlines() == diff.summary  # print(diff): one difference per line
        same = l0.compare_replays(rec, await l0.replay(rec))
        assert same.identical and same.first_event is None and same.summary == []
        assert str(same) == "identical"

    anyio.run(main)


def test_unknown_override_names_the_closest() -> None:
    with pytest.raises(TypeError, match="did you mean 'retry'"):
        anyio.run(lambda: l0.replay(l0.Recording({}, [], [], [], None, []), retyr=l0.Retry()))


def test_file_store_directory_and_torn_last_line(tmp_path: Path) -> None:
    async def main() -> None:
        store = l0.FileStore(tmp_path / "recs")
        result = await _record(store, stream_id="run-1")
        path = tmp_path / "recs" / "run-1.jsonl"
        assert path.exists() and store.keys() == ["run-1"]
        with path.open("a") as f:
            f.write('{"kind":"batch","seq":99,"items":["tor')  # a writer killed mid-line
        rec = await l0.load_recording(tmp_path / "recs")
        assert rec.text == result.text and rec.status == "completed"
        rep = await l0.replay(str(tmp_path / "recs"))
        assert rep.identical

    anyio.run(main)


def test_file_store_prefix_of_a_killed_writer_replays(tmp_path: Path) -> None:
    async def main() -> None:
        path = tmp_path / "one.jsonl"
        await _record(l0.FileStore(path))
        lines = path.read_text().splitlines()
        # Keep the header and the first batch (the failed first attempt): the writer died.
        path.write_text("\n".join(lines[:2]) + "\n" + lines[2][:25])
        rec = await l0.load_recording(path)
        assert rec.status == "incomplete" and len(rec.attempts()) == 1
        rep = await l0.replay(rec)
        assert isinstance(rep.error, l0.RetriesExhaustedError)
        assert isinstance(rep.error.errors[-1], ReplayDivergedError)
        assert "does not have" in str(rep.error.errors[-1])
        # The readable prefix replays exactly: same items, same clock readings.
        prefix = rec.canonical()[:-3]  # the items (then come readings, draws, outcome)
        assert rep.recording.canonical()[: len(prefix)] == prefix
        assert rep.recording.reads[: len(rec.reads)] == rec.reads

    anyio.run(main)


def test_metadata_only_keeps_lengths_not_text() -> None:
    store = l0.MemoryStore()
    anyio.run(lambda: _record(l0.Recorder(store, content=False)))
    text = "\n".join(store.recordings[store.keys()[0]])
    assert "Hello" not in text and "world!" not in text
    items = [
        i for line in store.recordings[store.keys()[0]][1:-1] for i in json.loads(line)["items"]
    ]
    assert 4 in items  # a 4-character token, by length
    assert json.loads(store.recordings[store.keys()[0]][-1])["result"]["text"] == 13


def test_no_secret_in_a_recording() -> None:
    secret = "sk-test-RECOGNISABLE-0123456789abcdef"
    l0.register_secret("custom-secret-value-42")

    def failing() -> ScriptedSource:
        return ScriptedSource(
            [*tokens("Hi"), drop(f"reset; key={secret} custom-secret-value-42")],
            [*tokens("Hi there")],
        )

    store = l0.MemoryStore()
    anyio.run(lambda: l0.run(failing(), retry=RETRY, record=store, context={"api_key": secret}))
    text = "\n".join(store.recordings[store.keys()[0]])
    assert secret not in text and "custom-secret-value-42" not in text
    assert "[redacted]" in text


def test_recorded_source_turns_an_incident_into_a_test(tmp_path: Path) -> None:
    async def main() -> None:
        path = tmp_path / "incident.jsonl"
        await _record(l0.FileStore(path))
        source = recorded_source(path)
        result = await l0.run(
            source, fallbacks=source.fallbacks, retry=RETRY, clock=FakeClock(), continuation=True
        )
        assert result.text == "Hello, world!" and source.calls == 2
        assert [type(e).__name__ for e in result.errors] == ["NetworkError"]

    anyio.run(main)


def test_record_option_validation() -> None:
    with pytest.raises(TypeError, match="async append"):
        l0.Recorder(object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="hedge"):
        l0.stream(lambda: iter(["a"]), record=l0.MemoryStore(), hedge=l0.Hedge(delay=1.0))
    with pytest.raises(TypeError, match="did you mean 'record'"):
        l0.stream(lambda: iter(["a"]), recrod=l0.MemoryStore())  # type: ignore[call-arg]


def test_the_answer_is_written_once_and_complete_reads_it_back() -> None:
    store = l0.MemoryStore()
    result = anyio.run(_record, store)
    raw = "\n".join(store.recordings[store.keys()[0]])
    # The end line's result holds it; the COMPLETE event refers to it.
    assert raw.count('"text":"Hello, world!"') == 1
    rec = l0.recordings.Recording.from_lines(store.recordings[store.keys()[0]])
    (complete,) = [e for e in rec.lifecycle() if e["n"] == "COMPLETE"]
    assert complete["d"]["result"]["text"] == result.text == "Hello, world!"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": [1, "x", None, 2.5]}, '{"a":[1,"x",null,2.5]}'),
        ({"a": float("inf"), "b": None}, '{"a":Infinity,"b":null}'),
        ({"a": 2**70}, '{"a":1180591620717411303424}'),
    ],
)
def test_batch_lines_are_the_json_of_the_stdlib_encoder(value: object, expected: str) -> None:
    from l0.runtime.record_schema import dumps, dumps_batch

    assert dumps_batch(value) == dumps(value) == expected


def _words(n: int) -> list[str]:
    return [f" w{i}" for i in range(n)]


async def _word_stream(n: int):  # type: ignore[no-untyped-def]
    for word in _words(n):
        yield word


def test_a_long_answer_is_on_the_end_line_once_and_reads_back_whole() -> None:
    # The end line's state (content, checkpoint) refers to the result's text instead of
    # repeating it; reading puts the text back, and the replay is identical.
    async def main() -> None:
        store = l0.MemoryStore()
        result = await l0.run(lambda: _word_stream(3000), record=store, on_event=lambda e: None)
        lines = store.recordings[store.keys()[0]]
        assert lines[-1].count(" w2999") == 1 and " w2999" in result.text
        rec = l0.recordings.Recording.from_lines(lines)
        state = rec.end["result"]["state"]  # type: ignore[index]
        assert state["content"] == result.state.content == result.text
        assert state["checkpoint"] == result.state.checkpoint != ""
        assert (await l0.replay(rec)).identical

    anyio.run(main)


@pytest.mark.parametrize(
    ("end", "refs"),
    [
        ({"result": {"text": "abc", "state": {"content": "abc", "checkpoint": "abc"}}}, 2),
        ({"result": {"text": "abc", "state": {"content": "abc", "checkpoint": "ab"}}}, 1),
        ({"result": {"text": "", "state": {"content": "", "checkpoint": ""}}}, 0),
        ({"result": {"text": 3, "state": {"content": 3, "checkpoint": 3}}}, 0),  # lengths
        ({"state": {"content": "abc", "checkpoint": "abc"}, "error": {"__": "error"}}, 1),
        ({"state": {"content": "abc", "checkpoint": ""}}, 0),
        ({"status": "aborted"}, 0),
    ],
)
def test_the_end_line_answer_reference_round_trips(end: dict[str, Any], refs: int) -> None:
    from l0.runtime.record_schema import CONTENT_REF, TEXT_REF, resolve_end, share_answer

    shared = share_answer(json.loads(json.dumps(end)))
    state = shared.get("result", shared).get("state", {})
    assert sum(v in (TEXT_REF, CONTENT_REF) for v in state.values()) == refs
    assert resolve_end(json.loads(json.dumps(shared))) == end


def test_an_end_line_written_without_references_reads_the_same() -> None:
    # Recordings written before the reference (the answer in full three times) still read
    # and replay as they did.
    async def main() -> None:
        store = l0.MemoryStore()
        await l0.run(lambda: _word_stream(200), record=store, on_event=lambda e: None)
        lines = list(store.recordings[store.keys()[0]])
        end = json.loads(lines[-1])
        state = end["result"]["state"]
        assert state["content"] == {"__": "ref", "to": "end.result.text"}
        state["content"] = state["checkpoint"] = end["result"]["text"]
        old = [*lines[:-1], json.dumps(end, separators=(",", ":"))]
        new_rec = l0.recordings.Recording.from_lines(lines)
        old_rec = l0.recordings.Recording.from_lines(old)
        assert old_rec.end == new_rec.end and old_rec.canonical() == new_rec.canonical()
        assert (await l0.replay(old_rec)).identical

    anyio.run(main)


def _open_fds() -> int:
    import os

    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc")
def test_the_file_store_keeps_a_recording_open_only_until_its_end_line(tmp_path: Path) -> None:
    async def main() -> None:
        store = l0.FileStore(tmp_path / "recs")
        before = _open_fds()
        for _ in range(20):
            await l0.run(lambda: _word_stream(1500), record=store)  # several batches each
        assert _open_fds() == before
        assert len(store.keys()) == 20
        # A recording abandoned without an end line stays open until close().
        await store.append("abandoned", ['{"kind":"header"}'])
        await store.append("abandoned", ['{"kind":"batch","seq":0,"items":[]}'])
        assert _open_fds() == before + 1
        store.close()
        assert _open_fds() == before
        assert await store.read("abandoned") == [
            '{"kind":"header"}',
            '{"kind":"batch","seq":0,"items":[]}',
        ]

    anyio.run(main)


@pytest.mark.parametrize("content", [True, False])
@pytest.mark.parametrize("leave_at", [1, 7, 600, 1100])
def test_a_consumer_leaving_on_the_fast_path_records_every_token_it_was_given(
    content: bool, leave_at: int
) -> None:
    # Plain tokens on the fast path are recorded when the loop next calls the recorder
    # (here: the cut when the consumer leaves), in order, as text or as lengths.
    async def main() -> None:
        store = l0.MemoryStore()
        seen: list[str] = []
        recorder = l0.Recorder(store, content=content)
        async with l0.stream(lambda: _word_stream(2000), record=recorder) as s:
            async for ev in s:
                if ev.type is l0.EventType.TOKEN:
                    seen.append(ev.text or "")
                    if len(seen) == leave_at:
                        break
        rec = l0.recordings.Recording.from_lines(store.recordings[store.keys()[0]])
        kept = [i for i in rec.items if not isinstance(i, dict)]
        assert kept == (seen if content else [len(t) for t in seen])
        assert rec.status == "aborted"
        # The replay's consumer leaves at the same point: byte for byte the same.
        rep = await l0.replay(rec)
        assert rep.identical is (True if content else None), rep.first_difference
        assert rep.error is None and rep.status == "aborted"
        replayed = [e.text or "" for e in rep.events if e.type is l0.EventType.TOKEN]
        assert replayed == (seen if content else ["·" * len(t) for t in seen])

    anyio.run(main)


def test_each_header_records_its_own_run_s_policies() -> None:
    # (A header's policy records are reused while the policy object is the same.)
    async def main() -> None:
        store = l0.MemoryStore()
        shared = l0.Retry(max_retries=2, base_delay=0.25)
        for retry in (shared, l0.Retry(max_retries=5), shared, l0.Retry(max_retries=5)):
            await l0.run(lambda: _word_stream(3), record=store, retry=retry)
        headers = [json.loads(lines[0]) for lines in store.recordings.values()]
        got = [h["options"]["retry"]["max_retries"] for h in headers]
        assert got == [2, 5, 2, 5]
        assert [h["options"]["retry"]["base_delay"] for h in headers][::2] == [0.25, 0.25]

    anyio.run(main)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ({"name": "A", "attempt": 1, "data": {}}, None, "A vs (none)"),
        (
            {"name": "A", "attempt": 1, "data": {}},
            {"name": "B", "attempt": 1, "data": {}},
            "A vs B",
        ),
        (
            {"name": "RETRY_ATTEMPT", "attempt": 1, "data": {"delay": 0.0123456, "ttft": 1}},
            {"name": "RETRY_ATTEMPT", "attempt": 1, "data": {"delay": 0.02, "ttft": 2}},
            "RETRY_ATTEMPT (delay: 0.01235 -> 0.02)",  # (clock measurements left out)
        ),
        (
            {"name": "ERROR", "attempt": 1, "data": {"code": "a"}},
            {"name": "ERROR", "attempt": 2, "data": {"code": "b"}},
            "ERROR (attempt: 1 -> 2; code: 'a' -> 'b')",
        ),
    ],
)
def test_the_first_differing_event_says_what_differs(
    a: dict[str, Any], b: dict[str, Any] | None, expected: str
) -> None:
    # (It read "FIRST_TOKEN vs FIRST_TOKEN" when only the payload differed.)
    from l0.recordings.compare import _event_difference

    assert _event_difference(a, b) == expected
