"""pipe / create_pipeline: each step an l0 run over a source built from the previous output."""

from __future__ import annotations

from typing import Any

import pytest

import l0
from l0.orchestration.pipeline import PipelineContext, PipelineStep, create_pipeline, pipe
from l0.testing import FakeClock, ScriptedSource, drop, fail, tokens

pytestmark = pytest.mark.anyio

FAST = {"retry": l0.Retry(base_delay=0.001), "clock": FakeClock()}


def echo(prefix: str) -> Any:
    """A step whose source streams ``prefix + previous output``."""

    def step(text: str, ctx: PipelineContext) -> ScriptedSource:
        return ScriptedSource(tokens(prefix + text))

    step.__name__ = prefix.strip(":")
    return step


def failing(text: str, ctx: PipelineContext) -> ScriptedSource:
    return ScriptedSource([fail(l0.AuthenticationError("step failed"))])


async def test_each_step_receives_the_previous_output() -> None:
    result = await pipe(echo("a:"), echo("b:"), input="x")
    assert result.status == "success" and result.text == "b:a:x"
    assert [(s.name, s.input, s.output) for s in result.steps] == [
        ("a", "x", "a:x"),
        ("b", "a:x", "b:a:x"),
    ]
    assert all(isinstance(s.result, l0.Result) for s in result.steps)


async def test_context_carries_the_input_earlier_steps_and_shared_metadata() -> None:
    seen: list[tuple[int, str, int]] = []

    async def spy(text: str, ctx: PipelineContext) -> ScriptedSource:
        seen.append((ctx.index, ctx.input, len(ctx.steps)))
        ctx.metadata["calls"] = ctx.metadata.get("calls", 0) + 1
        return ScriptedSource([text + "!"])

    pipeline = create_pipeline([spy, spy])
    result = await pipeline.run("go", metadata={"calls": 10})
    assert result.text == "go!!"
    assert seen == [(0, "go", 0), (1, "go", 1)]


async def test_each_step_retries_through_l0() -> None:
    source = ScriptedSource([*tokens("par"), drop()], ["partial no more"])
    result = await pipe(lambda text, ctx: source, input="", **FAST)
    assert result.text == "partial no more" and source.calls == 2


async def test_stop_on_error_stops_at_the_failed_step() -> None:
    after = ScriptedSource(["never"])
    result = await pipe(echo("a:"), failing, lambda t, c: after, input="x")
    assert result.status == "error" and len(result.steps) == 2
    assert isinstance(result.error, l0.AuthenticationError)
    assert result.text == "a:x" and after.calls == 0


async def test_without_stop_on_error_the_failed_steps_input_passes_on() -> None:
    pipeline = create_pipeline([echo("a:"), failing, echo("c:")], stop_on_error=False)
    result = await pipeline.run("x")
    assert result.status == "partial" and result.text == "c:a:x"
    assert [s.ok for s in result.steps] == [True, False, True]
    assert len(result.errors) == 1


async def test_step_options_override_pipeline_options_without_erasing_them() -> None:
    clock = FakeClock()
    primary = ScriptedSource([drop()], [fail(l0.AuthenticationError("no"))])
    backup = ScriptedSource(["backup"])
    step = PipelineStep(lambda t, c: primary, name="with fallback", options={"fallbacks": [backup]})
    shout = PipelineStep(echo("z:"), transform=lambda r: r.text.upper())
    result = await pipe(step, shout, retry=l0.Retry(base_delay=0.5), clock=clock)
    assert result.text == "Z:BACKUP"
    first = result.steps[0]
    assert first.name == "with fallback" and first.result is not None
    assert first.result.fallback_index == 1  # the step's own option
    assert clock.sleeps  # the pipeline's clock and retry still applied to that step


@pytest.mark.parametrize(
    ("steps", "options", "error", "message"),
    [
        ([], {}, ValueError, "must not be empty"),
        (["not callable"], {}, TypeError, "step 0 must be a callable"),
        ([echo("a")], {"retry": 3}, TypeError, "retry"),
        ([PipelineStep(echo("a"), options={"timeout": "soon"})], {}, TypeError, "timeout"),
    ],
)
def test_bad_pipelines_are_rejected_when_built(
    steps: list[Any], options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        create_pipeline(steps, **options)


async def test_non_text_input_is_rejected() -> None:
    with pytest.raises(TypeError, match="input must be a str"):
        await create_pipeline([echo("a")]).run(42)  # type: ignore[arg-type]
