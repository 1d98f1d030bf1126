"""pipe / create_pipeline: each step an l0 run over a source built from the previous output."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import l0
from l0.orchestration.pipeline import (
    Branch,
    Parallel,
    PipelineContext,
    PipelineStep,
    create_pipeline,
    pipe,
)
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


# -- conditions, branches, parallel sub-pipelines, deadline, progress -----------------------------


async def test_a_false_condition_skips_the_step_and_passes_its_input_on() -> None:
    never = ScriptedSource(["never"])
    seen: list[tuple[str, int]] = []

    async def long_enough(text: str, ctx: PipelineContext) -> bool:
        seen.append((text, ctx.index))
        return len(text) > 10

    skipped = PipelineStep(lambda t, c: never, name="only long", condition=long_enough)
    taken = PipelineStep(echo("b:"), condition=lambda text, ctx: text.startswith("a:"))
    result = await pipe(echo("a:"), skipped, taken, input="x")
    assert result.status == "success" and result.text == "b:a:x"
    assert [(s.name, s.skipped, s.output) for s in result.steps] == [
        ("a", False, "a:x"),
        ("only long", True, "a:x"),
        ("b", False, "b:a:x"),
    ]
    assert never.calls == 0 and seen == [("a:x", 1)]


@pytest.mark.parametrize(("text", "expected"), [("question?", "Q:question?"), ("hi", "S:hi")])
async def test_a_branch_runs_one_sub_pipeline_chosen_by_its_condition(
    text: str, expected: str
) -> None:
    branch = Branch(
        lambda t, c: t.endswith("?"),
        then=[echo("Q:")],
        otherwise=create_pipeline([echo("S:")]),
        name="kind",
    )
    result = await pipe(branch, input=text)
    step = result.steps[0]
    assert result.status == "success" and result.text == expected
    assert step.name == "kind" and step.result is None and len(step.branches) == 1
    assert step.branches[0].steps[0].output == expected


async def test_a_branch_without_otherwise_is_skipped_when_false_and_fails_with_its_sub_pipeline() -> (
    None
):
    skipped = await pipe(Branch(lambda t, c: False, then=[failing]), echo("z:"), input="x")
    assert skipped.text == "z:x" and skipped.steps[0].skipped and skipped.steps[0].branches == []

    failed = await pipe(Branch(lambda t, c: True, then=[echo("a:"), failing]), input="x")
    assert failed.status == "error" and failed.text == "x"
    assert isinstance(failed.error, l0.AuthenticationError)
    assert failed.steps[0].branches[0].text == "a:x"


async def test_options_nest_pipeline_then_branch_then_step() -> None:
    clock = FakeClock()
    primary = ScriptedSource([drop()], [fail(l0.AuthenticationError("no"))])
    inner = PipelineStep(lambda t, c: primary, options={"fallbacks": [ScriptedSource(["step"])]})
    other = ScriptedSource([drop()], [fail(l0.AuthenticationError("no"))])
    branch = Branch(
        lambda t, c: True,
        then=[inner, lambda t, c: other],
        options={"fallbacks": [ScriptedSource([" branch"])]},
    )
    result = await pipe(
        branch, retry=l0.Retry(attempts=1, base_delay=0.25, backoff="fixed"), clock=clock
    )
    sub = result.steps[0].branches[0]
    assert [s.output for s in sub.steps] == ["step", " branch"]  # the step's, then the branch's
    assert clock.sleeps == [0.25, 0.25]  # the pipeline's retry and clock, in both steps


async def test_parallel_sub_pipelines_run_concurrently_on_the_same_input() -> None:
    both_started = anyio.Event()
    started: list[str] = []

    def meet(name: str) -> Any:
        async def step(text: str, ctx: PipelineContext) -> ScriptedSource:
            started.append(name)
            if len(started) == 2:
                both_started.set()
            await both_started.wait()  # only returns if the other sub-pipeline runs meanwhile
            return ScriptedSource([f"{name}({text})"])

        return step

    fan = Parallel([[meet("left")], [meet("right"), echo("+")]], name="fan")
    with anyio.fail_after(5):
        result = await pipe(echo("in:"), fan, input="x")
    assert result.status == "success"
    assert result.text == "left(in:x)\n\n+right(in:x)"
    assert [r.text for r in result.steps[1].branches] == ["left(in:x)", "+right(in:x)"]

    joined = Parallel([[echo("a")], [echo("b")]], combine=lambda rs: "|".join(r.text for r in rs))
    assert (await pipe(joined, input="x")).text == "ax|bx"


async def test_a_failed_sub_pipeline_fails_the_parallel_step_after_the_others_end() -> None:
    other = ScriptedSource(["fine"])
    result = await pipe(Parallel([[failing], [lambda t, c: other]]), echo("z:"), input="x")
    assert result.status == "error" and isinstance(result.error, l0.AuthenticationError)
    assert [r.status for r in result.steps[0].branches] == ["error", "success"]
    assert other.calls == 1 and len(result.steps) == 1


async def test_the_deadline_stops_before_the_next_step_on_the_runs_clock() -> None:
    clock = FakeClock()
    late = ScriptedSource(["never"])

    def slow(text: str, ctx: PipelineContext) -> ScriptedSource:
        clock.advance(6.0)  # this step took 6 s of the 5 s budget
        return ScriptedSource(["done"])

    result = await pipe(slow, lambda t, c: late, input="x", deadline=5.0, clock=clock)
    assert result.status == "error" and result.timed_out and late.calls == 0
    assert result.text == "done" and [s.ok for s in result.steps] == [True, False]
    error = result.error
    assert isinstance(error, l0.StreamTimeoutError) and error.kind == "total"
    assert error.timeout == 5.0 and error.elapsed == 6.0


async def test_the_deadline_interrupts_a_running_step_through_its_total_timeout() -> None:
    clock = FakeClock()
    never = anyio.Event()

    async def stalls(attempt: l0.Attempt) -> Any:
        yield "partial "
        clock.advance(3.0)  # past the 2 s deadline while the provider is silent
        await never.wait()
        yield "never"  # pragma: no cover

    after = ScriptedSource(["never"])
    pipeline = create_pipeline(
        [lambda t, c: stalls, lambda t, c: after],
        stop_on_error=False,  # the deadline ends the run anyway
        deadline=2.0,
        clock=clock,
        timeout=l0.Timeout(total=60.0),
    )
    with anyio.fail_after(5):
        result = await pipeline.run("x")
    assert result.status == "error" and result.timed_out
    assert len(result.steps) == 1 and after.calls == 0
    error = result.error
    assert isinstance(error, l0.StreamTimeoutError) and error.timeout == 2.0


async def test_no_deadline_and_a_met_deadline_do_not_time_out() -> None:
    result = await pipe(echo("a:"), input="x", deadline=5.0, clock=FakeClock())
    assert result.status == "success" and not result.timed_out


async def test_progress_is_reported_after_each_top_level_step() -> None:
    clock = FakeClock()
    seen: list[tuple[int, int, str, bool, bool, float]] = []

    def record(p: l0.PipelineProgress) -> None:
        seen.append((p.completed, p.total, p.step.name, p.step.skipped, p.step.ok, p.elapsed))

    def tick(text: str, ctx: PipelineContext) -> ScriptedSource:
        clock.advance(1.5)
        return ScriptedSource([text])

    steps = [
        tick,
        PipelineStep(echo("s"), condition=lambda t, c: False),
        Branch(lambda t, c: True, then=[echo("b:"), echo("c:")], name="br"),
        failing,
    ]
    result = await pipe(*steps, input="x", on_progress=record, clock=clock)
    assert result.status == "error"
    assert seen == [
        (1, 4, "tick", False, True, 1.5),
        (2, 4, "s", True, True, 1.5),
        (3, 4, "br", False, True, 1.5),
        (4, 4, "failing", False, False, 1.5),
    ]


@pytest.mark.parametrize(
    ("steps", "options", "error", "message"),
    [
        ([Branch(lambda t, c: True, then=[])], {}, ValueError, "then must not be empty"),
        ([Branch("yes", then=[echo("a")])], {}, TypeError, "condition must be callable"),  # type: ignore[arg-type]
        ([Branch(lambda t, c: True, then="abc")], {}, TypeError, "list of steps or a Pipeline"),  # type: ignore[arg-type]
        ([Parallel([[echo("a")]])], {}, ValueError, "two or more"),
        ([Parallel([[echo("a")], []])], {}, ValueError, "pipeline 1 must not be empty"),
        ([PipelineStep(echo("a"), condition="no")], {}, TypeError, "condition must be callable"),  # type: ignore[arg-type]
        (
            [Branch(lambda t, c: True, then=[PipelineStep(echo("a"), options={"timeout": 1})])],
            {},
            TypeError,
            "timeout",
        ),
        ([Parallel([[echo("a")], [echo("b")]], options={"retry": 3})], {}, TypeError, "retry"),
        ([echo("a")], {"deadline": 0}, ValueError, "deadline must be seconds > 0"),
        ([echo("a")], {"deadline": "soon"}, ValueError, "deadline must be seconds > 0"),
        ([echo("a")], {"on_progress": 3}, TypeError, "on_progress must be callable"),
    ],
)
def test_bad_steps_and_pipeline_options_are_rejected_when_built(
    steps: list[Any], options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        create_pipeline(steps, **options)
