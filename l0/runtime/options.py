"""Validate and normalise the keyword options of :func:`l0.run` / :func:`l0.stream`.

Every bad input fails here, before anything runs, with an error naming the option.
"""

from __future__ import annotations

import inspect
import random
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from l0.adapters.base import Adapter
from l0.errors import ErrorCategory, InvalidStreamError
from l0.guardrails.hooks import DriftHook, GuardrailHook
from l0.runtime.callbacks import build_handlers
from l0.runtime.events import EventHandler
from l0.runtime.timers import SYSTEM_CLOCK, Clock
from l0.types import Attempt, CheckIntervals, Continuation, Retry, Timeout

if TYPE_CHECKING:
    from l0.breaker import CircuitBreaker
    from l0.budget import RetryBudget

__all__ = ["Options", "Source", "build_options"]


class Source:
    """A normalised source: call it with the :class:`Attempt` to get a stream (or awaitable)."""

    __slots__ = ("_fn", "_one_shot", "_takes_attempt", "_used", "label")

    def __init__(self, source: Any, label: str) -> None:
        self.label = label
        self._used = False
        self._one_shot = False
        # A plain function or lambda (the common case) skips the stream-likeness checks.
        if source.__class__ is types.FunctionType or (
            callable(source) and not _is_stream_like(source)
        ):
            self._fn = source
            self._takes_attempt = _takes_one_argument(source, label)
        elif _is_stream_like(source) or inspect.isawaitable(source):
            # A ready stream: readable once. Iterables that make a fresh iterator on each
            # iter() (lists, tuples) can be re-read on retry; iterators cannot.
            self._fn = lambda: source
            self._takes_attempt = False
            self._one_shot = not isinstance(source, (list, tuple))
        else:
            raise TypeError(
                f"{label} must be a callable returning a stream (taking no argument or an "
                f"l0.Attempt), or a stream/iterable; got {type(source).__name__}"
            )

    def __call__(self, attempt: Attempt) -> Any:
        if self._one_shot and self._used:
            raise InvalidStreamError(
                f"{self.label} is a stream object that can be read only once; pass a "
                "factory (e.g. lambda: client.chat.completions.create(...)) to allow retries",
                category=ErrorCategory.FATAL,
            )
        self._used = True
        return self._fn(attempt) if self._takes_attempt else self._fn()


def _is_stream_like(obj: object) -> bool:
    if isinstance(obj, type):
        return False  # a class is a factory (``list``), not a stream
    return hasattr(obj, "__aiter__") or (
        hasattr(obj, "__iter__") and not isinstance(obj, (str, bytes, Mapping))
    )


