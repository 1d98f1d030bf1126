"""Pipeline vocabulary: step kinds, results, progress (see :mod:`l0.orchestration.pipeline`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from l0.errors import StreamTimeoutError
from l0.types import Result

if TYPE_CHECKING:
    from l0.orchestration.pipeline import Pipeline

__all__ = [
    "AnyStep",
    "Branch",
    "Condition",
    "Parallel",
    "PipelineContext",
    "PipelineDeadlineError",
    "PipelineProgress",
    "PipelineResult",
    "PipelineStep",
    "StepFn",
    "StepResult",
    "is_deadline",
]

StepFn = Callable[[str, "PipelineContext"], Any]
"""``(previous_output, context) -> source`` (or an awaitable of a source)."""

Condition = Callable[[str, "PipelineContext"], "bool | Awaitable[bool]"]
"""``(previous_output, context) -> bool`` (may be ``async``)."""


@dataclass(frozen=True, slots=True)
class PipelineStep:
    """A step with a name, its own run options, a condition and an output transform.

    Attributes:
        fn: ``(previous_output, context) -> source``; may be ``async``.
        name: Shown in results (default: the function's name).
        options: Options of :func:`l0.run` for this step only; they override the pipeline's.
        transform: Turns the step's :class:`l0.Result` into the text passed on (default:
            ``result.text``).
        condition: ``(previous_output, context) -> bool`` (may be ``async``); when false the
            step is skipped (``StepResult.skipped``) and its input passes on unchanged.
    """

    fn: StepFn
    name: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    transform: Callable[[Result], str] | None = None
    condition: Condition | None = None


@dataclass(frozen=True, slots=True)
class Branch:
    """Run ``then`` or ``otherwise`` (sub-pipelines) depending on ``condition``.

    Attributes:
        condition: ``(previous_output, context) -> bool`` (may be ``async``).
        then: The steps run when it is true (a list of steps or a :class:`Pipeline`).
        otherwise: The steps run when it is false; empty: the input passes on unchanged
            and the branch counts as skipped.
        name: Shown in results (default ``"branch N"``).
        options: Run options for the sub-pipeline's steps, over the pipeline's and under
            each step's own.
    """

    condition: Condition
    then: Sequence[AnyStep] | Pipeline
    otherwise: Sequence[AnyStep] | Pipeline = ()
    name: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Parallel:
    """Run sub-pipelines concurrently on the same input and combine their outputs.

    The step fails (with the first failed sub-pipeline's error) when any sub-pipeline ends
    with status ``"error"``; the others still run to their end.

    Attributes:
        pipelines: Two or more sub-pipelines (lists of steps or :class:`Pipeline` objects).
        combine: ``(results) -> str`` over their :class:`PipelineResult` objects, in order
            (default: their texts joined by a blank line).
        name: Shown in results (default ``"parallel N"``).
        options: Run options for the sub-pipelines' steps, over the pipeline's.
    """

    pipelines: Sequence[Sequence[AnyStep] | Pipeline]
    combine: Callable[[list[PipelineResult]], str] | None = None
    name: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)


AnyStep: TypeAlias = "StepFn | PipelineStep | Branch | Parallel"
"""Anything a pipeline accepts as a step."""


@dataclass(slots=True)
class StepResult:
    """What one step did.

    Attributes:
        index: Position in its pipeline (or sub-pipeline).
        name: The step's name.
        input: The text the step received.
        output: The text it passed on (its input again when it failed or was skipped).
        result: Its :class:`l0.Result`, or ``None`` when it failed, was skipped or is a
            :class:`Branch` / :class:`Parallel`.
        error: The exception that ended it, if any.
        skipped: Its condition was false (nothing ran).
        branches: For a :class:`Branch`, the sub-pipeline that ran; for a :class:`Parallel`,
            each sub-pipeline's result, in order.
    """

    index: int
    name: str
    input: str
    output: str
    result: Result | None = None
    error: Exception | None = None
    skipped: bool = False
    branches: list[PipelineResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the step succeeded (or was skipped)."""
        return self.error is None


@dataclass(slots=True)
class PipelineContext:
    """Handed to every step and condition.

    Attributes:
        index: The current step's position (in its sub-pipeline, inside a branch).
        name: The current step's name.
        input: The pipeline's original input.
        steps: Results of the steps already run (in the current sub-pipeline).
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
        status: ``"success"`` (every step succeeded or was skipped), ``"error"`` (a step
            failed and the pipeline stopped, or the deadline passed) or ``"partial"``
            (some steps failed, the rest ran).
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

    @property
    def timed_out(self) -> bool:
        """Whether the pipeline's deadline ended it."""
        return any(is_deadline(e) for e in self.errors)


@dataclass(frozen=True, slots=True)
class PipelineProgress:
    """Passed to ``on_progress`` each time a top-level step ends.

    Attributes:
        completed: Top-level steps ended so far (succeeded, failed or skipped).
        total: Top-level steps in the pipeline.
        step: The :class:`StepResult` of the step that just ended.
        elapsed: Seconds since the run started (on the run's ``clock``).
    """

    completed: int
    total: int
    step: StepResult
    elapsed: float


class PipelineDeadlineError(StreamTimeoutError):
    """The pipeline-wide deadline passed (a ``"total"`` :class:`l0.StreamTimeoutError`)."""


def is_deadline(exc: BaseException) -> bool:
    """Whether ``exc`` is the pipeline-wide deadline."""
    return isinstance(exc, PipelineDeadlineError)
