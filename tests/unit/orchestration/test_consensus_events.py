"""Consensus lifecycle events: CONSENSUS_START, _OUTPUT_COLLECTED, _ANALYSIS, _END."""

from __future__ import annotations

import anyio
import pytest
from pydantic import BaseModel

import l0
from l0.errors import AuthenticationError
from l0.events import PAYLOADS, EventName
from l0.observability import batch
from l0.testing import FakeClock, ScriptedSource, fail, stall, tokens

pytestmark = pytest.mark.anyio
NO_RETRY = l0.Retry(max_retries=0)


def _consensus_events(seen: list[l0.ObservabilityEvent]) -> list[l0.ObservabilityEvent]:
    return [e for e in seen if e.name.startswith("CONSENSUS_")]


async def test_order_data_and_the_runs_tied_to_the_consensus() -> None:
    seen: list[l0.ObservabilityEvent] = []
    clock = FakeClock()
    sources = [
        ScriptedSource(tokens("The capital of France is Paris.")),
        ScriptedSource([fail(AuthenticationError("bad key"))]),
        ScriptedSource([stall(0.0), *tokens("The capital of France is Paris!")]),
    ]
    result = await l0.consensus(
        sources, on_event=seen.append, retry=NO_RETRY, clock=clock, context={"job": "q1"}
    )
    ours = _consensus_events(seen)
    names = [e.name for e in ours]
    assert names[0] == "CONSENSUS_START" and names[-2:] == ["CONSENSUS_ANALYSIS", "CONSENSUS_END"]
    assert names.count("CONSENSUS_OUTPUT_COLLECTED") == 3
    (consensus_id,) = {e.stream_id for e in ours}
    assert [e.seq for e in ours] == list(range(len(ours)))  # its own gap-free sequence
    assert all(e.context == {"job": "q1"} for e in ours)
    start = ours[0].data
    assert (start["sources"], start["strategy"], start["threshold"], start["resolve"]) == (
        3,
        "majority",
        0.8,
        "vote",
    )
    assert start["structured"] is False
    # Each source's run carries the id CONSENSUS_START announced, and ends before its output
    # is collected.
    run_ids = start["stream_ids"]
    assert len(set(run_ids)) == 3 and consensus_id not in run_ids
    for index, run_id in enumerate(run_ids):
        run_events = [i for i, e in enumerate(seen) if e.stream_id == run_id]
        assert seen[run_events[-1]].name == "SESSION_END"
        collected = next(
            i
            for i, e in enumerate(seen)
            if e.name == "CONSENSUS_OUTPUT_COLLECTED" and e.data["index"] == index
        )
        assert collected > run_events[-1]
    collected = {e.data["index"]: e.data for e in ours if e.name == "CONSENSUS_OUTPUT_COLLECTED"}
    assert collected[0]["ok"] and collected[0]["length"] == len(result.outputs[0].text)
    assert not collected[1]["ok"] and collected[1]["length"] == 0
    assert isinstance(collected[1]["error"], l0.L0Error)
    analysis = ours[-2].data
    assert analysis["compared"] == result.compared == (0, 2)
    assert (analysis["agreements"], analysis["disagreements"]) == (1, 0)
    assert analysis["mean_similarity"] == analysis["min_similarity"] == result.agreements[0][2]
    end = ours[-1].data
    assert end["status"] == "agreed"
    assert end["winner_index"] == result.winner_index
    assert (end["agreement"], end["confidence"]) == (result.agreement, result.confidence)
    assert end["resolution"] == "vote" and end["duration"] == 0.0  # the fake clock never ran
    for event in ours:
        assert set(event.data) == set(PAYLOADS[EventName(event.name)].__annotations__)


async def test_disagreement_under_resolve_fail_ends_before_raising() -> None:
    seen: list[l0.ObservabilityEvent] = []
    with pytest.raises(l0.ContentError):
        await l0.consensus(
            [lambda: ["yes, it is."], lambda: ["completely different words here"]],
            resolve="fail",
            on_event=seen.append,
            clock=FakeClock(),
        )
    end = _consensus_events(seen)[-1]
    assert end.name == "CONSENSUS_END" and end.data["status"] == "disagreed"
    analysis = _consensus_events(seen)[-2].data
    assert (analysis["agreements"], analysis["disagreements"]) == (0, 1)


async def test_every_source_failing_ends_with_failed_and_no_analysis() -> None:
    seen: list[l0.ObservabilityEvent] = []
    failing = ScriptedSource([fail(AuthenticationError("no"))])
    with pytest.raises(l0.RetriesExhaustedError):
        await l0.consensus(
            [failing, failing], on_event=seen.append, retry=NO_RETRY, clock=FakeClock()
        )
    names = [e.name for e in _consensus_events(seen)]
    assert names == ["CONSENSUS_START", *["CONSENSUS_OUTPUT_COLLECTED"] * 2, "CONSENSUS_END"]
    end = _consensus_events(seen)[-1].data
    assert end["status"] == "failed" and end["winner_index"] is None


class City(BaseModel):
    name: str


async def test_structured_consensus_says_so_and_keeps_the_structured_events() -> None:
    seen: list[l0.ObservabilityEvent] = []
    result = await l0.consensus(
        [lambda: ['{"name": "Paris"}'], lambda: ['{"name": "Paris"}']],
        model=City,
        on_event=seen.append,
        clock=FakeClock(),
    )
    assert result.data == City(name="Paris")
    assert _consensus_events(seen)[0].data["structured"] is True
    assert [e.name for e in seen].count("STRUCTURED_VALIDATED") == 2


async def test_a_given_stream_id_still_reaches_every_run() -> None:
    seen: list[l0.ObservabilityEvent] = []
    result = await l0.consensus(
        [lambda: ["same answer"], lambda: ["same answer"]],
        stream_id="mine",
        on_event=seen.append,
        clock=FakeClock(),
    )
    ids = [o.result.telemetry.stream_id for o in result.outputs if o.result is not None]
    assert ids == ["mine", "mine"]
    assert _consensus_events(seen)[0].data["stream_ids"] == ("mine", "mine")


async def test_cancelled_consensus_still_ends_its_stream() -> None:
    seen: list[l0.ObservabilityEvent] = []
    stalled = ScriptedSource([*tokens("partial"), stall(5)])
    with anyio.move_on_after(0.05):
        await l0.consensus([stalled, stalled], on_event=seen.append)
    ours = _consensus_events(seen)
    # The runs were cancelled (each still ended with SESSION_END): no output was collected.
    assert [e.name for e in ours] == ["CONSENSUS_START", "CONSENSUS_END"]
    assert ours[-1].data["status"] == "cancelled" and ours[-1].data["winner_index"] is None
    assert [e.name for e in seen].count("SESSION_END") == 2


async def test_batch_flushes_a_consensus_at_its_end() -> None:
    shipped: list[list[l0.ObservabilityEvent]] = []
    handler = batch(shipped.append, size=100)
    await l0.consensus([lambda: ["Paris"], lambda: ["Paris"]], on_event=handler)
    assert handler.pending == 0
    assert sorted(b[-1].name for b in shipped) == ["CONSENSUS_END", "SESSION_END", "SESSION_END"]
