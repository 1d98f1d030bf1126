"""Guardrail and drift hook points: fatal stops at once, recoverable retries, exhaustion fails."""

from __future__ import annotations

from typing import Any

import pytest

import l0
from l0.guardrails import GuardrailEngine, Severity, Violation
from l0.runtime.hooks import DriftResult
from l0.testing import FakeClock, ScriptedSource, tokens

pytestmark = pytest.mark.anyio


class Forbid:
    """Flags a word; records every delta it was shown (to prove it sees every character)."""

    def __init__(self, word: str, severity: Severity = Severity.ERROR, recoverable: bool = True):
        self.name = f"forbid:{word}"
        self.word = word
        self.severity = severity
        self.recoverable = recoverable
        self.seen: list[str] = []
        self.text = ""

    def reset(self) -> None:
        self.text = ""

    def check(self, delta: str, state: l0.State, *, final: bool) -> list[Violation]:
        self.seen.append(delta)
        self.text += delta
        if self.word in self.text:
            return [Violation(self.name, f"{self.word!r} found", self.severity, self.recoverable)]
        return []


class AsyncNote:
    name = "async-note"

    def reset(self) -> None:
        pass

    async def check(self, delta: str, state: l0.State, *, final: bool) -> list[Violation]:
        return [Violation(self.name, "just a note", Severity.WARNING)] if final else []


async def test_streaming_checks_see_every_character_once() -> None:
    rule = Forbid("zzz")
    text = "abcdefghijklmnopqrstuvwxyz" * 3
    result = await l0.run(
        lambda: tokens(text, 1), guardrails=[rule], check_intervals=l0.CheckIntervals(guardrails=7)
    )
    assert "".join(rule.seen) == text
    assert result.text == text


async def test_fatal_violation_stops_the_stream_at_once_and_skips_to_fallback() -> None:
    rule = Forbid("BAD", Severity.FATAL)
    source = ScriptedSource(["ok ", "BAD", " more", " more"])
    shown: list[str] = []
    async with l0.stream(
        source,
        fallbacks=[["clean"]],
        guardrails=[rule],
        check_intervals=l0.CheckIntervals(guardrails=1),
    ) as s:
        async for ev in s:
            if ev.is_token:
                shown.append(ev.text or "")
    assert source.calls == 1 and source.yielded == [2]  # nothing read after the violation
    assert shown == ["clean"]  # checked release: the rejected answer is never delivered
    assert s.result.text == "clean"
    err = s.result.errors[0]
    assert isinstance(err, l0.GuardrailViolationError) and err.category is l0.ErrorCategory.FATAL


async def test_recoverable_violation_retries_as_content_error() -> None:
    rule = Forbid("oops")
    source = ScriptedSource(["a", "oops", "b"], ["fine"])
    result = await l0.run(
        source,
        guardrails=[rule],
        clock=FakeClock(),
        check_intervals=l0.CheckIntervals(guardrails=1),
    )
    assert result.text == "fine"
    assert result.state.model_retry_count == 1
    assert result.state.violations == []  # state of the final attempt
    assert isinstance(result.errors[0], l0.GuardrailViolationError)


async def test_running_out_of_retries_on_violations_is_a_failure() -> None:
    with pytest.raises(l0.RetriesExhaustedError) as info:
        await l0.run(
            lambda: ["oops"],
            guardrails=[Forbid("oops")],
            retry=l0.Retry(attempts=2, base_delay=0),
            clock=FakeClock(),
        )
    assert len(info.value.errors) == 3
    assert all(isinstance(e, l0.GuardrailViolationError) for e in info.value.errors)


async def test_warnings_and_async_rules_are_recorded_not_retried() -> None:
    seen: list[Any] = []
    result = await l0.run(
        lambda: ["hi"], guardrails=GuardrailEngine([AsyncNote()]), on_violation=seen.append
    )
    assert [v.severity for v in result.state.violations] == [Severity.WARNING]
    assert seen[0].data["final"] is True


class Drifty:
    def __init__(self) -> None:
        self.calls = 0

    def reset(self) -> None:
        pass

    def check(self, delta: str, *, final: bool) -> DriftResult:
        self.calls += 1
        return DriftResult(detected=final and self.calls < 3, types=("tone_shift",), confidence=0.9)


async def test_final_drift_triggers_a_content_retry() -> None:
    d = Drifty()
    result = await l0.run(ScriptedSource(["x"], ["y"]), drift=d, clock=FakeClock())
    assert result.text == "y"
    assert isinstance(result.errors[0], l0.DriftError) and result.errors[0].types == ("tone_shift",)


def test_bad_guardrails_and_drift_options() -> None:
    with pytest.raises(TypeError, match="guardrails"):
        l0.stream(list, guardrails=5)
    with pytest.raises(TypeError, match="not a guardrail rule"):
        l0.stream(list, guardrails=[object()])
    with pytest.raises(TypeError, match="drift"):
        l0.stream(list, drift="yes")


async def test_event_tokens_pass_through_and_checks_see_every_character() -> None:
    rule = Forbid("zzz")
    text = "".join(f"w{i} " for i in range(100))
    events = [l0.Event(l0.EventType.TOKEN, t) for t in tokens(text, 3)]
    seen: list[l0.Event] = []
    async with l0.stream(
        lambda: events,
        guardrails=[rule],
        check_intervals=l0.CheckIntervals(guardrails=7),
        release="stream",
    ) as s:
        async for ev in s:
            if ev.is_token:
                seen.append(ev)
    assert "".join(rule.seen) == text
    assert s.result.text == text
    assert "".join(e.text or "" for e in seen) == text
    assert sum(e is orig for e, orig in zip(seen, events, strict=False)) >= len(events) - 20