def _takes_one_argument(fn: Callable[..., Any], label: str) -> bool:
    code = getattr(fn, "__code__", None)
    if isinstance(fn, types.FunctionType) and code is not None:
        # Fast path for plain functions and lambdas (no inspect.signature per run).
        required = code.co_argcount - len(fn.__defaults__ or ())
        if required > 1:
            raise TypeError(
                f"{label} must take no argument or one l0.Attempt; it requires {required}"
            )
        return required == 1 or (code.co_argcount >= 1) or bool(code.co_flags & 0x04)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    params = [
        p
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if len(params) > 1:
        raise TypeError(
            f"{label} must take no argument or one l0.Attempt; it requires {len(params)}"
        )
    if params:
        return True
    return any(p.kind is p.VAR_POSITIONAL for p in sig.parameters.values())


@dataclass(slots=True)
class Options:
    """The validated options of one run (read-only by convention: built once per run)."""

    sources: tuple[Source, ...]
    retry: Retry
    timeout: Timeout
    guardrails: GuardrailHook | None
    drift: DriftHook | None
    continuation: Continuation | None
    check_intervals: CheckIntervals
    handlers: tuple[EventHandler, ...]
    adapter: Adapter | None
    context: Mapping[str, Any]
    detect_zero_output: bool
    detect_truncation: bool
    clock: Clock
    stream_id: str
    keep_raw: bool
    breaker: CircuitBreaker | None = None
    breaker_keys: tuple[str | None, ...] = ()
    """One key per source (``keys=``), for the breaker and the retry budget."""
    retry_budget: RetryBudget | None = None


_DEFAULT_RETRY = Retry()
_DEFAULT_TIMEOUT = Timeout()
_DEFAULT_INTERVALS = CheckIntervals()


def _typed(name: str, value: Any, cls: type, default: Any) -> Any:
    if value is None:
        return default
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be an l0.{cls.__name__}, got {type(value).__name__}")
    return value


def _guardrails(value: Any) -> GuardrailHook | None:
    if value is None or value == ():
        return None
    if isinstance(value, GuardrailHook):
        return value
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        rules = list(value)
        if not rules:
            return None
        from l0.guardrails.engine import GuardrailEngine

        return GuardrailEngine(rules)
    raise TypeError(
        "guardrails must be a sequence of rules, a preset or a GuardrailEngine; "
        f"got {type(value).__name__}"
    )


def _drift(value: Any) -> DriftHook | None:
    if value is None or value is False:
        return None
    if value is True:
        from l0.drift import DriftDetector

        detector: DriftHook = DriftDetector()
        return detector
    if isinstance(value, DriftHook):
        return value
    raise TypeError(f"drift must be None, True or a drift detector; got {type(value).__name__}")


def _continuation(value: Any) -> Continuation | None:
    if value is None or value is False:
        return None
    if value is True:
        return Continuation()
    if isinstance(value, Continuation):
        return value
    raise TypeError(f"continuation must be a bool or l0.Continuation; got {type(value).__name__}")


def _adapter(value: Any) -> Adapter | None:
    if value is None:
        return None
    if isinstance(value, str):
        from l0.adapters.registry import get_adapter

        return get_adapter(value)
    if isinstance(value, Adapter):
        return value
    raise TypeError(f"adapter must be an adapter name or instance; got {type(value).__name__}")


def _protection(
    breaker: Any, budget: Any, keys: Any, breaker_keys: Any, n_sources: int
) -> tuple[CircuitBreaker | None, RetryBudget | None, tuple[str | None, ...]]:
    """Check ``breaker=``, ``retry_budget=`` and their per-source ``keys=``."""
    if keys is not None and breaker_keys is not None:
        raise ValueError("pass keys= only (breaker_keys= is its older name)")
    name = "keys" if breaker_keys is None else "breaker_keys"
    keys = keys if breaker_keys is None else breaker_keys
    if breaker is None and budget is None:
        if keys is not None:
            raise ValueError(
                f"{name} needs breaker=l0.CircuitBreaker(...) or retry_budget=l0.RetryBudget(...)"
            )
        return None, None, ()
    from l0.breaker import CircuitBreaker
    from l0.budget import RetryBudget

    if breaker is not None and not isinstance(breaker, CircuitBreaker):
        raise TypeError(f"breaker must be an l0.CircuitBreaker, got {type(breaker).__name__}")
    if budget is not None and not isinstance(budget, RetryBudget):
        raise TypeError(f"retry_budget must be an l0.RetryBudget, got {type(budget).__name__}")
    if keys is None:
        raise ValueError(
            f"{'breaker' if breaker is not None else 'retry_budget'} needs keys=[...]: one key "
            "per source (the source's, then each fallback's), e.g. model names"
        )
    if isinstance(keys, (str, bytes)) or not isinstance(keys, Sequence):
        raise TypeError(f"{name} must be a sequence of keys: the source's, then each fallback's")
    if len(keys) != n_sources:
        raise ValueError(
            f"{name} must have one key per source ({n_sources}: the source, then each "
            f"fallback), got {len(keys)}"
        )
    for i, key in enumerate(keys):
        if key is not None and (not isinstance(key, str) or not key):
            raise TypeError(f"{name}[{i}] must be a non-empty str or None, got {key!r}")
    return breaker, budget, tuple(keys)


def build_options(
    source: Any,
    *,
    fallbacks: Sequence[Any] = (),
    retry: Retry | None = None,
    timeout: Timeout | None = None,
    guardrails: Any = (),
    drift: Any = None,
    continuation: Any = False,
    check_intervals: CheckIntervals | None = None,
    on_event: EventHandler | None = None,
    adapter: Any = None,
    context: Mapping[str, Any] | None = None,
    detect_zero_output: bool = True,
    detect_truncation: bool = True,
    clock: Clock | None = None,
    stream_id: str | None = None,
    keep_raw: bool = False,
    callbacks: Mapping[str, EventHandler | None] | None = None,
    breaker: CircuitBreaker | None = None,
    breaker_keys: Sequence[str | None] | None = None,
    retry_budget: RetryBudget | None = None,
    keys: Sequence[str | None] | None = None,
) -> Options:
    """Validate everything; raise ``TypeError``/``ValueError`` naming the bad option."""
    if fallbacks.__class__ is not tuple and (
        isinstance(fallbacks, (str, bytes)) or not isinstance(fallbacks, Sequence)
    ):
        raise TypeError("fallbacks must be a sequence of sources")
    sources = (
        Source(source, "source"),
        *(Source(fb, f"fallbacks[{i}]") for i, fb in enumerate(fallbacks)),
    )
    if context is not None and context.__class__ is not dict and not isinstance(context, Mapping):
        raise TypeError("context must be a mapping")
    if clock is not None and not isinstance(clock, Clock):
        raise TypeError("clock must provide now() and async sleep()")
    checked_breaker, budget, checked_keys = _protection(
        breaker, retry_budget, keys, breaker_keys, len(sources)
    )
    return Options(
        sources=sources,
        retry=_typed("retry", retry, Retry, _DEFAULT_RETRY),
        timeout=_typed("timeout", timeout, Timeout, _DEFAULT_TIMEOUT),
        guardrails=_guardrails(guardrails),
        drift=_drift(drift),
        continuation=_continuation(continuation),
        check_intervals=_typed(
            "check_intervals", check_intervals, CheckIntervals, _DEFAULT_INTERVALS
        ),
        handlers=tuple(build_handlers(on_event, callbacks or {})) if on_event or callbacks else (),
        adapter=_adapter(adapter),
        context=dict(context) if context else {},
        detect_zero_output=bool(detect_zero_output),
        detect_truncation=bool(detect_truncation),
        clock=clock or SYSTEM_CLOCK,
        # An id for correlating events, not a secret (no system call per run): use your own
        # unguessable id where one is exposed, e.g. in a resume URL.
        stream_id=stream_id or f"{random.getrandbits(128):032x}",
        keep_raw=bool(keep_raw),
        breaker=checked_breaker,
        breaker_keys=checked_keys,
        retry_budget=budget,
    )
