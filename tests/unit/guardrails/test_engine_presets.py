"""GuardrailEngine (sync fast path, async rules, crashing rules, stop_on_fatal), presets, and
the runtime outcomes: fatal stops, error retries, exhausted retries never succeed."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import anyio.lowlevel
import pytest

import l0
from l0.guardrails import (
    GuardrailEngine,
    Severity,
    Violation,
    json_only,
    json_rule,
    latex_only,
    markdown_only,
    minimal,
    recommended,
    strict,
)
from l0.runtime.hooks import GuardrailHook
from l0.testing import FakeClock
from l0.types import State


class Flag:
    """Flags a word with a given severity (a user rule, not a mock)."""

    def __init__(self, word: str, severity: Severity, name: str = "flag") -> None:
        self.name, self.word, self.severity = name, word, severity
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1

    def check(self, delta: str, state: State, *, final: bool) -> Sequence[Violation]:
        if self.word in delta:
            return (Violation(self.name, f"saw {self.word}", self.severity, True, None),)
        return ()


class AsyncFlag(Flag):
    async def check(self, delta: str, state: State, *, final: bool) -> Sequence[Violation]:  # type: ignore[override]
        await anyio.lowlevel.checkpoint()
        return Flag.check(self, delta, state, final=final)


class Boom:
    name = "boom"

    def reset(self) -> None:
        pass

    def check(self, delta: str, state: State, *, final: bool) -> Sequence[Violation]:
        raise RuntimeError("bug in rule")


def test_engine_is_a_hook_and_answers_synchronously() -> None:
    engine = GuardrailEngine([json_rule(), Flag("x", Severity.WARNING)])
    assert isinstance(engine, GuardrailHook)
    result = engine.check("x", State(), final=False)
    assert isinstance(result, list)
    assert result[0].rule == "flag"


@pytest.mark.anyio
async def test_async_rules_are_awaited_in_order() -> None:
    engine = GuardrailEngine(
        [
            Flag("a", Severity.WARNING, "one"),
            AsyncFlag("a", Severity.WARNING, "two"),
            Flag("a", Severity.WARNING, "three"),
        ]
    )
    pending = engine.check("a", State(), final=False)
    assert not isinstance(pending, Sequence)
    assert [v.rule for v in await pending] == ["one", "two", "three"]


def test_stop_on_fatal_and_crashing_rules(caplog: pytest.LogCaptureFixture) -> None:
    engine = GuardrailEngine(
        [Boom(), Flag("a", Severity.FATAL), Flag("a", Severity.ERROR, "later")]
    )
    found = engine.check("a", State(), final=False)
    assert isinstance(found, Sequence)
    assert [(v.rule, v.severity) for v in found] == [
        ("boom", Severity.WARNING),
        ("flag", Severity.FATAL),
    ]
    assert "bug in rule" in caplog.text
    with pytest.raises(TypeError, match="not a guardrail rule"):
        GuardrailEngine([object()])  # type: ignore[list-item]


@pytest.mark.parametrize(
    "preset", [minimal, recommended, strict, json_only, markdown_only, latex_only]
)
def test_presets_return_fresh_rules(preset: object) -> None:
    a, b = preset(), preset()  # type: ignore[operator]
    assert a
    assert all(x is not y for x, y in zip(a, b, strict=False))
    assert len({type(r) for r in a}) == len(a)


@pytest.mark.anyio
async def test_concurrent_runs_with_one_preset_function_do_not_share_state() -> None:
    async def one(text: str) -> l0.Result:
        return await l0.run(
            lambda: [text[i : i + 2] for i in range(0, len(text), 2)], guardrails=recommended()
        )

    results: list[l0.Result] = []
    async with anyio.create_task_group() as tg:
        for text in ['{"a": [1, 2]}', "plain words here.", '[{"b": "}"}]']:
            tg.start_soon(lambda t=text: _append(results, one(t)))
    assert all(r.state.violations == [] for r in results)


async def _append(results: list[l0.Result], coro: object) -> None:
    results.append(await coro)  # type: ignore[misc]


@pytest.mark.anyio
async def test_fatal_violation_stops_without_retrying_the_source() -> None:
    calls = []

    def src() -> list[str]:
        calls.append(1)
        return ["bad ", "word"]

    with pytest.raises(l0.GuardrailViolationError) as info:
        await l0.run(src, guardrails=[Flag("bad", Severity.FATAL)], clock=FakeClock())
    assert info.value.category is l0.ErrorCategory.FATAL
    assert len(calls) == 1


@pytest.mark.anyio
async def test_error_violation_retries_and_recovers() -> None:
    answers = iter([["As an AI language model, ", "no."], ["Paris ", "is the capital."]])
    result = await l0.run(lambda: next(answers), guardrails=recommended(), clock=FakeClock())
    assert result.text == "Paris is the capital."
    assert result.state.model_retry_count == 1
    assert [v.rule for v in result.errors[0].violations] == ["pattern.meta_commentary"]


@pytest.mark.anyio
async def test_exhausted_retries_on_violations_raise_not_succeed() -> None:
    with pytest.raises(l0.RetriesExhaustedError) as info:
        await l0.run(
            lambda: ['{"a": ', "1,,2}"],
            guardrails=json_only(),
            retry=l0.Retry(attempts=2),
            clock=FakeClock(),
        )
    assert all(isinstance(e, l0.GuardrailViolationError) for e in info.value.errors)
    assert len(info.value.errors) == 3


@pytest.mark.anyio
async def test_warnings_are_recorded_and_reported_not_retried() -> None:
    seen: list[str] = []
    result = await l0.run(
        lambda: ["I'm unable to ", "do that."],
        guardrails=recommended(),
        on_violation=lambda e: seen.append(e.data["rule"]),
    )
    assert result.state.model_retry_count == 0
    assert seen == ["pattern.refusal"]


@pytest.mark.anyio
async def test_rules_and_detector_reused_by_a_later_run_start_fresh() -> None:
    from l0.drift import DriftDetector

    rules, detector = [json_rule()], DriftDetector()
    text = ["The same answer, word for word. ", "It repeats across runs only."]
    for _ in range(4):  # the same text again would look like a loop to a stale detector
        result = await l0.run(lambda: text, guardrails=rules, drift=detector)
        assert result.errors == []
    with pytest.raises(l0.GuardrailViolationError):
        await l0.run(lambda: ['{"a": ['], guardrails=rules, retry=l0.Retry(attempts=0))
    assert (await l0.run(lambda: ['{"b": 1}'], guardrails=rules)).errors == []


@pytest.mark.anyio
async def test_continued_attempt_keeps_scanner_state_across_a_network_drop() -> None:
    async def src(attempt: l0.Attempt):  # type: ignore[no-untyped-def]
        if not attempt.is_continuation:
            for piece in ['{"items": [', '{"id": 1}, ', '{"id": ']:
                yield piece
            raise ConnectionResetError("peer reset")
        assert attempt.checkpoint + attempt.held_back == '{"items": [{"id": 1}, {"id": '
        # The provider continues the prefix it was sent: it writes the held-back tail again.
        for piece in [attempt.held_back + '2}, {"id": 3}', "]}"]:
            yield piece

    seen: list[str] = []
    result = await l0.run(
        src,
        guardrails=[json_rule()],
        drift=True,
        continuation=True,
        check_intervals=l0.CheckIntervals(guardrails=1, drift=1, checkpoint=1),
        on_event=lambda e: seen.append(e.name),
        clock=FakeClock(),
    )
    assert result.text == '{"items": [{"id": 1}, {"id": 2}, {"id": 3}]}'
    assert result.state.violations == []
    assert result.state.network_retry_count == 1
    assert "RESUME_START" in seen
