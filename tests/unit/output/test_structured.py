"""l0.structured / structured_stream: auto-correct before retry, per-attempt raw, validation
feedback to the next attempt, the core retry policy (network errors too), strict mode,
STRUCTURED_* events, partial objects."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import pytest
from pydantic import BaseModel, TypeAdapter
from typing_extensions import TypedDict

import l0
from l0.output.streaming import structured_stream
from l0.output.structured import StructuredAttempt, structured
from l0.testing import FakeClock


class City(BaseModel):
    name: str
    population: int
    url: str = ""


class Point(TypedDict):
    x: int
    y: int


def chunks(text: str, size: int = 5) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


class Script:
    """A source answering from a list, recording the attempts it was given."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.attempts: list[StructuredAttempt] = []

    def __call__(self, attempt: l0.Attempt) -> list[str]:
        assert isinstance(attempt, StructuredAttempt)
        self.attempts.append(attempt)
        return chunks(self.answers[len(self.attempts) - 1])


@pytest.mark.anyio
async def test_fenced_json_is_corrected_without_a_retry() -> None:
    src = Script('Sure! Here it is:\n```json\n{"name": "Oslo", "population": 709000}\n```')
    res = await structured(City, src, clock=FakeClock())
    assert res.data == City(name="Oslo", population=709000)
    assert res.corrected
    assert "strip_markdown_fence" in res.corrections
    assert len(src.attempts) == 1
    assert res.raw.startswith("Sure!")


@pytest.mark.anyio
async def test_urls_inside_strings_survive() -> None:
    src = Script('{"name": "X", "population": 1, "url": "https://x.org/a//b"}')
    res = await structured(City, src)
    assert res.data.url == "https://x.org/a//b"
    assert not res.corrected
    assert res.corrections == ()


@pytest.mark.anyio
async def test_validation_failure_retries_with_feedback_and_raw_is_per_attempt() -> None:
    src = Script('{"name": "Oslo", "population": "many"}', '{"name": "Oslo", "population": 5}')
    res = await structured(City, src, clock=FakeClock())
    assert res.data.population == 5
    assert res.raw == '{"name": "Oslo", "population": 5}'
    first, second = src.attempts
    assert first.validation_errors == ()
    assert first.feedback == ""
    assert second.validation_errors[0]["loc"] == ("population",)
    assert second.previous_raw == '{"name": "Oslo", "population": "many"}'
    assert "population" in second.feedback
    messages = second.retry_messages([{"role": "user", "content": "City?"}])
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert res.result.state.model_retry_count == 1


@pytest.mark.anyio
async def test_network_errors_are_retried_by_the_core_policy() -> None:
    calls = 0

    async def src() -> AsyncIterator[str]:
        nonlocal calls
        calls += 1
        yield '{"name": "Oslo", '
        if calls == 1:
            raise ConnectionResetError("peer reset")
        yield '"population": 7}'

    res = await structured(City, src, clock=FakeClock())
    assert res.data.population == 7
    assert calls == 2
    assert res.result.state.network_retry_count == 1
    assert res.raw == '{"name": "Oslo", "population": 7}'


@pytest.mark.anyio
async def test_exhausted_retries_raise_structured_output_error() -> None:
    src = Script(*['{"name": 3}'] * 3)
    with pytest.raises(l0.StructuredOutputError) as info:
        await structured(City, src, retry=l0.Retry(attempts=2), clock=FakeClock())
    err = info.value
    assert err.raw == '{"name": 3}'
    assert {e["loc"] for e in err.validation_errors} == {("name",), ("population",)}
    assert isinstance(err.__cause__, l0.RetriesExhaustedError)
    assert len(src.attempts) == 3


@pytest.mark.anyio
async def test_strict_mode_does_not_correct() -> None:
    src = Script('```json\n{"name": "Oslo", "population": 1}\n```')
    with pytest.raises(l0.StructuredOutputError) as info:
        await structured(City, src, strict=True, retry=l0.Retry(attempts=0))
    assert info.value.corrections == []
    assert info.value.validation_errors[0]["type"] == "json_invalid"
    with pytest.raises(l0.StructuredOutputError):
        await structured(
            City,
            Script('{"name": "Oslo", "population": "1"}'),
            strict=True,
            retry=l0.Retry(attempts=0),
        )


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("model", "text", "expected"),
    [
        (list[City], '[{"name": "A", "population": 1}]', [City(name="A", population=1)]),
        (dict[str, int], '{"a": 1, "b": 2', {"a": 1, "b": 2}),
        (Point, 'Result: {"x": 1, "y": 2}', {"x": 1, "y": 2}),
        (TypeAdapter(list[int]), "[1, 2, 3,]", [1, 2, 3]),
    ],
)
async def test_any_type_adapter_type(model: object, text: str, expected: object) -> None:
    res = await structured(model, lambda: chunks(text))
    assert res.data == expected


