"""Consensus: run several sources at once and keep the answer they agree on.

Each source is a full :func:`l0.run` (or :func:`l0.structured` with ``model=``), so every run's
retries, continuation, fallbacks and timeouts apply; all run concurrently in one anyio task
group (cancelling :func:`consensus` cancels every run and closes their streams).

Agreement is deliberately simple and predictable:

* text: two outputs agree when :func:`similarity` is at least ``threshold``: 1.0 when the
  normalised texts are equal (case-folded, whitespace collapsed, trimmed), otherwise the
  Jaccard index of their sets of word tokens (``\\w+``);
* structured (``model=``): two outputs agree when their validated objects are equal as
  canonical JSON (keys sorted); there is no partial credit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import anyio
from typing_extensions import Unpack

from l0.core import run
from l0.errors import RetriesExhaustedError
from l0.orchestration.parallel import open_streams
from l0.types import Result

if TYPE_CHECKING:
    from l0.runtime.options import StructuredOptions

__all__ = ["ConsensusOutput", "ConsensusResult", "consensus", "similarity"]

T = TypeVar("T")
Strategy = Literal["majority", "unanimous", "best"]
_STRATEGIES = ("majority", "unanimous", "best")
_STRUCTURED_ONLY = ("auto_correct", "strict")
_WORD = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Case-folded, whitespace-collapsed, trimmed ``text`` (what :func:`similarity` compares)."""
    return _SPACE.sub(" ", text.casefold()).strip()


