"""The keyword options of :func:`l0.run` / :func:`l0.stream`: declared once, validated once.

:class:`RunOptions` is the contract every entry point that takes l0 options spells as
``**options: Unpack[RunOptions]`` (so a type checker catches ``fallback=``);
:func:`check_option_names` catches the same mistake at run time, naming the closest valid
option, and :func:`build_options` fails on every other bad input before anything runs.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import random
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from typing_extensions import TypedDict

from l0.adapters.base import Adapter
from l0.errors import ErrorCategory, InvalidStreamError
from l0.guardrails.hooks import DriftHook, GuardrailHook, blocks
from l0.runtime.callbacks import build_handlers
from l0.runtime.events import EventHandler
from l0.runtime.signature import takes_attempt
from l0.runtime.timers import SYSTEM_CLOCK, Clock
from l0.types import Attempt, CheckIntervals, Continuation, Retry, Timeout

logger = logging.getLogger("l0")

if TYPE_CHECKING:
    from l0.breaker import CircuitBreaker
    from l0.budget import RetryBudget
    from l0.hedging import Hedge
    from l0.runtime.recording import Recorder

__all__ = [
    "DEFAULT_TIMEOUT",
    "OPTION_NAMES",
    "RELEASE_POLICIES",
    "Options",
    "RunOptions",
    "Source",
    "StructuredOptions",
    "build_options",
    "check_option_names",
    "new_stream_id",
    "resolve_release",
]


class RunOptions(TypedDict, total=False):
    """The keyword options of :func:`l0.stream`, :func:`l0.run`, :func:`l0.run_sync`,
    :func:`l0.stream_sync` and of every function that passes them on (``l0.structured``,
    ``l0.parallel``, ``l0.race``, ``l0.batched``, ``l0.consensus``, ``l0.pipe``, …).

    Attributes:
        fallbacks: Sources tried in order once a source is exhausted.
        retry: The retry policy (default :class:`l0.Retry()`).
        timeout: Stall and overall deadlines (default :class:`l0.Timeout()`).
        guardrails: Rules or a preset (:mod:`l0.guardrails`).
        drift: ``None`` (off), ``True`` (default detector) or a detector.
        continuation: ``True`` or an :class:`l0.Continuation` to resume retries from the text
            already delivered (the source reads :attr:`l0.Attempt.checkpoint`).
        check_intervals: How often streaming checks run.
        on_event: Receives every :class:`l0.ObservabilityEvent`, in order.
        adapter: An adapter name or instance; detection by type otherwise.
        context: Caller data attached to ``SESSION_START``.
        detect_zero_output: Treat a stream with no content as a retryable error (default on).
        detect_truncation: Treat a stream that ends without its end marker as a retryable
            network error (for providers whose protocol has one; default on).
        keep_raw: Keep every raw provider chunk on the adapter stream (off: memory stays flat).
        clock: Time source and sleeper (tests inject :class:`l0.testing.FakeClock`).
        stream_id: The run's id in events (random by default).
        on_retry: Called with each ``RETRY_ATTEMPT`` event; likewise ``on_start``
            (``ATTEMPT_START``: every attempt), ``on_fallback`` (``FALLBACK_START``),
            ``on_checkpoint`` (``CHECKPOINT_SAVED``), ``on_resume`` (``RESUME_START``),
            ``on_timeout`` (``TIMEOUT_TRIGGERED``), ``on_violation``
            (``GUARDRAIL_RULE_RESULT``), ``on_drift`` (``DRIFT_CHECK_RESULT`` that detected
            drift), ``on_tool_call`` (``TOOL_REQUESTED``), ``on_abort``
            (``ABORT_REQUESTED``), ``on_complete`` (``COMPLETE``) and ``on_error``
            (``ERROR``): :data:`l0.runtime.callbacks.CALLBACK_EVENTS`.
        breaker: An :class:`l0.CircuitBreaker` shared across runs: a source whose circuit is
            open is skipped (:class:`l0.CircuitOpenError`, the next fallback answers) without
            being called; each attempt's outcome is recorded under its key.
        retry_budget: An :class:`l0.RetryBudget` shared across runs: a retry its key's
            bucket refuses becomes the next fallback at once (or
            :class:`l0.RetryBudgetExhaustedError`); successes refill it.
        keys: With ``breaker`` or ``retry_budget``: one key per source, the source's then
            each fallback's (e.g. model names); ``None`` for a source they leave alone.
        breaker_keys: The older name of ``keys``.
        hedge: An :class:`l0.Hedge`: when the first token is late, race a twin attempt (the
            same source or the next fallback); the first to deliver a token wins.
        release: ``"checked"``: no text leaves l0 before every guardrail has passed over it
            (each rule's declared look-ahead is held back, so a violation rejects text the
            consumer never saw); ``"stream"``: text leaves at once and a content restart
            sends ``RESET``. Default: ``"checked"`` when a rule can reject text (severity
            ``error`` or ``fatal``), else ``"stream"`` (docs/what-your-user-sees.md).
        record: Record the run for :func:`l0.replay`: a store (:class:`l0.MemoryStore`,
            :class:`l0.FileStore`, :class:`l0.RedisStore`), a path (a file store) or an
            :class:`l0.Recorder` (key, metadata-only mode); off by default (docs/replay.md).
    """

    fallbacks: Sequence[Any]
    retry: Retry | None
    timeout: Timeout | None
    guardrails: Any
    drift: Any
    continuation: Any
    check_intervals: CheckIntervals | None
    on_event: EventHandler | None
    adapter: Any
    context: Mapping[str, Any] | None
    detect_zero_output: bool
    detect_truncation: bool
    keep_raw: bool
    clock: Clock | None
    stream_id: str | None
    on_start: EventHandler | None
    on_retry: EventHandler | None
    on_fallback: EventHandler | None
    on_checkpoint: EventHandler | None
    on_resume: EventHandler | None
    on_timeout: EventHandler | None
    on_violation: EventHandler | None
    on_drift: EventHandler | None
    on_tool_call: EventHandler | None
    on_abort: EventHandler | None
    on_complete: EventHandler | None
    on_error: EventHandler | None
    breaker: CircuitBreaker | None
    retry_budget: RetryBudget | None
    keys: Sequence[str | None] | None
    breaker_keys: Sequence[str | None] | None
    hedge: Hedge | None
    release: str | None
    record: Any


class StructuredOptions(RunOptions, total=False):
    """:class:`RunOptions` plus the structured-output switches of :func:`l0.structured`
    (what ``l0.consensus(..., model=...)`` passes on).

    Attributes:
        auto_correct: Repair malformed JSON before deciding to retry (default True).
        strict: No repair, and pydantic strict validation.
    """

    auto_correct: bool
    strict: bool


OPTION_NAMES: frozenset[str] = frozenset(RunOptions.__annotations__)
"""Every valid option name."""


def check_option_names(
    options: Mapping[str, Any], where: str, extra: frozenset[str] = frozenset()
) -> None:
    """Raise ``TypeError`` naming the closest valid option for any unknown name.

    Args:
        options: The keyword options as given.
        where: The function they were given to, for the message (``"l0.run"``).
        extra: Names that function takes besides the run options.
    """
    if OPTION_NAMES.issuperset(options):
        return
    valid = OPTION_NAMES | extra
    unknown = [name for name in options if name not in valid]
    if not unknown:
        return
    name = unknown[0]
    close = difflib.get_close_matches(name, sorted(valid), n=1, cutoff=0.6)
    hint = (
        f"; did you mean {close[0]!r}?" if close else f"; valid options: {', '.join(sorted(valid))}"
    )
    raise TypeError(f"{where}() got an unknown option {name!r}{hint}")


class Source:
    """A normalised source: call it with the :class:`Attempt` to get a stream (or awaitable)."""

    __slots__ = ("_fn", "_one_shot", "_takes_attempt", "_used", "kind", "label")

    def __init__(self, source: Any, label: str) -> None:
        self.label = label
        self.kind = ""  # for a one-shot source: what it is, for the messages
        self._used = False
        self._one_shot = False
        # A plain function or lambda (the common case) skips the stream-likeness checks.
        if source.__class__ is types.FunctionType or (
            callable(source) and not _is_stream_like(source)
        ):
            self._fn = source
            self._takes_attempt = takes_attempt(source, label)
        elif getattr(type(source), "l0_resendable", False):
            # A request description l0 sends itself on each attempt (l0.fastlane's): re-sent
            # as it is on a retry (the same messages: use a factory to continue).
            self._fn = lambda: source
            self._takes_attempt = False
        elif _is_stream_like(source) or inspect.isawaitable(source):
            # A ready stream: readable once. Iterables that make a fresh iterator on each
            # iter() (lists, tuples) can be re-read on retry; iterators cannot.
            self._fn = lambda: source
            self._takes_attempt = False
            self._one_shot = not isinstance(source, (list, tuple))
            self.kind = _one_shot_kind(source)
        else:
            raise TypeError(
                f"{label} must be a callable returning a stream (taking no argument or an "
                f"l0.Attempt), or a stream/iterable; got {type(source).__name__}"
            )

    def __call__(self, attempt: Attempt) -> Any:
        if self._one_shot and self._used:
            raise InvalidStreamError(
                f"{self.label} is {self.kind}, read once already: it cannot be retried; "
                f"pass a factory instead ({FACTORY_HINT})",
                category=ErrorCategory.FATAL,
            )
        self._used = True
        return self._fn(attempt) if self._takes_attempt else self._fn()


FACTORY_HINT = "e.g. lambda: client.chat.completions.create(..., stream=True)"


def _one_shot_kind(source: object) -> str:
    """What a ready (non-factory) source is, in the words of the messages."""
    name = getattr(source, "__qualname__", None) or type(source).__qualname__
    if inspect.iscoroutine(source):
        return f"a coroutine object ({name}(...) called, not awaited)"
    if inspect.isasyncgen(source) or inspect.isgenerator(source):
        return f"a generator object ({name}(...) called)"
    return f"a ready stream object ({type(source).__qualname__})"


def warn_one_shot(sources: Sequence[Source], retry: Retry) -> None:
    """Say up front (a WARNING on the ``l0`` logger) that ready streams cannot be retried."""
    if retry.max_retries == 0:
        return  # nothing would re-read it
    for source in sources:
        if source._one_shot:
            logger.warning(
                "l0: %s is %s, not a factory: it is read once, so l0 cannot retry, "
                "continue or hedge it after a failure. Pass a factory instead (%s).",
                source.label,
                source.kind,
                FACTORY_HINT,
            )


def _is_stream_like(obj: object) -> bool:
    if isinstance(obj, type):
        return False  # a class is a factory (``list``), not a stream
    return hasattr(obj, "__aiter__") or (
        hasattr(obj, "__iter__") and not isinstance(obj, (str, bytes, Mapping))
    )


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
    hedge: Hedge | None = None
    release: str = "stream"
    """The resolved release policy: ``"checked"`` or ``"stream"``."""
    record: Recorder | None = None


_DEFAULT_RETRY = Retry()
DEFAULT_TIMEOUT = Timeout()
"""The timeout of a run given no ``timeout=`` (its stalls are watched by sampling)."""
_DEFAULT_INTERVALS = CheckIntervals()


def new_stream_id() -> str:
    """A fresh ``stream_id``: 32 hex digits, for correlating events, not a secret (no system
    call per run): use your own unguessable id where one is exposed, e.g. in a resume URL."""
    return f"{random.getrandbits(128):032x}"


def _typed(name: str, value: Any, cls: type, default: Any) -> Any:
    if value is None:
        return default
    if not isinstance(value, cls):
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        hint = _NUMBER_HINTS.get(name) if number else None
        fix = f" (did you mean {hint.format(value)}?)" if hint else ""
        raise TypeError(f"{name} must be an l0.{cls.__name__}, got {type(value).__name__}{fix}")
    return value


# A bare number where a policy object is expected: the object the user most likely meant.
_NUMBER_HINTS = {
    "retry": "retry=l0.Retry(max_retries={0!r})",
    "timeout": "timeout=l0.Timeout(total={0!r}) or l0.Timeout(inter_token={0!r})",
}


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


def _hedge(value: Any) -> Hedge | None:
    if value is None:
        return None
    from l0.hedging import Hedge

    if not isinstance(value, Hedge):
        raise TypeError(f"hedge must be an l0.Hedge, got {type(value).__name__}")
    return value


RELEASE_POLICIES = ("checked", "stream")
"""The values of ``release=``."""


def resolve_release(value: Any, guardrails: GuardrailHook | None) -> str:
    """Validate ``release=``; ``None`` picks ``"checked"`` when a rule can reject text.

    Raises:
        ValueError: An unknown policy (naming the closest one).
    """
    if value is None:
        return "checked" if guardrails is not None and blocks(guardrails) else "stream"
    if value in RELEASE_POLICIES:
        return str(value)
    close = difflib.get_close_matches(str(value), RELEASE_POLICIES, n=1, cutoff=0.4)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"release must be 'checked' or 'stream', got {value!r}{hint}")


def _record(value: Any, hedge: Any) -> Recorder | None:
    if value is None or value is False:
        return None
    if hedge is not None:
        raise ValueError("record= cannot be combined with hedge= (a hedged run is not replayable)")
    from l0.runtime.recording import coerce_recorder

    return coerce_recorder(value)


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
    hedge: Hedge | None = None,
    release: str | None = None,
    record: Any = None,
    on_start: EventHandler | None = None,
    on_retry: EventHandler | None = None,
    on_fallback: EventHandler | None = None,
    on_checkpoint: EventHandler | None = None,
    on_resume: EventHandler | None = None,
    on_timeout: EventHandler | None = None,
    on_violation: EventHandler | None = None,
    on_drift: EventHandler | None = None,
    on_tool_call: EventHandler | None = None,
    on_abort: EventHandler | None = None,
    on_complete: EventHandler | None = None,
    on_error: EventHandler | None = None,
) -> Options:
    """Validate everything; raise ``TypeError``/``ValueError`` naming the bad option.

    Takes the :class:`RunOptions`; ``callbacks`` maps ``on_*`` names to handlers too.
    """
    named = {
        "on_start": on_start,
        "on_retry": on_retry,
        "on_fallback": on_fallback,
        "on_checkpoint": on_checkpoint,
        "on_resume": on_resume,
        "on_timeout": on_timeout,
        "on_violation": on_violation,
        "on_drift": on_drift,
        "on_tool_call": on_tool_call,
        "on_abort": on_abort,
        "on_complete": on_complete,
        "on_error": on_error,
    }
    if any(handler is not None for handler in named.values()):
        callbacks = {**(callbacks or {}), **{k: v for k, v in named.items() if v is not None}}
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
    hook = _guardrails(guardrails)
    options = Options(
        sources=sources,
        retry=_typed("retry", retry, Retry, _DEFAULT_RETRY),
        timeout=_typed("timeout", timeout, Timeout, DEFAULT_TIMEOUT),
        guardrails=hook,
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
        stream_id=stream_id or new_stream_id(),
        keep_raw=bool(keep_raw),
        breaker=checked_breaker,
        breaker_keys=checked_keys,
        retry_budget=budget,
        hedge=_hedge(hedge),
        release=resolve_release(release, hook),
        record=_record(record, hedge),
    )
    warn_one_shot(sources, options.retry)
    return options
