"""The ``on_*`` convenience callbacks: on_start, on_abort, on_drift, on_tool_call, and the
error a misspelt callback name raises."""

from __future__ import annotations

from typing import Any

import pytest

import l0
from l0.runtime.callbacks import CALLBACK_EVENTS, build_handlers
from l0.testing import FakeClock, ScriptedSource, drop, tokens

pytestmark = pytest.mark.anyio
NO_WAIT = l0.Retry(backoff="fixed", base_delay=0.0)


async def test_on_start_fires_for_every_attempt_first_retry_and_fallback() -> None:
    started: list[dict[str, Any]] = []
    source = ScriptedSource(["a", drop()], [drop()])
    result = await l0.run(
        source,
        fallbacks=[lambda: ["b"]],
        retry=l0.Retry(backoff="fixed", base_delay=0.0, max_retries=1),
        on_start=lambda e: started.append(dict(e.data)),
        clock=FakeClock(),
    )
    assert result.text == "b"
    assert [(d["number"], d["is_retry"], d["is_fallback"]) for d in started] == [
        (1, False, False),
        (2, True, False),
        (3, False, True),
    ]


async def test_on_abort_receives_the_abort_with_the_token_count() -> None:
    aborted: list[l0.ObservabilityEvent] = []
    with pytest.raises(l0.AbortedError):
        async with l0.stream(lambda: ["a", "b", "c"], on_abort=aborted.append) as s:
            async for _ in s:
                s.abort()
    assert [e.name for e in aborted] == ["ABORT_REQUESTED"]
    assert aborted[0].data["token_count"] == 1


async def test_on_abort_is_silent_on_a_run_that_completes() -> None:
    aborted: list[l0.ObservabilityEvent] = []
    assert (await l0.run(lambda: ["ok"], on_abort=aborted.append)).text == "ok"
    assert aborted == []


async def test_on_drift_fires_only_when_drift_is_detected() -> None:
    answers = iter(
        [
            ["Paris is the capital. ", "As an AI language model, I have no opinion."],
            ["Paris is the capital of France."],
        ]
    )
    drifted: list[l0.ObservabilityEvent] = []
    every: list[l0.ObservabilityEvent] = []
    result = await l0.run(
        lambda: next(answers),
        drift=True,
        on_drift=drifted.append,
        on_event=lambda e: every.append(e) if e.name == "DRIFT_CHECK_RESULT" else None,
        clock=FakeClock(),
    )
    assert result.text == "Paris is the capital of France."
    assert [e.data["types"] for e in drifted] == [("meta_commentary",)]
    assert all(e.data["detected"] for e in drifted)
    # The clean final check of the retry is an event too, but not a drift.
    assert any(not e.data["detected"] for e in every)


async def test_on_tool_call_receives_each_requested_tool_call() -> None:
    tc = l0.ToolCall(id="c1", name="lookup", arguments={"q": "x"}, raw_arguments='{"q": "x"}')
    calls: list[l0.ObservabilityEvent] = []
    result = await l0.run(
        lambda: [*tokens("Let me check."), l0.Event(l0.EventType.TOOL_CALL, data=tc)],
        on_tool_call=calls.append,
    )
    assert result.tool_calls == [tc]
    assert [(e.data["id"], e.data["name"], e.data["arguments"]) for e in calls] == [
        ("c1", "lookup", {"q": "x"})
    ]


@pytest.mark.parametrize(
    ("given", "suggested"),
    [
        ("on_tool_calls", "on_tool_call"),
        ("on_starts", "on_start"),
        ("on_abrot", "on_abort"),
        ("on_drfit", "on_drift"),
    ],
)
def test_a_misspelt_callback_names_the_closest_one(given: str, suggested: str) -> None:
    with pytest.raises(TypeError, match=f"did you mean '{suggested}'"):
        l0.stream(lambda: ["x"], **{given: print})  # type: ignore[misc]
    with pytest.raises(TypeError, match=f"unknown callback '{given}'; did you mean '{suggested}'"):
        build_handlers(None, {given: print})


@pytest.mark.parametrize("name", ["on_start", "on_abort", "on_drift", "on_tool_call"])
def test_a_callback_that_is_not_callable_is_refused(name: str) -> None:
    with pytest.raises(TypeError, match=f"{name} must be callable, got int"):
        l0.stream(lambda: ["x"], **{name: 5})  # type: ignore[misc]


def test_every_callback_is_a_run_option_and_maps_to_a_catalog_event() -> None:
    from l0.runtime.options import OPTION_NAMES

    assert set(CALLBACK_EVENTS) <= OPTION_NAMES
    assert {"on_start", "on_abort", "on_drift", "on_tool_call"} <= set(CALLBACK_EVENTS)
