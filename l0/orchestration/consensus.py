"""Consensus: run several sources at once and keep the answer they agree on.

Each source is a full :func:`l0.run` (or :func:`l0.structured` with ``model=``), so every run's
retries, continuation, fallbacks and timeouts apply; all run concurrently in one anyio task
group (cancelling :func:`consensus` cancels every run and closes their streams).

Agreement (:mod:`l0.orchestration.agreement`, on ``rapidfuzz``): two outputs agree when their
similarity is at least ``threshold``. Text: the normalised Indel similarity of the
case-folded, whitespace-collapsed texts. Structured (``model=``): the validated objects are
compared as JSON, field by field (short strings by Jaro-Winkler, numbers, booleans and null by
equality), and :attr:`ConsensusResult.fields` gives the consensus of each field.

Events (``on_event``, under the consensus's own ``stream_id``; each run keeps its own):
``CONSENSUS_START``, ``CONSENSUS_OUTPUT_COLLECTED`` per source, ``CONSENSUS_ANALYSIS`` and
``CONSENSUS_END`` (:mod:`l0.events`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import anyio
from typing_extensions import Unpack

from l0.core import run
from l0.errors import ContentError, RetriesExhaustedError
from l0.events import EventName
from l0.orchestration.agreement import (
    FieldConsensus,
    field_consensus,
    normalise,
    quick_consensus,
    similarity_matrix,
    text_similarity,
)
from l0.orchestration.parallel import open_streams
from l0.runtime.events import Emitter
from l0.runtime.options import new_stream_id
from l0.runtime.timers import SYSTEM_CLOCK
from l0.types import Result

if TYPE_CHECKING:
    from l0.runtime.options import StructuredOptions

__all__ = [
    "CONSENSUS_PRESETS",
    "ConsensusOutput",
    "ConsensusResult",
    "FieldConsensus",
    "consensus",
    "normalise",
    "quick_consensus",
    "similarity",
]

T = TypeVar("T")
Strategy = Literal["majority", "unanimous", "weighted", "best"]
Resolve = Literal["vote", "merge", "best", "fail"]
_STRATEGIES = ("majority", "unanimous", "weighted", "best")
_RESOLVE = ("vote", "merge", "best", "fail")
_STRUCTURED_ONLY = ("auto_correct", "strict")
CONSENSUS_PRESETS: dict[str, dict[str, Any]] = {
    "strict": {"strategy": "unanimous", "threshold": 1.0, "resolve": "fail"},
    "standard": {"strategy": "majority", "threshold": 0.8, "resolve": "vote"},
    "lenient": {"strategy": "majority", "threshold": 0.6, "resolve": "merge"},
    "best": {"strategy": "best", "threshold": 0.8, "resolve": "best"},
}
"""The ``preset=`` names of :func:`consensus`; arguments given explicitly win."""


def similarity(a: str, b: str) -> float:
    """How alike two text outputs are, from 0.0 to 1.0 (see
    :func:`l0.orchestration.agreement.text_similarity`)."""
    return text_similarity(a, b)


@dataclass(frozen=True, slots=True)
class ConsensusOutput:
    """One source's outcome.

    Attributes:
        index: Position of the source.
        text: Its final text ("" when it failed).
        result: Its :class:`l0.Result`, or ``None`` when it failed.
        error: The exception that ended it, if any.
        data: With ``model=``: the validated object.
    """

    index: int
    text: str
    result: Result | None = None
    error: Exception | None = None
    data: Any = None

    @property
    def ok(self) -> bool:
        """Whether this source produced an output."""
        return self.error is None


@dataclass(frozen=True, slots=True)
class ConsensusResult(Generic[T]):
    """The agreed answer and how strongly the sources agreed.

    Attributes:
        text: The chosen output's text (with ``resolve="merge"`` on structured outputs: the
            merged object as JSON).
        data: With ``model=``: the chosen (or merged) validated object; otherwise ``None``.
        agreement: The (weighted) share of successful outputs that agree with the chosen
            one, from 0.0 to 1.0 (the chosen output counts itself).
        agreed: Whether the strategy's requirement was met: ``majority`` / ``weighted``:
            agreement > 0.5; ``unanimous``: every source succeeded and every pair of outputs
            agrees; ``best``: always True.
        winner_index: Position of the chosen source.
        supporters: Positions of the sources that agree with the chosen one.
        outputs: Every source's :class:`ConsensusOutput`, in source order.
        strategy: The strategy used.
        resolution: How the answer was picked (``vote``, ``merge``, ``best``).
        similarity_matrix: Pairwise similarities of the successful outputs, in the order of
            :attr:`compared` (1.0 on the diagonal).
        compared: Positions of the successful outputs (the matrix's rows and columns).
        agreements: ``(i, j, score)`` for every pair of sources that agree.
        disagreements: ``(i, j, score)`` for every pair that does not.
        confidence: How much to trust the answer, 0.0 to 1.0: the (weighted) mean similarity
            of the successful outputs to the chosen one, times the share of sources that
            succeeded.
        fields: With ``model=`` and object outputs: the consensus of each top-level field.
    """

    text: str
    data: T | None
    agreement: float
    agreed: bool
    winner_index: int
    supporters: tuple[int, ...]
    outputs: tuple[ConsensusOutput, ...]
    strategy: Strategy
    resolution: Resolve = "vote"
    similarity_matrix: tuple[tuple[float, ...], ...] = ()
    compared: tuple[int, ...] = ()
    agreements: tuple[tuple[int, int, float], ...] = ()
    disagreements: tuple[tuple[int, int, float], ...] = ()
    confidence: float = 0.0
    fields: dict[str, FieldConsensus] = field(default_factory=dict)

    @property
    def errors(self) -> list[Exception]:
        """The errors of the sources that failed."""
        return [o.error for o in self.outputs if o.error is not None]


def _check(
    sources: Sequence[Any], strategy: str, threshold: float, weights: Sequence[float] | None
) -> list[Any]:
    if isinstance(sources, (str, bytes)) or not isinstance(sources, Sequence):
        raise TypeError(f"consensus: sources must be a list, got {type(sources).__name__}")
    if len(sources) < 2:
        raise ValueError(f"consensus: needs at least 2 sources, got {len(sources)}")
    if strategy not in _STRATEGIES:
        raise ValueError(_unknown("strategy", strategy, _STRATEGIES))
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise TypeError(f"consensus: threshold must be a number, got {type(threshold).__name__}")
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"consensus: threshold must be in (0, 1], got {threshold!r}")
    if weights is not None:
        if len(weights) != len(sources):
            raise ValueError(
                f"consensus: weights has {len(weights)} entries for {len(sources)} sources"
            )
        if any(isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0 for w in weights):
            raise ValueError("consensus: weights must be numbers >= 0")
    return list(sources)


def _unknown(option: str, value: object, valid: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(str(value), valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"consensus: {option} must be one of {tuple(valid)}, got {value!r}{hint}"


def _settings(
    preset: str | None, strategy: str | None, threshold: float | None, resolve: str | None
) -> tuple[Any, Any, Any]:
    if preset is not None and preset not in CONSENSUS_PRESETS:
        raise ValueError(_unknown("preset", preset, tuple(CONSENSUS_PRESETS)))
    base = CONSENSUS_PRESETS[preset or "standard"]
    resolve = base["resolve"] if resolve is None else resolve
    if resolve not in _RESOLVE:
        raise ValueError(_unknown("resolve", resolve, _RESOLVE))
    return (
        base["strategy"] if strategy is None else strategy,
        base["threshold"] if threshold is None else threshold,
        resolve,
    )


async def consensus(
    sources: Sequence[Any],
    *,
    strategy: Strategy | None = None,
    threshold: float | None = None,
    resolve: Resolve | None = None,
    weights: Sequence[float] | None = None,
    model: Any = None,
    preset: str | None = None,
    **run_options: Unpack[StructuredOptions],
) -> ConsensusResult[Any]:
    """Run every source concurrently and return the output they agree on.

    The chosen output is the one with the largest (weighted) group of outputs agreeing with
    it (ties: the higher total similarity, then the earlier source); with ``"best"`` it is
    the highest-weighted output when ``weights`` are given. Failed sources are kept in
    :attr:`ConsensusResult.outputs` and count against ``"unanimous"`` only.

    Args:
        sources: At least two sources, as for :func:`l0.run`.
        strategy: ``"majority"`` (default), ``"unanimous"``, ``"weighted"`` (majority by
            ``weights``) or ``"best"`` (see :attr:`ConsensusResult.agreed`).
        threshold: Minimum similarity for two outputs to agree, in (0, 1] (default 0.8).
        resolve: ``"vote"`` (default: the chosen output), ``"merge"`` (structured: each field's
            consensus value, validated again against ``model``; text: as ``vote``),
            ``"best"`` (the output most similar to all others), ``"fail"`` (raise
            :class:`l0.ContentError` when the strategy's requirement is not met).
        weights: One weight >= 0 per source (default: all 1.0).
        model: Validate each output with :func:`l0.structured` against this model.
            ``auto_correct`` / ``strict`` go there too.
        preset: ``"strict"``, ``"standard"``, ``"lenient"`` or ``"best"``
            (:data:`CONSENSUS_PRESETS`); arguments given explicitly win.
        **run_options: Options of :func:`l0.run` for every source (``retry``,
            ``fallbacks``, ``timeout``, …).

    Returns:
        A :class:`ConsensusResult`; check ``agreed`` before trusting ``text``.

    Raises:
        TypeError, ValueError: Bad sources, strategy, threshold, resolve, preset, weights or
            run options.
        l0.RetriesExhaustedError: Every source failed (``errors`` holds each one's error).
        l0.ContentError: ``resolve="fail"`` and the sources did not agree.
    """
    strategy, threshold, resolve = _settings(preset, strategy, threshold, resolve)
    items = _check(sources, strategy, threshold, weights)
    options: dict[str, Any] = dict(run_options)
    structured_options = {k: options.pop(k) for k in _STRUCTURED_ONLY if k in options}
    if structured_options and model is None:
        raise TypeError(f"consensus: {sorted(structured_options)} need model=")
    open_streams(items[:1], options)  # validate the options before anything runs
    events = _Events(options)
    ids: list[str] | None = None
    if events.active:  # each run's id is known up front, to tie its events to this consensus
        ids = [options.get("stream_id") or new_stream_id() for _ in items]
        await events.emit(
            EventName.CONSENSUS_START,
            sources=len(items),
            strategy=strategy,
            threshold=float(threshold),
            resolve=resolve,
            structured=model is not None,
            stream_ids=tuple(ids),
        )
    try:
        outputs = await _run_all(items, model, structured_options, options, events, ids)
    except BaseException:  # cancelled: the consensus's stream still ends
        with anyio.CancelScope(shield=True):
            await events.end("cancelled", None, resolve)
        raise
    good = [o for o in outputs if o.ok]
    if not good:
        await events.end("failed", None, resolve)
        raise RetriesExhaustedError(
            f"consensus: all {len(items)} sources failed",
            errors=[o.error for o in outputs if o.error],
        )
    w = list(weights) if weights is not None else [1.0] * len(items)
    result = decide(outputs, w, strategy, threshold, resolve, model=model)
    if events.active:
        scores = [score for *_, score in (*result.agreements, *result.disagreements)]
        await events.emit(
            EventName.CONSENSUS_ANALYSIS,
            compared=result.compared,
            agreements=len(result.agreements),
            disagreements=len(result.disagreements),
            mean_similarity=sum(scores) / len(scores) if scores else 1.0,
            min_similarity=min(scores, default=1.0),
        )
        await events.end("agreed" if result.agreed else "disagreed", result, result.resolution)
    if resolve == "fail" and not result.agreed:
        raise ContentError(
            f"consensus: the sources did not agree ({strategy}, agreement "
            f"{result.agreement:.2f}, threshold {threshold}); resolve='vote' returns the "
            "best-supported answer instead"
        )
    return result


class _Events(Emitter):
    """The consensus's own event stream (inactive, so free, when nobody listens)."""

    __slots__ = ("started",)

    def __init__(self, options: dict[str, Any]) -> None:
        handler = options.get("on_event")
        clock = options.get("clock") or SYSTEM_CLOCK
        super().__init__(
            (handler,) if handler is not None else (),
            stream_id=new_stream_id(),
            now=clock.now,
            context=options.get("context"),
        )
        self.started = clock.now()

    async def end(self, status: str, result: ConsensusResult[Any] | None, resolution: str) -> None:
        if not self.active:
            return
        await self.emit(
            EventName.CONSENSUS_END,
            status=status,
            winner_index=result.winner_index if result is not None else None,
            agreement=result.agreement if result is not None else 0.0,
            confidence=result.confidence if result is not None else 0.0,
            resolution=resolution,
            duration=max(0.0, self._now() - self.started),
        )


async def _run_all(
    items: list[Any],
    model: Any,
    structured_options: dict[str, Any],
    options: dict[str, Any],
    events: _Events,
    ids: list[str] | None,
) -> list[ConsensusOutput]:
    outputs: list[ConsensusOutput] = [ConsensusOutput(i, "") for i in range(len(items))]

    async def one(index: int) -> None:
        opts = options if ids is None else {**options, "stream_id": ids[index]}
        try:
            if model is None:
                result = await run(items[index], **opts)
                outputs[index] = ConsensusOutput(index, result.text, result)
            else:
                from l0.output.structured import structured

                done = await structured(model, items[index], **structured_options, **opts)
                outputs[index] = ConsensusOutput(index, done.raw, done.result, data=done.data)
        except Exception as exc:
            outputs[index] = ConsensusOutput(index, "", error=exc)
        if events.active:
            out = outputs[index]
            await events.emit(
                EventName.CONSENSUS_OUTPUT_COLLECTED,
                index=index,
                ok=out.ok,
                length=len(out.text),
                error=out.error,
            )

    async with anyio.create_task_group() as tg:
        for index in range(len(items)):
            tg.start_soon(one, index)
    return outputs


def _value(output: ConsensusOutput, model: Any) -> Any:
    """What is compared: the text, or the validated object as JSON-like data."""
    if model is None:
        return output.text
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(output.data)


def decide(
    outputs: Sequence[ConsensusOutput],
    weights: Sequence[float],
    strategy: Strategy,
    threshold: float,
    resolve: Resolve = "vote",
    *,
    model: Any = None,
) -> ConsensusResult[Any]:
    """The consensus of finished outputs (pure: no run; what :func:`consensus` returns).

    Raises:
        ValueError: No successful output.
    """
    good = [o for o in outputs if o.ok]
    if not good:
        raise ValueError("consensus: no successful output to decide on")
    structured = model is not None
    values = [_value(o, model) for o in good]
    n = len(good)
    sim = similarity_matrix(values, structured=structured)
    agree = [[j for j in range(n) if sim[i][j] >= threshold] for i in range(n)]
    weight = [weights[o.index] for o in good]

    def support(i: int) -> float:
        return sum(weight[j] for j in agree[i])

    if strategy == "best" and any(x != 1.0 for x in weights):
        chosen = max(range(n), key=lambda i: (weight[i], support(i), -i))
    elif resolve == "best":
        chosen = max(range(n), key=lambda i: (sum(sim[i]), support(i), -i))
    else:
        chosen = max(range(n), key=lambda i: (support(i), sum(sim[i]), -i))
    total = sum(weight)
    agreement = support(chosen) / total if total else len(agree[chosen]) / n
    agreed = {
        "majority": agreement > 0.5,
        "weighted": agreement > 0.5,
        "unanimous": n == len(outputs) and all(len(row) == n for row in agree),
        "best": True,
    }[strategy]
    closeness = (
        sum(weight[j] * sim[chosen][j] for j in range(n)) / total if total else sum(sim[chosen]) / n
    )
    winner = good[chosen]
    index = [o.index for o in good]
    pairs = [(index[i], index[j], sim[i][j]) for i in range(n) for j in range(i + 1, n)]
    fields = (
        field_consensus(
            [(o.index, v) for o, v in zip(good, values, strict=True) if isinstance(v, dict)],
            dict(enumerate(weights)),
        )
        if structured and all(isinstance(v, dict) for v in values)
        else {}
    )
    text, data = winner.text, winner.data
    if resolve == "merge" and fields:
        text, data = _merge(fields, model, text, data)
    return ConsensusResult(
        text=text,
        data=data,
        agreement=agreement,
        agreed=agreed,
        winner_index=winner.index,
        supporters=tuple(good[j].index for j in agree[chosen]),
        outputs=tuple(outputs),
        strategy=strategy,
        resolution=resolve if resolve != "fail" else "vote",
        similarity_matrix=tuple(tuple(row) for row in sim),
        compared=tuple(index),
        agreements=tuple(p for p in pairs if p[2] >= threshold),
        disagreements=tuple(p for p in pairs if p[2] < threshold),
        confidence=closeness * n / len(outputs),
        fields=fields,
    )


def _merge(fields: dict[str, FieldConsensus], model: Any, text: str, data: Any) -> tuple[str, Any]:
    """Each field's consensus value, validated against ``model``; the vote when the merged
    object does not validate."""
    from pydantic import TypeAdapter, ValidationError

    merged = {name: f.value for name, f in fields.items()}
    adapter: TypeAdapter[Any] = model if isinstance(model, TypeAdapter) else TypeAdapter(model)
    try:
        return json.dumps(merged), adapter.validate_python(merged)
    except ValidationError:
        return text, data