@pytest.mark.anyio
async def test_bad_model_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="cannot validate"):
        await structured(object(), list)


@pytest.mark.anyio
async def test_structured_events_are_in_line_and_gap_free() -> None:
    events: list[l0.ObservabilityEvent] = []
    src = Script('{"name": "A"}', '```json\n{"name": "A", "population": 2}\n```')
    await structured(City, src, on_event=events.append, clock=FakeClock())
    names = [e.name for e in events]
    assert [e.seq for e in events] == list(range(len(events)))
    structured_names = [n for n in names if n.startswith("STRUCTURED_")]
    assert structured_names == [
        "STRUCTURED_PARSE_START",
        "STRUCTURED_VALIDATION_ERROR",
        "STRUCTURED_PARSE_START",
        "STRUCTURED_AUTO_CORRECT",
        "STRUCTURED_VALIDATED",
    ]
    assert names.index("STRUCTURED_VALIDATION_ERROR") < names.index("RETRY_ATTEMPT")
    assert names[-1] == "SESSION_END"
    assert {e.stream_id for e in events} == {events[0].stream_id}


@pytest.mark.anyio
async def test_a_handler_raising_on_a_structured_event_never_breaks_the_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(event: l0.ObservabilityEvent) -> None:
        if event.name.startswith("STRUCTURED_"):
            raise RuntimeError("bug in my handler")

    with caplog.at_level(logging.DEBUG, logger="l0"):
        src = Script('{"name": "A", "population": 2}')
        res = await structured(City, src, on_event=broken, clock=FakeClock())
    assert res.data == City(name="A", population=2)
    assert res.result.telemetry.handler_errors == 2  # PARSE_START and VALIDATED, both counted
    failures = [r for r in caplog.records if "raised on STRUCTURED_" in r.getMessage()]
    assert [r.levelno for r in failures] == [logging.ERROR, logging.DEBUG]  # traceback once
    assert caplog.text.count("Traceback") == 1 and "bug in my handler" in caplog.text


@pytest.mark.anyio
async def test_structured_stream_yields_growing_partial_objects() -> None:
    text = '[{"name": "A", "population": 1}, {"name": "B", "population": 22}, {"name": "C"'
    text += ', "population": 3}]'
    async with structured_stream(list[City], lambda: chunks(text, 4)) as s:
        seen = [value async for value in s]
    lengths = [len(v) for v in seen]
    assert lengths == sorted(lengths)
    assert {1, 2, 3} <= set(lengths)
    assert all(c.population in (1, 22, 3) for v in seen for c in v)  # no cut-off numbers
    assert (
        seen[-1]
        == s.result.data
        == [
            City(name="A", population=1),
            City(name="B", population=22),
            City(name="C", population=3),
        ]
    )


@pytest.mark.anyio
async def test_structured_stream_restarts_after_a_retry_and_fails_cleanly() -> None:
    src = Script('{"name": "Bad", "population": "x"}', '{"name": "Good", "population": 1}')
    async with structured_stream(City, src, clock=FakeClock()) as s:
        got = [value async for value in s]
    assert got[-1] == City(name="Good", population=1)
    assert all(v.name == "Good" for v in got)
    async with structured_stream(City, lambda: ["nope"], retry=l0.Retry(attempts=0)) as s2:
        with pytest.raises(l0.StructuredOutputError):
            await s2.__aiter__().__anext__()


@pytest.mark.anyio
async def test_structured_stream_validates_a_long_answer_a_bounded_number_of_times() -> None:
    items = [{"name": f"c{i}", "population": i} for i in range(3000)]
    text = json.dumps(items)
    async with structured_stream(list[City], lambda: chunks(text, 7)) as s:
        seen = [len(v) async for v in s]
    assert seen[-1] == 3000
    assert seen == sorted(seen)
    assert len(seen) < 250  # geometric re-validation, not one per token (~19,000 tokens)
