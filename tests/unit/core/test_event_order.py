"""The documented event order (docs/observability.md "Order") for violation, timeout,
tool-call and abort runs, and the generated catalog table staying in step with the code.

Success, retry and fallback orders are pinned in test_loop.py; every catalog name being
emitted by some scenario in test_event_payloads.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

import l0
import l0.events
from l0.guardrails import Severity, Violation
from l0.testing import FakeClock, ScriptedSource, stall

pytestmark = pytest.mark.anyio
NO_WAIT = l0.Retry(backoff="fixed", base_delay=0.0)
ROOT = Path(__file__).resolve().parents[3]
OPEN = ["SESSION_START", "ATTEMPT_START", "STREAM_INIT", "ADAPTER_DETECTED", "STREAM_READY"]
ATTEMPT = ["ATTEMPT_START", "STREAM_INIT", "ADAPTER_DETECTED", "STREAM_READY", "TIMEOUT_START"]


class _NoBad:
    """Rejects (severity error) an answer containing "bad", at the completion check."""

    name = "no_bad"

    def reset(self) -> None:
        pass

    def check(self, delta: str, state: l0.State, *, final: bool) -> list[Violation]:
        if final and "bad" in state.content:
            return [Violation("no_bad", "says bad", Severity.ERROR)]
        return []


async def test_violation_order_phase_brackets_the_rule_result_before_the_error() -> None:
    seen: list[l0.ObservabilityEvent] = []
    result = await l0.run(
        ScriptedSource(["a bad answer"], ["a good answer"]),
        guardrails=[_NoBad()],
        retry=NO_WAIT,
        on_event=seen.append,
        clock=FakeClock(),
    )
    assert result.text == "a good answer"
    assert [e.name for e in seen] == [
        *OPEN, "TIMEOUT_START", "FIRST_TOKEN", "STREAM_END",
        "GUARDRAIL_PHASE_START", "GUARDRAIL_RULE_RESULT", "GUARDRAIL_PHASE_END",
        "ERROR", "RETRY_ATTEMPT", *ATTEMPT, "FIRST_TOKEN", "STREAM_END",
        "GUARDRAIL_PHASE_START", "GUARDRAIL_PHASE_END", "COMPLETE", "RETRY_END", "SESSION_END",
    ]  # fmt: skip
    ends = [e.data for e in seen if e.name == "GUARDRAIL_PHASE_END"]
    assert [(d["violations"], d["passed"]) for d in ends] == [(1, False), (0, True)]
    starts = [e.data for e in seen if e.name == "GUARDRAIL_PHASE_START"]
    assert [d["length"] for d in starts] == [len("a bad answer"), len("a good answer")]
    assert seen[-2].data == {"retries": 1, "success": True}


async def test_timeout_order_and_its_start_reports_the_configured_limits() -> None:
    seen: list[l0.ObservabilityEvent] = []
    result = await l0.run(
        ScriptedSource(["a", stall(0.3)], ["b"]),
        timeout=l0.Timeout(initial_token=None, inter_token=0.02),
        retry=NO_WAIT,
        on_event=seen.append,
    )
    assert result.text == "b"
    assert [e.name for e in seen] == [
        *OPEN, "TIMEOUT_START", "FIRST_TOKEN", "TIMEOUT_TRIGGERED", "ERROR", "RETRY_ATTEMPT",
        "RESET", *ATTEMPT, "FIRST_TOKEN", "STREAM_END", "COMPLETE", "RETRY_END", "SESSION_END",
    ]  # fmt: skip
    start = next(e for e in seen if e.name == "TIMEOUT_START")
    assert start.data == {"initial_token": None, "inter_token": 0.02, "total": None}


async def test_no_timeout_start_when_no_per_attempt_limit_is_set() -> None:
    seen: list[str] = []
    await l0.run(
        lambda: ["x"],
        timeout=l0.Timeout(initial_token=None, inter_token=None),
        on_event=lambda e: seen.append(e.name),
    )
    assert "TIMEOUT_START" not in seen


async def test_tool_call_order() -> None:
    tc = l0.ToolCall(id="c1", name="f", arguments={}, raw_arguments="{}")
    seen: list[str] = []
    await l0.run(
        lambda: ["Let me look.", l0.Event(l0.EventType.TOOL_CALL, data=tc)],
        on_event=lambda e: seen.append(e.name),
        clock=FakeClock(),
    )
    assert seen == [
        *OPEN, "TIMEOUT_START", "FIRST_TOKEN", "TOOL_REQUESTED", "STREAM_END", "COMPLETE",
        "SESSION_END",
    ]  # fmt: skip


async def test_abort_order() -> None:
    seen: list[str] = []
    with pytest.raises(l0.AbortedError):
        async with l0.stream(lambda: ["a", "b"], on_event=lambda e: seen.append(e.name)) as s:
            async for _ in s:
                s.abort()
    assert seen == [
        *OPEN,
        "TIMEOUT_START",
        "FIRST_TOKEN",
        "ABORT_REQUESTED",
        "ERROR",
        "SESSION_END",
    ]


async def test_a_fallback_answer_ends_with_fallback_end_naming_its_index() -> None:
    seen: list[l0.ObservabilityEvent] = []
    primary = ScriptedSource([l0.testing.fail(l0.AuthenticationError("no"))])
    await l0.run(primary, fallbacks=[["x"], ["y"]], on_event=seen.append, clock=FakeClock())
    assert [e.name for e in seen[-3:]] == ["COMPLETE", "FALLBACK_END", "SESSION_END"]
    assert seen[-2].data == {"index": 1, "success": True}


def _event_table() -> Any:
    spec = importlib.util.spec_from_file_location(
        "event_table", ROOT / "scripts" / "event_table.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generated_catalog_table_in_the_docs_matches_l0_events() -> None:
    table = _event_table()
    doc = (ROOT / "docs" / "observability.md").read_text(encoding="utf-8")
    assert table.render() in doc, "stale: run python scripts/event_table.py"
    for name in l0.events.EventName:
        assert f"| `{name.value}` |" in doc