def similarity(a: str, b: str) -> float:
    """How alike two outputs are, from 0.0 to 1.0.

    1.0 when the :func:`normalise`-d texts are equal; otherwise the Jaccard index (shared /
    all) of their sets of case-folded word tokens. Two texts without any word token (and not
    equal) score 0.0.
    """
    na, nb = normalise(a), normalise(b)
    if na == nb:
        return 1.0
    wa, wb = set(_WORD.findall(na)), set(_WORD.findall(nb))
    union = wa | wb
    return len(wa & wb) / len(union) if union else 0.0


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
        text: The chosen output's text.
        data: With ``model=``: the chosen validated object; otherwise ``None``.
        agreement: The (weighted) share of successful outputs that agree with the chosen
            one, from 0.0 to 1.0 (the chosen output counts itself).
        agreed: Whether the strategy's requirement was met: ``majority``: agreement > 0.5;
            ``unanimous``: every source succeeded and every pair of outputs agrees;
            ``best``: always True.
        winner_index: Position of the chosen source.
        supporters: Positions of the sources that agree with the chosen one.
        outputs: Every source's :class:`ConsensusOutput`, in source order.
        strategy: The strategy used.
    """

    text: str
    data: T | None
    agreement: float
    agreed: bool
    winner_index: int
    supporters: tuple[int, ...]
    outputs: tuple[ConsensusOutput, ...]
    strategy: Strategy

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
        raise ValueError(f"consensus: strategy must be one of {_STRATEGIES}, got {strategy!r}")
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


async def consensus(
    sources: Sequence[Any],
    *,
    strategy: Strategy = "majority",
    threshold: float = 0.8,
    weights: Sequence[float] | None = None,
    model: Any = None,
    **run_options: Unpack[StructuredOptions],
) -> ConsensusResult[Any]:
    """Run every source concurrently and return the output they agree on.

    The chosen output is the one with the largest (weighted) group of outputs agreeing with
    it (ties: the higher total similarity, then the earlier source); with ``"best"`` it is
    the highest-weighted output when ``weights`` are given. Failed sources are kept in
    :attr:`ConsensusResult.outputs` and count against ``"unanimous"`` only.

    Args:
        sources: At least two sources, as for :func:`l0.run`.
        strategy: ``"majority"``, ``"unanimous"`` or ``"best"`` (see
            :attr:`ConsensusResult.agreed`).
        threshold: Minimum :func:`similarity` for two text outputs to agree, in (0, 1].
        weights: One weight >= 0 per source (default: all 1.0).
        model: Validate each output with :func:`l0.structured` against this model; outputs
            agree when their objects are equal. ``auto_correct`` / ``strict`` go there too.
        **run_options: Options of :func:`l0.run` for every source (``retry``,
            ``fallbacks``, ``timeout``, …).

    Returns:
        A :class:`ConsensusResult`; check ``agreed`` before trusting ``text``.

    Raises:
        TypeError, ValueError: Bad sources, strategy, threshold, weights or run options.
        l0.RetriesExhaustedError: Every source failed (``errors`` holds each one's error).
    """
    items = _check(sources, strategy, threshold, weights)
    options: dict[str, Any] = dict(run_options)
    structured_options = {k: options.pop(k) for k in _STRUCTURED_ONLY if k in options}
    if structured_options and model is None:
        raise TypeError(f"consensus: {sorted(structured_options)} need model=")
    open_streams(items[:1], options)  # validate the options before anything runs
    outputs = await _run_all(items, model, structured_options, options)
    good = [o for o in outputs if o.ok]
    if not good:
        raise RetriesExhaustedError(
            f"consensus: all {len(items)} sources failed",
            errors=[o.error for o in outputs if o.error],
        )
    w = list(weights) if weights is not None else [1.0] * len(items)
    keys = [_key(o, model) for o in good]
    return _decide(outputs, good, keys, w, strategy, threshold, structured=model is not None)


async def _run_all(
    items: list[Any], model: Any, structured_options: dict[str, Any], options: dict[str, Any]
) -> list[ConsensusOutput]:
    outputs: list[ConsensusOutput] = [ConsensusOutput(i, "") for i in range(len(items))]

    async def one(index: int) -> None:
        try:
            if model is None:
                result = await run(items[index], **options)
                outputs[index] = ConsensusOutput(index, result.text, result)
            else:
                from l0.output.structured import structured

                done = await structured(model, items[index], **structured_options, **options)
                outputs[index] = ConsensusOutput(index, done.raw, done.result, data=done.data)
        except Exception as exc:
            outputs[index] = ConsensusOutput(index, "", error=exc)

    async with anyio.create_task_group() as tg:
        for index in range(len(items)):
            tg.start_soon(one, index)
    return outputs


def _key(output: ConsensusOutput, model: Any) -> str:
    """What is compared: the text, or the validated object as canonical JSON."""
    if model is None:
        return output.text
    from pydantic_core import to_jsonable_python

    return json.dumps(to_jsonable_python(output.data), sort_keys=True, separators=(",", ":"))


def _decide(
    outputs: list[ConsensusOutput],
    good: list[ConsensusOutput],
    keys: list[str],
    weights: list[float],
    strategy: Strategy,
    threshold: float,
    *,
    structured: bool,
) -> ConsensusResult[Any]:
    n = len(good)
    sim = [
        [1.0 if i == j else _similar(keys[i], keys[j], structured) for j in range(n)]
        for i in range(n)
    ]
    agree = [[j for j in range(n) if sim[i][j] >= threshold] for i in range(n)]
    weight = [weights[o.index] for o in good]

    def support(i: int) -> float:
        return sum(weight[j] for j in agree[i])

    if strategy == "best" and any(w != 1.0 for w in weights):
        chosen = max(range(n), key=lambda i: (weight[i], support(i), -i))
    else:
        chosen = max(range(n), key=lambda i: (support(i), sum(sim[i]), -i))
    total = sum(weight)
    agreement = support(chosen) / total if total else len(agree[chosen]) / n
    agreed = {
        "majority": agreement > 0.5,
        "unanimous": len(good) == len(outputs) and all(len(row) == n for row in agree),
        "best": True,
    }[strategy]
    winner = good[chosen]
    return ConsensusResult(
        text=winner.text,
        data=winner.data,
        agreement=agreement,
        agreed=agreed,
        winner_index=winner.index,
        supporters=tuple(good[j].index for j in agree[chosen]),
        outputs=tuple(outputs),
        strategy=strategy,
    )


def _similar(a: str, b: str, structured: bool) -> float:
    if structured:
        return 1.0 if a == b else 0.0
    return similarity(a, b)
