"""Pipelines: each step is an l0 run over a source built from the previous step's output.

::

    def summarise(text: str, ctx: l0.PipelineContext) -> Source:
        return lambda: client.chat.completions.create(..., messages=[...text...], stream=True)

    result = await l0.pipe(summarise, translate, input=document, retry=l0.Retry(attempts=2))
    result.text            # the last step's output
    result.steps[0].result # the first step's l0.Result

Every step runs through :func:`l0.run`, so retries, continuation, fallbacks, timeouts and
guardrails apply per step. Pipeline-wide run options are merged under each step's own options
(a step's option wins; an option the step does not set is never overwritten with ``None``).
A step may carry a ``condition`` (skipped when false); :class:`Branch` picks one of two
sub-pipelines, :class:`Parallel` runs sub-pipelines concurrently on the same input. A
pipeline-wide ``deadline`` caps every step's ``Timeout.total`` at the time left and starts no
step after it; ``on_progress`` hears of each top-level step as it ends.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import anyio
from typing_extensions import Unpack

from l0.core import run, stream
from l0.errors import StreamTimeoutError
from l0.orchestration.pipeline_types import (
    AnyStep,
    Branch,
    Condition,
    Parallel,
    PipelineContext,
    PipelineDeadlineError,
    PipelineProgress,
    PipelineResult,
    PipelineStep,
    StepResult,
    is_deadline,
)
from l0.runtime.timers import SYSTEM_CLOCK
from l0.types import Timeout

if TYPE_CHECKING:
    from l0.runtime.options import RunOptions
    from l0.runtime.timers import Clock

__all__ = [
    "Branch",
    "Parallel",
    "Pipeline",
    "PipelineContext",
    "PipelineDeadlineError",
    "PipelineProgress",
    "PipelineResult",
    "PipelineStep",
    "StepResult",
    "create_pipeline",
    "pipe",
]


@dataclass(frozen=True, slots=True)
class _Sub:
    """A normalised sub-pipeline: steps, their options and the stop rule."""

    steps: list[PipelineStep | Branch | Parallel]
    options: Mapping[str, Any]
    stop_on_error: bool


@dataclass(slots=True)
class _RunState:
    input: str
    metadata: dict[str, Any]
    clock: Clock
    started: float
    deadline: float | None


def _sub(spec: Sequence[AnyStep] | Pipeline, where: str, stop_on_error: bool) -> _Sub:
    if isinstance(spec, Pipeline):
        return _Sub(spec.steps, spec.run_options, spec.stop_on_error)
    if isinstance(spec, (str, bytes)) or not isinstance(spec, Sequence):  # type: ignore[unreachable]
        raise TypeError(f"{where} must be a list of steps or a Pipeline, got {type(spec).__name__}")
    return _Sub([_as_step(s, i, where) for i, s in enumerate(spec)], {}, stop_on_error)


def _as_step(
    step: AnyStep, index: int, where: str = "pipeline"
) -> PipelineStep | Branch | Parallel:
    if isinstance(step, PipelineStep):
        if not callable(step.fn):
            raise TypeError(f"{where} step {index}: fn must be callable")
        if step.condition is not None and not callable(step.condition):
            raise TypeError(f"{where} step {index}: condition must be callable")
        return step if step.name else dataclasses.replace(step, name=_name(step.fn, index))
    if isinstance(step, Branch):
        if not callable(step.condition):
            raise TypeError(f"{where} step {index}: Branch condition must be callable")
        name = step.name or f"branch {index}"
        then = _sub(step.then, f"branch {name!r} then", True)
        if not then.steps:
            raise ValueError(f"branch {name!r}: then must not be empty")
        _sub(step.otherwise, f"branch {name!r} otherwise", True)
        return step if step.name else dataclasses.replace(step, name=name)
    if isinstance(step, Parallel):
        name = step.name or f"parallel {index}"
        pipelines: object = step.pipelines
        if not isinstance(pipelines, Sequence) or isinstance(pipelines, (str, bytes)):
            raise TypeError(f"parallel {name!r}: pipelines must be a list of sub-pipelines")
        if len(step.pipelines) < 2:
            raise ValueError(f"parallel {name!r}: give two or more sub-pipelines")
        for i, spec in enumerate(step.pipelines):
            if not _sub(spec, f"parallel {name!r} pipeline {i}", True).steps:
                raise ValueError(f"parallel {name!r}: pipeline {i} must not be empty")
        return step if step.name else dataclasses.replace(step, name=name)
    if not callable(step):
        raise TypeError(
            f"{where} step {index} must be a callable (text, context) -> source, a "
            f"PipelineStep, a Branch or a Parallel, got {type(step).__name__}"
        )
    return PipelineStep(step, _name(step, index))


def _check_options(step: PipelineStep | Branch | Parallel, options: Mapping[str, Any]) -> None:
    """Validate run options now (an unstarted stream checks them), not inside a step."""
    merged = {**options, **step.options}
    if isinstance(step, PipelineStep):
        stream(_no_source, **merged)
        return
    specs = [step.then, step.otherwise] if isinstance(step, Branch) else list(step.pipelines)
    for spec in specs:
        sub = _sub(spec, step.name, True)
        for inner in sub.steps:
            _check_options(inner, {**merged, **sub.options})


def _no_source() -> list[str]:  # pragma: no cover - never called: the stream is not started
    return []


def _name(fn: Callable[..., Any], index: int) -> str:
    name = getattr(fn, "__name__", "")
    return name if name and name != "<lambda>" else f"step {index}"


async def _holds(condition: Condition, text: str, ctx: PipelineContext) -> bool:
    verdict = condition(text, ctx)
    if inspect.isawaitable(verdict):
        verdict = await verdict
    return bool(verdict)


class Pipeline:
    """A reusable sequence of steps; :meth:`run` it as often as needed.

    Args:
        steps: Callables ``(previous_output, context) -> source``, :class:`PipelineStep`,
            :class:`Branch` or :class:`Parallel`.
        stop_on_error: Stop at the first failed step (status ``"error"``); otherwise the
            failed step's input passes on to the next step (status ``"partial"``).
        deadline: Seconds for a whole :meth:`run` (on the ``clock`` run option): each step's
            ``Timeout.total`` is capped at the time left, and no step starts after it (the
            run ends with status ``"error"`` and a ``"total"`` :class:`l0.StreamTimeoutError`;
            :attr:`PipelineResult.timed_out`). ``None``: no deadline.
        on_progress: Called with a :class:`PipelineProgress` each time a top-level step ends.
        **run_options: Options of :func:`l0.run` for every step.

    Raises:
        TypeError, ValueError: No steps, a step that is not callable, a bad deadline or bad
            run options (the pipeline's or a step's).
    """

    def __init__(
        self,
        steps: Iterable[AnyStep],
        *,
        stop_on_error: bool = True,
        deadline: float | None = None,
        on_progress: Callable[[PipelineProgress], None] | None = None,
        **run_options: Unpack[RunOptions],
    ) -> None:
        if isinstance(steps, (str, bytes)) or callable(steps):  # type: ignore[unreachable]
            raise TypeError("create_pipeline: steps must be a list of steps")
        self.steps = [_as_step(step, i) for i, step in enumerate(steps)]
        if not self.steps:
            raise ValueError("create_pipeline: steps must not be empty")
        if deadline is not None and (
            isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or deadline <= 0
        ):
            raise ValueError(
                f"create_pipeline: deadline must be seconds > 0 or None, got {deadline!r}"
            )
        if on_progress is not None and not callable(on_progress):
            raise TypeError("create_pipeline: on_progress must be callable")
        self.stop_on_error = stop_on_error
        self.deadline = deadline
        self.on_progress = on_progress
        self.run_options: dict[str, Any] = dict(run_options)
        for step in self.steps:
            _check_options(step, self.run_options)

    async def run(
        self, input: str = "", *, metadata: Mapping[str, Any] | None = None
    ) -> PipelineResult:
        """Run every step in order, starting from ``input``.

        Args:
            input: The text the first step receives.
            metadata: Initial contents of :attr:`PipelineContext.metadata`.

        Returns:
            A :class:`PipelineResult`; step failures (and the deadline) are recorded there,
            not raised (cancellation still propagates).
        """
        if not isinstance(input, str):
            raise TypeError(f"pipeline input must be a str, got {type(input).__name__}")
        clock: Clock = self.run_options.get("clock") or SYSTEM_CLOCK
        started = clock.now()
        state = _RunState(
            input,
            dict(metadata or {}),
            clock,
            started,
            None if self.deadline is None else started + self.deadline,
        )
        sub = _Sub(self.steps, self.run_options, self.stop_on_error)
        return await _run_sub(sub, input, {}, state, self._progress(state))

    def _progress(self, state: _RunState) -> Callable[[StepResult, int], None] | None:
        callback = self.on_progress
        if callback is None:
            return None
        total = len(self.steps)

        def report(step: StepResult, completed: int) -> None:
            callback(PipelineProgress(completed, total, step, state.clock.now() - state.started))

        return report


async def _run_sub(
    sub: _Sub,
    text: str,
    outer: Mapping[str, Any],
    state: _RunState,
    progress: Callable[[StepResult, int], None] | None = None,
) -> PipelineResult:
    done: list[StepResult] = []
    options = {**outer, **sub.options}
    for index, step in enumerate(sub.steps):
        ctx = PipelineContext(index, step.name, state.input, list(done), state.metadata)
        outcome = await _run_any(step, text, ctx, options, state)
        done.append(outcome)
        if progress is not None:
            progress(outcome, len(done))
        text = outcome.output
        if outcome.error is not None and (sub.stop_on_error or is_deadline(outcome.error)):
            return PipelineResult(text, done, "error")
    status: Literal["success", "partial"] = "success" if all(s.ok for s in done) else "partial"
    return PipelineResult(text, done, status)


async def _run_any(
    step: PipelineStep | Branch | Parallel,
    text: str,
    ctx: PipelineContext,
    options: Mapping[str, Any],
    state: _RunState,
) -> StepResult:
    outcome = StepResult(ctx.index, step.name, text, text)
    try:
        _check_deadline(state)
        merged = {**options, **step.options}
        if isinstance(step, Branch):
            chosen = step.then if await _holds(step.condition, text, ctx) else step.otherwise
            sub = _sub(chosen, step.name, True)
            if not sub.steps:
                outcome.skipped = True
                return outcome
            ran = await _run_sub(sub, text, merged, state)
            outcome.branches = [ran]
            _end_sub(outcome, ran)
            return outcome
        if isinstance(step, Parallel):
            await _run_parallel(step, text, merged, state, outcome)
            return outcome
        if step.condition is not None and not await _holds(step.condition, text, ctx):
            outcome.skipped = True
            return outcome
        source = step.fn(text, ctx)
        if inspect.isawaitable(source):
            source = await source
        result = await run(source, **_capped(merged, state))
        outcome.output = step.transform(result) if step.transform else result.text
        outcome.result = result
    except Exception as exc:
        outcome.error = _deadline_error(state) if _deadline_passed(exc, state) else exc
        outcome.output = text
    return outcome


def _end_sub(outcome: StepResult, ran: PipelineResult) -> None:
    """A branch step takes its sub-pipeline's text, or fails with its first error."""
    if ran.status == "error":
        outcome.error = ran.error
    else:
        outcome.output = ran.text


