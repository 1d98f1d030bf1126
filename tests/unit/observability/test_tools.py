"""Handler tools (filter_events, exclude_events, debounce, batch) on real runs, and the
ObservabilityEvent JSON round trip."""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import l0
from l0.events import EventName
from l0.observability import batch, combine, debounce, exclude_events, filter_events
from l0.testing import FakeClock, ScriptedSource, drop

pytestmark = pytest.mark.anyio
NO_WAIT = l0.Retry(backoff="fixed", base_delay=0.0, max_retries=2)
Event = l0.ObservabilityEvent


def ev(name: str, ts: float, seq: int, stream: str = "s1") -> Event:
    return Event(name=name, ts=ts, stream_id=stream, attempt=1, seq=seq)


async def rescued_run(on_event: Any) -> list[Event]:
    """A run with a retry, every event also kept in the returned list."""
    everything: list[Event] = []
    await l0.run(
        ScriptedSource(["a", drop()], ["b"]),
        retry=NO_WAIT,
        clock=FakeClock(),
        on_event=combine(everything.append, on_event),
    )
    return everything


async def test_filter_and_exclude_events_on_a_real_run() -> None:
    kept: list[str] = []
    rest: list[str] = []
    everything = await rescued_run(
        combine(
            filter_events(lambda e: kept.append(e.name), "RETRY_ATTEMPT", EventName.ERROR),
            exclude_events(lambda e: rest.append(e.name), "CHECKPOINT_SAVED", "ATTEMPT_START"),
        )
    )
    names = [e.name for e in everything]
    assert kept == ["ERROR", "RETRY_ATTEMPT"]
    assert rest == [n for n in names if n not in ("CHECKPOINT_SAVED", "ATTEMPT_START")]


