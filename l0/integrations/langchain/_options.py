"""The l0 options of the LangChain wrappers: declared once, checked by name.

:class:`L0Options` holds every option of :func:`l0.stream` that applies to a wrapped
LangChain runnable (:data:`RUN_OPTIONS`, derived from the core's
:data:`l0.runtime.options.OPTION_NAMES`); ``L0Runnable`` and ``L0ChatModel`` both inherit it.
A test keeps the fields equal to the core's names minus :data:`NOT_APPLICABLE`.

LangChain's pydantic models ignore unknown keywords (``extra="ignore"``), so
``L0Runnable(llm, retires=3)`` would silently run with the default retry policy. The wrappers
check their keywords first and name the closest valid option.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable
from pydantic import BaseModel, ConfigDict, Field

from l0.integrations.langchain._rewrap import find_chat_model, unwrap
from l0.runtime.events import EventHandler
from l0.runtime.options import OPTION_NAMES, build_options
from l0.runtime.timers import Clock
from l0.types import CheckIntervals, Continuation, Retry, Timeout

__all__ = [
    "NOT_APPLICABLE",
    "OWN_OPTIONS",
    "RUN_OPTIONS",
    "L0Options",
    "check_option_names",
    "configured_options",
    "model_context",
    "run_context",
]

NOT_APPLICABLE: Mapping[str, str] = {
    "adapter": "the wrappers decode LangChain chunks with their own adapter",
    "keep_raw": "raw provider chunks never reach the caller of a LangChain runnable",
    "hedge": "a twin attempt would be a second concurrent model run in the reported runs",
}
"""Core options the wrappers do not take, and why."""

RUN_OPTIONS: frozenset[str] = OPTION_NAMES - frozenset(NOT_APPLICABLE)
"""The l0 options the wrappers take (constructor keywords and ``configurable`` keys)."""

OWN_OPTIONS: frozenset[str] = frozenset(
    {"fallbacks", "continuation", "on_event", "detect_zero_output"}
)
"""Options the session turns into something else before :func:`l0.stream` sees them
(runnables into sources, the continuation into assistant-prefix inputs, …)."""


class L0Options(BaseModel):
    """Every l0 option of the LangChain wrappers (see :class:`l0.RunOptions` for each).

    Attributes:
        fallbacks: Runnables tried in order once the primary is exhausted.
        retry: The retry policy (default :class:`l0.Retry()`).
        timeout: Stall and overall deadlines (default :class:`l0.Timeout()`).
        guardrails: Guardrail rules or a preset.
        drift: ``None``, ``True`` or a drift detector.
        continuation: Continue chat models from the checkpoint after a failure (default
            True); other runnables restart instead.
        check_intervals: How often streaming checks run.
        release: ``"checked"`` or ``"stream"`` (default: checked when a rule can reject
            text; docs/what-your-user-sees.md).
        detect_zero_output: Treat an empty answer as an error (default: see the wrapper).
        detect_truncation: Treat an OpenAI/Anthropic stream without its finish reason as a
            retryable drop (default on).
        clock: The l0 clock (tests pass :class:`l0.testing.FakeClock`).
        on_event: Receives every :class:`l0.ObservabilityEvent`.
        context: Caller data on ``SESSION_START`` (default: the wrapped chat model's
            ``model`` and ``provider``, which name the OpenTelemetry/Sentry spans); the
            keys given win.
        record: Record each run for :func:`l0.replay` (a store, a path or an
            :class:`l0.Recorder`; docs/replay.md).
        stream_id: The run's id in events (random by default).
        breaker: A shared :class:`l0.CircuitBreaker`.
        retry_budget: A shared :class:`l0.RetryBudget`.
        keys: With ``breaker``/``retry_budget``: one key per runnable (primary, fallbacks).
        breaker_keys: The older name of ``keys``.
        on_start: Called with each ``ATTEMPT_START`` event; likewise ``on_retry``,
            ``on_fallback``, ``on_checkpoint``, ``on_resume``, ``on_timeout``,
            ``on_violation``, ``on_drift``, ``on_tool_call``, ``on_abort``, ``on_complete``
            and ``on_error`` (as in :func:`l0.stream`).
    """

    fallbacks: Sequence[Runnable[Any, Any]] = Field(default_factory=list)
    retry: Retry | None = None
    timeout: Timeout | None = None
    guardrails: Any = ()
    drift: Any = None
    continuation: bool | Continuation = True
    check_intervals: CheckIntervals | None = None
    release: str | None = None
    detect_zero_output: bool | None = None
    detect_truncation: bool = True
    clock: Clock | None = None
    on_event: EventHandler | None = None
    context: Mapping[str, Any] | None = None
    record: Any = None
    stream_id: str | None = None
    breaker: Any = None
    retry_budget: Any = None
    keys: Sequence[str | None] | None = None
    breaker_keys: Sequence[str | None] | None = None
    on_start: EventHandler | None = None
    on_retry: EventHandler | None = None
    on_fallback: EventHandler | None = None
    on_checkpoint: EventHandler | None = None
    on_resume: EventHandler | None = None
    on_timeout: EventHandler | None = None
    on_violation: EventHandler | None = None
    on_drift: EventHandler | None = None
    on_tool_call: EventHandler | None = None
    on_abort: EventHandler | None = None
    on_complete: EventHandler | None = None
    on_error: EventHandler | None = None

    model_config = ConfigDict(arbitrary_types_allowed=True)

    def l0_options(self) -> dict[str, Any]:
        """The options handed to :func:`l0.stream` as they are."""
        return {name: getattr(self, name) for name in sorted(RUN_OPTIONS - OWN_OPTIONS)}

    def check_l0_options(self) -> None:
        """Validate every l0 option now, with l0's own error messages (``ValueError``,
        ``TypeError``)."""
        build_options(
            (),
            fallbacks=[()] * len(self.fallbacks),  # as many sources as runnables (``keys``)
            continuation=self.continuation,
            on_event=self.on_event,
            **self.l0_options(),
        )


def configured_options(configurable: Mapping[str, Any]) -> dict[str, Any]:
    """The l0 options among a call's ``config["configurable"]`` keys (per-call overrides)."""
    return {k: v for k, v in configurable.items() if k in RUN_OPTIONS and k not in OWN_OPTIONS}