async def _run_parallel(
    step: Parallel, text: str, options: Mapping[str, Any], state: _RunState, outcome: StepResult
) -> None:
    subs = [_sub(spec, step.name, True) for spec in step.pipelines]
    results: list[PipelineResult | None] = [None] * len(subs)

    async def one(i: int) -> None:
        results[i] = await _run_sub(subs[i], text, options, state)

    async with anyio.create_task_group() as tg:
        for i in range(len(subs)):
            tg.start_soon(one, i)
    ran = [r for r in results if r is not None]
    outcome.branches = ran
    failed = next((r for r in ran if r.status == "error"), None)
    if failed is not None:
        outcome.error = failed.error
        return
    combine = step.combine or _join
    outcome.output = combine(ran)


def _join(results: list[PipelineResult]) -> str:
    return "\n\n".join(r.text for r in results)


def _check_deadline(state: _RunState) -> None:
    if state.deadline is not None and state.clock.now() >= state.deadline:
        raise _deadline_error(state)


def _deadline_error(state: _RunState) -> PipelineDeadlineError:
    limit = (state.deadline or 0.0) - state.started
    return PipelineDeadlineError("total", limit, state.clock.now() - state.started)


def _deadline_passed(exc: Exception, state: _RunState) -> bool:
    """A step's run ended on the time left: report the pipeline's deadline instead."""
    if is_deadline(exc):
        return True
    return (
        isinstance(exc, StreamTimeoutError)
        and exc.kind == "total"
        and state.deadline is not None
        and state.clock.now() >= state.deadline - 1e-9
    )


