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
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from typing_extensions import Unpack

from l0.core import run, stream
from l0.types import Result

if TYPE_CHECKING:
    from l0.runtime.options import RunOptions

__all__ = [
    "Pipeline",
    "PipelineContext",
    "PipelineResult",
    "PipelineStep",
    "StepResult",
    "create_pipeline",
    "pipe",
]

StepFn = Callable[[str, "PipelineContext"], Any]
"""``(previous_output, context) -> source`` (or an awaitable of a source)."""


@dataclass(frozen=True, slots=True)
class PipelineStep:
    """A step with a name, its own run options and an optional output transform.

    Attributes:
        fn: ``(previous_output, context) -> source``; may be ``async``.
        name: Shown in results (default: the function's name).
        options: Options of :func:`l0.run` for this step only; they override the pipeline's.
        transform: Turns the step's :class:`l0.Result` into the text passed on (default:
            ``result.text``).
    """

    fn: StepFn
    name: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    transform: Callable[[Result], str] | None = None


@dataclass(slots=True)
class StepResult:
    """What one step did.

    Attributes:
        index: Position in the pipeline.
        name: The step's name.
        input: The text the step received.
        output: The text it passed on (its input again when it failed).
        result: Its :class:`l0.Result`, or ``None`` when it failed.
        error: The exception that ended it, if any.
    """

    index: int
    name: str
    input: str
    output: str
    result: Result | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """Whether the step succeeded."""
        return self.error is None


@dataclass(slots=True)
class PipelineContext:
    """Handed to every step.

    Attributes:
        index: The current step's position.
        name: The current step's name.
        input: The pipeline's original input.
        steps: Results of the steps already run.
        metadata: A dict shared by every step of this run (for the caller's own data).
    """

    index: int
    name: str
    input: str
    steps: list[StepResult]
    metadata: dict[str, Any]


@dataclass(slots=True)
class PipelineResult:
    """The outcome of a pipeline run.

    Attributes:
        text: The last successful step's output (the input when none succeeded).
        steps: One :class:`StepResult` per step that ran, in order.
        status: ``"success"`` (every step succeeded), ``"error"`` (a step failed and the
            pipeline stopped) or ``"partial"`` (some steps failed, the rest ran).
    """

    text: str
    steps: list[StepResult]
    status: Literal["success", "error", "partial"]

    @property
    def errors(self) -> list[Exception]:
        """The errors of the failed steps, in order."""
        return [s.error for s in self.steps if s.error is not None]

    @property
    def error(self) -> Exception | None:
        """The first step error, if any."""
        errors = self.errors
        return errors[0] if errors else None


def _as_step(step: StepFn | PipelineStep, index: int) -> PipelineStep:
    if isinstance(step, PipelineStep):
        if not callable(step.fn):
            raise TypeError(f"pipeline step {index}: fn must be callable")
        return (
            step
            if step.name
            else PipelineStep(step.fn, _name(step.fn, index), step.options, step.transform)
        )
    if not callable(step):
        raise TypeError(
            f"pipeline step {index} must be a callable (text, context) -> source or a "
            f"PipelineStep, got {type(step).__name__}"
        )
    return PipelineStep(step, _name(step, index))


def _check_options(options: Mapping[str, Any]) -> None:
    """Validate run options now (an unstarted stream checks them), not inside a step."""
    stream(_no_source, **options)


def _no_source() -> list[str]:  # pragma: no cover - never called: the stream is not started
    return []


def _name(fn: Callable[..., Any], index: int) -> str:
    name = getattr(fn, "__name__", "")
    return name if name and name != "<lambda>" else f"step {index}"


class Pipeline:
    """A reusable sequence of steps; :meth:`run` it as often as needed.

    Args:
        steps: Callables ``(previous_output, context) -> source`` or :class:`PipelineStep`.
        stop_on_error: Stop at the first failed step (status ``"error"``); otherwise the
            failed step's input passes on to the next step (status ``"partial"``).
        **run_options: Options of :func:`l0.run` for every step.

    Raises:
        TypeError, ValueError: No steps, a step that is not callable.
    """

    def __init__(
        self,
        steps: Iterable[StepFn | PipelineStep],
        *,
        stop_on_error: bool = True,
        **run_options: Unpack[RunOptions],
    ) -> None:
        if isinstance(steps, (str, bytes)) or callable(steps):  # type: ignore[unreachable]
            raise TypeError("create_pipeline: steps must be a list of steps")
        self.steps = [_as_step(step, i) for i, step in enumerate(steps)]
        if not self.steps:
            raise ValueError("create_pipeline: steps must not be empty")
        self.stop_on_error = stop_on_error
        self.run_options = dict(run_options)
        for step in self.steps:
            _check_options({**self.run_options, **step.options})

    async def run(
        self, input: str = "", *, metadata: Mapping[str, Any] | None = None
    ) -> PipelineResult:
        """Run every step in order, starting from ``input``.

        Args:
            input: The text the first step receives.
            metadata: Initial contents of :attr:`PipelineContext.metadata`.

        Returns:
            A :class:`PipelineResult`; step failures are recorded there, not raised
            (cancellation still propagates).
        """
        if not isinstance(input, str):
            raise TypeError(f"pipeline input must be a str, got {type(input).__name__}")
        done: list[StepResult] = []
        shared = dict(metadata or {})
        text = input
        for index, step in enumerate(self.steps):
            ctx = PipelineContext(index, step.name, input, list(done), shared)
            outcome = await self._run_step(step, text, ctx)
            done.append(outcome)
            text = outcome.output
            if outcome.error is not None and self.stop_on_error:
                return PipelineResult(text, done, "error")
        status: Literal["success", "partial"] = "success" if all(s.ok for s in done) else "partial"
        return PipelineResult(text, done, status)

    async def _run_step(self, step: PipelineStep, text: str, ctx: PipelineContext) -> StepResult:
        try:
            source = step.fn(text, ctx)
            if inspect.isawaitable(source):
                source = await source
            result = await run(source, **{**self.run_options, **step.options})
            output = step.transform(result) if step.transform else result.text
        except Exception as exc:
            return StepResult(ctx.index, step.name, text, text, error=exc)
        return StepResult(ctx.index, step.name, text, output, result)


def create_pipeline(
    steps: Iterable[StepFn | PipelineStep],
    *,
    stop_on_error: bool = True,
    **run_options: Unpack[RunOptions],
) -> Pipeline:
    """A reusable :class:`Pipeline` (see there for the arguments)."""
    return Pipeline(steps, stop_on_error=stop_on_error, **run_options)


async def pipe(
    *steps: StepFn | PipelineStep,
    input: str = "",
    stop_on_error: bool = True,
    **run_options: Unpack[RunOptions],
) -> PipelineResult:
    """Run ``steps`` once, in order, starting from ``input``.

    Shorthand for ``await create_pipeline(steps, ...).run(input)``.

    Args:
        *steps: Callables ``(previous_output, context) -> source`` or :class:`PipelineStep`.
        input: The text the first step receives.
        stop_on_error: As for :class:`Pipeline`.
        **run_options: Options of :func:`l0.run` for every step.
    """
    return await Pipeline(steps, stop_on_error=stop_on_error, **run_options).run(input)
