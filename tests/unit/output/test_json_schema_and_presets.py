"""Structured output against a JSON Schema dict (jsonschema), and the structured presets."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

import l0
from l0.output.presets import PRESETS, StructuredPreset
from l0.output.schema import output_schema
from l0.output.streaming import structured_stream
from l0.output.structured import StructuredAttempt, structured
from l0.testing import FakeClock

CITY = {
    "title": "City",
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "population": {"type": "integer", "minimum": 0},
        "contact": {"type": "string", "format": "email"},
    },
    "required": ["name", "population"],
    "additionalProperties": False,
}


class Script:
    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.attempts: list[StructuredAttempt] = []

    def __call__(self, attempt: l0.Attempt) -> list[str]:
        assert isinstance(attempt, StructuredAttempt)
        self.attempts.append(attempt)
        text = self.answers[len(self.attempts) - 1]
        return [text[i : i + 5] for i in range(0, len(text), 5)]


@pytest.mark.anyio
async def test_a_json_schema_dict_validates_and_gives_the_parsed_value() -> None:
    src = Script('Sure:\n```json\n{"name": "Oslo", "population": 709000}\n```')
    res = await structured(CITY, src, clock=FakeClock())
    assert res.data == {"name": "Oslo", "population": 709000}
    assert res.corrected
    assert len(src.attempts) == 1


@pytest.mark.anyio
async def test_a_schema_violation_is_retried_with_the_errors_as_feedback() -> None:
    src = Script('{"name": "Oslo", "population": -1}', '{"name": "Oslo", "population": 1}')
    res = await structured(CITY, src, clock=FakeClock())
    assert res.data == {"name": "Oslo", "population": 1}
    second = src.attempts[1]
    assert second.validation_errors[0]["type"] == "minimum"
    assert second.validation_errors[0]["loc"] == ("population",)
    assert "population: -1 is less than the minimum of 0" in second.feedback


@pytest.mark.anyio
async def test_json_schema_failures_end_as_structured_output_error() -> None:
    answers = ['{"name": "", "population": 1, "extra": 2}'] * 2
    with pytest.raises(l0.StructuredOutputError) as info:
        await structured(CITY, Script(*answers), retry=l0.Retry(attempts=1), clock=FakeClock())
    kinds = {e["type"] for e in info.value.validation_errors}
    assert kinds == {"minLength", "additionalProperties"}


@pytest.mark.anyio
async def test_formats_are_checked() -> None:
    bad = '{"name": "A", "population": 1, "contact": "not an email"}'
    with pytest.raises(l0.StructuredOutputError, match="is not a 'email'"):
        await structured(CITY, Script(bad), preset="fail_fast", clock=FakeClock())


@pytest.mark.anyio
async def test_a_json_schema_streams_partial_objects_missing_required_fields() -> None:
    text = '{"name": "Bergen", "population": 285000, "contact": "x@y.no"}'
    async with structured_stream(
        CITY, lambda: [text[i : i + 3] for i in range(0, len(text), 3)]
    ) as s:
        seen = [value async for value in s]
    assert seen[0] == {} or "population" not in seen[0]  # shown before it is complete
    assert (
        seen[-1] == s.result.data == {"name": "Bergen", "population": 285000, "contact": "x@y.no"}
    )
    assert all(set(v) <= set(seen[-1]) for v in seen)


def test_a_partial_object_that_breaks_the_schema_for_good_is_not_shown() -> None:
    schema = output_schema(CITY)
    assert schema.validate_partial('{"name": "A"}') == {"name": "A"}  # required comes later
    assert schema.validate_partial('{"name": 3}') is None  # a wrong type stays wrong
    assert schema.validate_partial('{"nope": 1}') is None  # additionalProperties


def test_an_invalid_json_schema_is_a_clear_error_naming_the_place() -> None:
    with pytest.raises(TypeError, match=r"not a valid JSON Schema at properties/n/type"):
        output_schema({"type": "object", "properties": {"n": {"type": "integr"}}})


def test_a_jsonschema_validator_instance_is_accepted() -> None:
    from jsonschema import Draft7Validator

    schema = output_schema(Draft7Validator({"type": "array", "items": {"type": "integer"}}))
    assert schema.validate_json("[1, 2]", strict=False) == [1, 2]
    assert schema.label == "JSON Schema"
    assert output_schema(CITY).label == "City"


def test_a_model_that_is_neither_says_what_is_accepted() -> None:
    with pytest.raises(TypeError, match="or a JSON Schema dict"):
        output_schema(object())


class Count(BaseModel):
    n: int


@pytest.mark.anyio
async def test_preset_strict_repairs_and_coerces_nothing_and_reasks() -> None:
    src = Script('{"n": "3"}', '```json\n{"n": 3}\n```', '{"n": 3}')
    res = await structured(Count, src, preset="strict", clock=FakeClock())
    assert res.data == Count(n=3)
    assert len(src.attempts) == 3  # "3" not coerced, the fence not stripped
    assert not res.corrected


@pytest.mark.anyio
async def test_preset_lenient_repairs_and_coerces() -> None:
    src = Script('```json\n{"n": "3",}\n```')
    res = await structured(Count, src, preset="lenient", clock=FakeClock())
    assert res.data == Count(n=3)
    assert res.corrected
    assert PRESETS["lenient"].retry.attempts == 2


@pytest.mark.anyio
async def test_preset_fail_fast_calls_the_model_once() -> None:
    src = Script('{"n": "x"}', '{"n": 1}')
    with pytest.raises(l0.StructuredOutputError):
        await structured(Count, src, preset="fail_fast", clock=FakeClock())
    assert len(src.attempts) == 1


@pytest.mark.anyio
async def test_explicit_arguments_win_over_the_preset() -> None:
    src = Script('{"n": "x"}', '{"n": "3"}')
    res = await structured(
        Count, src, preset="fail_fast", strict=False, retry=l0.Retry(attempts=1), clock=FakeClock()
    )
    assert res.data == Count(n=3)
    assert len(src.attempts) == 2
    own = StructuredPreset("mine", auto_correct=False, strict=False, retry=l0.Retry(attempts=0))
    with pytest.raises(l0.StructuredOutputError):
        await structured(Count, Script('```json\n{"n": 1}\n```'), preset=own, clock=FakeClock())


@pytest.mark.parametrize(("name", "hint"), [("strcit", "strict"), ("lenent", "lenient")])
def test_a_misspelt_preset_names_the_closest(name: str, hint: str) -> None:
    with pytest.raises(ValueError, match=f"did you mean '{hint}'"):
        structured_stream(Count, ['{"n": 1}'], preset=name)


def test_a_preset_of_the_wrong_type_is_a_type_error() -> None:
    bad: Any = 3
    with pytest.raises(TypeError, match="preset must be a name"):
        structured_stream(Count, ['{"n": 1}'], preset=bad)