def _capped(options: Mapping[str, Any], state: _RunState) -> dict[str, Any]:
    """The step's run options with ``Timeout.total`` capped at the time left."""
    merged = dict(options)
    if state.deadline is None:
        return merged
    left = max(state.deadline - state.clock.now(), 1e-6)
    timeout: Timeout = merged.get("timeout") or Timeout()
    if timeout.total is None or timeout.total > left:
        merged["timeout"] = dataclasses.replace(timeout, total=left)
    return merged


def create_pipeline(
    steps: Iterable[AnyStep],
    *,
    stop_on_error: bool = True,
    deadline: float | None = None,
    on_progress: Callable[[PipelineProgress], None] | None = None,
    **run_options: Unpack[RunOptions],
) -> Pipeline:
    """A reusable :class:`Pipeline` (see there for the arguments)."""
    return Pipeline(
        steps,
        stop_on_error=stop_on_error,
        deadline=deadline,
        on_progress=on_progress,
        **run_options,
    )


async def pipe(
    *steps: AnyStep,
    input: str = "",
    stop_on_error: bool = True,
    deadline: float | None = None,
    on_progress: Callable[[PipelineProgress], None] | None = None,
    **run_options: Unpack[RunOptions],
) -> PipelineResult:
    """Run ``steps`` once, in order, starting from ``input``.

    Shorthand for ``await create_pipeline(steps, ...).run(input)``.

    Args:
        *steps: As for :class:`Pipeline`.
        input: The text the first step receives.
        stop_on_error: As for :class:`Pipeline`.
        deadline: As for :class:`Pipeline`.
        on_progress: As for :class:`Pipeline`.
        **run_options: Options of :func:`l0.run` for every step.
    """
    pipeline = Pipeline(
        steps,
        stop_on_error=stop_on_error,
        deadline=deadline,
        on_progress=on_progress,
        **run_options,
    )
    return await pipeline.run(input)