async def test_async_handlers_through_filters_are_awaited() -> None:
    seen: list[str] = []

    async def slow(event: Event) -> None:
        await anyio.lowlevel.checkpoint()
        seen.append(event.name)

    await rescued_run(filter_events(slow, "SESSION_END", "SESSION_START"))
    assert seen == ["SESSION_START", "SESSION_END"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: filter_events(print, "RETRY_ATEMPT"), "did you mean 'RETRY_ATTEMPT'"),
        (lambda: exclude_events(print), "at least one event name"),
        (lambda: filter_events("nope", "ERROR"), "must be callable"),  # type: ignore[arg-type]
        (lambda: debounce(print, 0), "interval must be a number of seconds > 0"),
        (lambda: batch(print, size=0), "size must be an int >= 1"),
        (lambda: batch(print, interval=-1.0), "interval must be a number of seconds > 0"),
    ],
)
def test_bad_tool_arguments_name_the_fix(call: Any, message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        call()


def test_debounce_keeps_the_first_and_the_end_of_each_burst() -> None:
    seen: list[tuple[str, float]] = []
    handler = debounce(lambda e: seen.append((e.name, e.ts)), 1.0, "CHECKPOINT_SAVED")
    events = [ev("SESSION_START", 0.0, 0)]
    events += [ev("CHECKPOINT_SAVED", t, i + 1) for i, t in enumerate([0.1, 0.2, 0.5, 1.15])]
    events += [ev("ERROR", 1.16, 5), ev("CHECKPOINT_SAVED", 1.2, 6), ev("SESSION_END", 1.3, 7)]
    for e in events:
        assert handler(e) is None  # a sync target: no coroutine
    assert seen == [
        ("SESSION_START", 0.0),
        ("CHECKPOINT_SAVED", 0.1),
        ("CHECKPOINT_SAVED", 0.5),  # the end of the first burst, before the next one
        ("CHECKPOINT_SAVED", 1.15),
        ("ERROR", 1.16),  # not debounced (not named)
        ("CHECKPOINT_SAVED", 1.2),  # held back, delivered before SESSION_END
        ("SESSION_END", 1.3),
    ]


async def test_debounce_on_a_real_run_delivers_every_name_once_per_burst() -> None:
    seen: list[str] = []
    everything = await rescued_run(debounce(lambda e: seen.append(e.name), 1000.0))
    # The fake clock barely moves: each name is delivered once, then its last one at the end.
    names = [e.name for e in everything]
    assert seen[0] == "SESSION_START" and seen[-1] == "SESSION_END"
    assert set(seen) == set(names)
    assert all(seen.count(n) <= 2 for n in set(names))


async def test_batch_flushes_on_session_end_and_never_mixes_runs() -> None:
    batches: list[list[Event]] = []

    async def ship(events: list[Event]) -> None:
        await anyio.lowlevel.checkpoint()
        batches.append(events)

    handler = batch(ship, size=4)
    results: dict[int, list[Event]] = {}

    async def one(i: int) -> None:
        results[i] = await rescued_run(handler)

    async with anyio.create_task_group() as tg:
        for i in range(5):
            tg.start_soon(one, i)
    assert handler.pending == 0
    for everything in results.values():
        mine = [b for b in batches if b[0].stream_id == everything[0].stream_id]
        assert all(len(b) == 4 for b in mine[:-1]) and 1 <= len(mine[-1]) <= 4
        assert [e for b in mine for e in b] == everything  # each event once, in order
        assert mine[-1][-1].name == "SESSION_END"
    assert all(len({e.stream_id for e in b}) == 1 for b in batches)


def test_batch_by_interval_and_flush_from_threads() -> None:
    batches: list[list[Event]] = []
    handler = batch(batches.append, size=1000, interval=1.0)
    for i in range(5):
        handler(ev("CHECKPOINT_SAVED", i * 0.4, i))
    assert [len(b) for b in batches] == [4]  # 0.0 .. 1.2 spans the interval
    threads = [
        threading.Thread(
            target=lambda k=k: [handler(ev("ERROR", 0.0, j, f"t{k}")) for j in range(200)]
        )
        for k in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert handler.pending == 801
    handler.flush()
    assert handler.pending == 0
    assert sum(len(b) for b in batches) == 805


async def test_async_batch_flush_is_awaitable() -> None:
    batches: list[list[Event]] = []

    async def ship(events: list[Event]) -> None:
        batches.append(events)

    handler = batch(ship, size=10)
    for i in range(3):
        assert handler(ev("ERROR", 0.0, i, f"r{i}")) is None
    pending = handler.flush()
    assert pending is not None
    await pending
    assert sorted(b[0].stream_id for b in batches) == ["r0", "r1", "r2"]


# -- to_dict / from_dict -----------------------------------------------------------------------

# L0_EVENT_JSON_CASES sizes the property test (CI: a quick pass; 2,000 for a deep one).
CASES = int(os.environ.get("L0_EVENT_JSON_CASES", "25"))
keys = st.sampled_from(["a", "reason", "ü", "", "x y"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=6,
)
events = st.builds(
    Event,
    name=st.sampled_from([e.value for e in EventName]),
    ts=st.floats(allow_nan=False, allow_infinity=False),
    stream_id=st.text(min_size=1, max_size=6),
    attempt=st.integers(0, 100),
    seq=st.integers(0, 10_000),
    data=st.dictionaries(keys, json_values, max_size=3),
    context=st.dictionaries(keys, json_values, max_size=2),
)


@settings(max_examples=CASES, deadline=None, database=None)
@given(events)
def test_json_round_trip_of_any_event(event: Event) -> None:
    text = json.dumps(event.to_dict())
    back = Event.from_dict(json.loads(text))
    assert back == event
    assert back.to_dict() == event.to_dict()


async def test_every_event_of_real_runs_survives_json() -> None:
    everything = await rescued_run(None)
    with pytest.raises(l0.RetriesExhaustedError):
        await l0.run(
            ScriptedSource([drop()]),
            retry=NO_WAIT,
            clock=FakeClock(),
            on_event=everything.append,
            context={"user": {"id": 7}, "tags": ("a", "b")},
        )
    for event in everything:
        plain = json.loads(json.dumps(event.to_dict()))
        assert Event.from_dict(plain).to_dict() == plain
    by_name = {e.name: e.to_dict() for e in everything}
    assert by_name["COMPLETE"]["data"]["result"]["__"] == "Result"
    assert by_name["COMPLETE"]["data"]["result"]["text"] == "b"
    error = by_name["ERROR"]["data"]["error"]
    assert error["__"] == "error" and error["category"] == "network"
    assert by_name["SESSION_END"]["context"] == {"user": {"id": 7}, "tags": ["a", "b"]}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"name": "ERROR", "ts": 0.0, "stream_id": "s", "attempt": 1}, "missing field 'seq'"),
        ({"name": "ERROR", "ts": "x", "stream_id": "s", "attempt": 1, "seq": 0}, "'ts'"),
        ([1, 2], "takes a mapping"),
    ],
)
def test_from_dict_names_what_is_wrong(bad: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Event.from_dict(bad)