def check_option_names(owner: str, kwargs: Mapping[str, Any], valid: Iterable[str]) -> None:
    """Raise ``TypeError`` for a keyword of ``kwargs`` that is not in ``valid``.

    Args:
        owner: The class name, for the message.
        kwargs: The keywords given.
        valid: Every accepted keyword.

    Raises:
        TypeError: Naming the unknown keyword and the closest valid one, if any.
    """
    names = sorted(set(valid))
    known = set(names)
    for key in kwargs:
        if key in known:
            continue
        close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise TypeError(
            f"{owner} got an unexpected option {key!r}{hint} (valid options: {', '.join(names)})"
        )


def model_context(runnable: Runnable[Any, Any] | None) -> dict[str, str]:
    """``model`` and ``provider`` of the chat model ``runnable`` is or contains (the first,
    depth first), from LangChain's own tracing parameters; empty when there is none."""
    found = None if runnable is None else find_chat_model(runnable)
    model = None if found is None else unwrap(found)
    if not isinstance(model, BaseChatModel):
        return {}
    try:
        params: Mapping[str, Any] = model._get_ls_params()
    except Exception:  # a model's own tracing hook failing must not fail the run
        params = {}
    name = params.get("ls_model_name") or getattr(model, "model_name", None)
    name = name or getattr(model, "model", None)
    provider = params.get("ls_provider") or model._llm_type
    out = {"model": name, "provider": provider}
    return {k: v for k, v in out.items() if isinstance(v, str) and v}


def run_context(
    runnable: Runnable[Any, Any] | None, given: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The run's ``context``: the wrapped model's :func:`model_context`, then ``given``
    (the caller's keys win)."""
    context = {**model_context(runnable), **(given or {})}
    return context or None
