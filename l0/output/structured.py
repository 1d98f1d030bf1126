"""Structured output: a stream that must end as a valid object (Pydantic or JSON Schema).

:func:`structured` runs the source through :func:`l0.run` with one more guardrail, the schema
check, which runs at the end of each attempt: parse and validate; when the text is not JSON,
auto-correct it (:func:`l0.auto_correct_json`) *before* deciding anything; if it still fails,
report an ``error`` violation. The core turns that violation into a content retry under the
run's full retry policy (network errors, 429s and timeouts are retried as usual, each attempt
starts from an empty buffer, so ``raw`` is always one attempt's text). When the retries run
out, :class:`l0.StructuredOutputError` carries the last raw text, the corrections tried and
the validation errors.

Each retry tells the source what went wrong: a source taking an attempt receives a
:class:`StructuredAttempt` (an :class:`l0.Attempt` with ``validation_errors``,
``previous_raw`` and :meth:`StructuredAttempt.retry_messages`), the way instructor re-asks.

:func:`l0.structured_stream` (:mod:`l0.output.streaming`) runs the same way and yields the
partial objects while the JSON streams in. The schema is a Pydantic type or a JSON Schema
dict (:mod:`l0.output.schema`); :mod:`l0.output.presets` names common settings.

Events (``on_event``): ``STRUCTURED_PARSE_START``, ``STRUCTURED_AUTO_CORRECT``,
``STRUCTURED_VALIDATION_ERROR`` and ``STRUCTURED_VALIDATED``, in line with the run's own
events (one gap-free ``seq``).
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from typing_extensions import Unpack

from l0.errors import GuardrailViolationError, L0Error, RetriesExhaustedError, StructuredOutputError
from l0.events import EventName
from l0.guardrails.engine import GuardrailEngine
from l0.guardrails.hooks import Severity, Violation, ViolationsResult
from l0.output.presets import StructuredPreset, apply_preset
from l0.output.schema import OutputSchema, SchemaMismatchError, output_schema
from l0.runtime.options import Source
from l0.types import Attempt, ObservabilityEvent, Result
from l0.utils.auto_correct import auto_correct_json

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from l0.runtime.options import RunOptions
    from l0.types import State

__all__ = [
    "SchemaCheck",
    "StructuredAttempt",
    "StructuredResult",
    "structured",
]

T = TypeVar("T")

_RULE = "schema"
logger = logging.getLogger("l0")
_NONE: tuple[Violation, ...] = ()


@dataclass(frozen=True, slots=True)
class StructuredResult(Generic[T]):
    """A validated structured answer.

    Attributes:
        data: The validated object.
        raw: The text of the attempt that produced it (never several attempts joined).
        corrected: Whether auto-correct had to repair ``raw``.
        corrections: The repairs applied (labels of :func:`l0.auto_correct_json`).
        result: The underlying :class:`l0.Result` (state, telemetry, errors met).
    """

    data: T
    raw: str
    corrected: bool
    corrections: tuple[str, ...]
    result: Result


@dataclass(frozen=True, slots=True)
class StructuredAttempt(Attempt):
    """The :class:`l0.Attempt` a structured source receives, with the last failure.

    Attributes:
        validation_errors: The previous attempt's validation errors (pydantic error dicts:
            ``type``, ``loc``, ``msg``), empty on the first attempt or after a non-schema
            failure.
        previous_raw: The previous attempt's text when it failed validation.
    """

    validation_errors: tuple[dict[str, Any], ...] = ()
    previous_raw: str = ""

    @property
    def feedback(self) -> str:
        """The validation errors as an instruction for the model ("" when none)."""
        if not self.validation_errors:
            return ""
        lines = [
            f"- {'.'.join(str(p) for p in e.get('loc', ())) or '(root)'}: {e.get('msg', '')}"
            for e in self.validation_errors
        ]
        return (
            "Your previous answer did not match the required JSON schema:\n"
            + "\n".join(lines)
            + "\nAnswer again with only the corrected JSON."
        )

    def retry_messages(self, messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """``messages`` plus the failed answer and the :attr:`feedback`, when there is one."""
        out = self.continuation_messages(messages)
        if self.validation_errors:
            out.append({"role": "assistant", "content": self.previous_raw})
            out.append({"role": "user", "content": self.feedback})
        return out


class _Relay:
    """Forwards the run's events to ``on_event`` and slots structured events in between,
    renumbering ``seq`` so the caller sees one gap-free sequence."""

    def __init__(self, handler: Callable[[ObservabilityEvent], Any]) -> None:
        self.handler = handler
        self.seq = 0
        self.last: ObservabilityEvent | None = None
        self.failures = 0  # structured events the handler raised on (added to the telemetry)

    async def __call__(self, event: ObservabilityEvent) -> None:
        self.last = event
        await self._send(dataclasses.replace(event, seq=self.seq))

    async def emit(self, name: EventName, **data: Any) -> None:
        last = self.last
        if last is None:
            event = ObservabilityEvent(name.value, 0.0, "", 0, self.seq, data)
        else:  # the run's id, attempt, time and context carry over
            event = dataclasses.replace(last, name=name.value, seq=self.seq, data=data)
        try:
            await self._send(event)
        except Exception:  # as for the run's own events: logged, counted, never fatal
            self.failures += 1
            log = logger.exception if self.failures == 1 else logger.debug
            log("l0: on_event handler %r raised on %s", self.handler, name.value)

    async def _send(self, event: ObservabilityEvent) -> None:
        self.seq += 1
        out = self.handler(event)
        if inspect.isawaitable(out):
            await out


class SchemaCheck:
    """The completion rule behind :func:`structured` (one per run).

    It keeps the outcome of the last attempt: ``data`` on success; ``raw``, ``corrections``
    and ``errors`` always.
    """

    name = _RULE
    lookahead = 0  # judges the whole answer at the end: nothing to hold back while streaming

    def __init__(
        self, schema: OutputSchema, *, auto_correct: bool, strict: bool, relay: _Relay | None
    ) -> None:
        self.schema = schema
        self.auto_correct = auto_correct and not strict
        self.strict = strict
        self.relay = relay
        self.ok = False
        self.data: Any = None
        self.raw = ""
        self.corrections: tuple[str, ...] = ()
        self.errors: tuple[dict[str, Any], ...] = ()
        self.failures = 0

    def reset(self) -> None:
        """A new attempt starts from empty text (the outcome of the last one is kept)."""

    def check(self, delta: str, state: State, *, final: bool) -> ViolationsResult:
        """Nothing while streaming; at the end validate (an awaitable of the violations)."""
        if not final:
            return _NONE
        return self.validate(state.content)

    async def validate(self, text: str) -> Sequence[Violation]:
        """Parse, auto-correct if needed, validate; record the outcome.

        Never raises on any text: a repair that gives up or a parser that fails in an
        unexpected way is a failed validation (an ``error`` violation the core retries).
        """
        self.raw, self.ok, self.data, self.corrections, self.errors = text, False, None, (), ()
        await self._emit(EventName.STRUCTURED_PARSE_START, length=len(text))
        try:
            try:
                data = self.schema.validate_json(text, strict=self.strict)
            except SchemaMismatchError as exc:
                if not (self.auto_correct and exc.syntax):
                    return await self._failed(exc.errors)
                fixed = auto_correct_json(text)
                self.corrections = fixed.corrections
                await self._emit(
                    EventName.STRUCTURED_AUTO_CORRECT,
                    corrections=fixed.corrections,
                    valid=fixed.valid,
                )
                if not fixed.valid:
                    return await self._failed(exc.errors, repair_failed=True)
                data = self.schema.validate_json(fixed.text, strict=False)
        except SchemaMismatchError as exc:
            return await self._failed(exc.errors)
        except (ValueError, TypeError, RecursionError, MemoryError) as exc:
            error = {"type": "parse_failed", "loc": (), "msg": f"{type(exc).__name__}: {exc}"}
            return await self._failed((error,))
        self.data, self.ok = data, True
        await self._emit(EventName.STRUCTURED_VALIDATED, corrected=bool(self.corrections))
        return _NONE

    async def _failed(
        self, errors: tuple[dict[str, Any], ...], *, repair_failed: bool = False
    ) -> Sequence[Violation]:
        self.failures += 1
        self.errors = errors or ({"type": "invalid", "loc": (), "msg": "invalid output"},)
        await self._emit(EventName.STRUCTURED_VALIDATION_ERROR, errors=self.errors)
        first = self.errors[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "(root)"
        message = f"{len(self.errors)} validation error(s); {where}: {first.get('msg', '')}"
        if repair_failed:
            message += " (auto-correct could not repair it)"
        return (Violation(_RULE, message, Severity.ERROR, True, None),)

    async def _emit(self, name: EventName, **data: Any) -> None:
        if self.relay is not None:
            await self.relay.emit(name, **data)


def _wrap_source(source: Any, label: str, check: SchemaCheck) -> Callable[[Attempt], Any]:
    """The source, called with a :class:`StructuredAttempt` carrying the last failure."""
    norm = Source(source, label)

    def call(attempt: Attempt) -> Any:
        failed = not check.ok and bool(check.errors)
        fields = {f.name: getattr(attempt, f.name) for f in dataclasses.fields(Attempt)}
        return norm(
            StructuredAttempt(
                **fields,
                validation_errors=check.errors if failed else (),
                previous_raw=check.raw if failed else "",
            )
        )

    return call


def prepare(
    model: Any,
    source: Any,
    options: dict[str, Any],
    *,
    auto_correct: bool | None,
    strict: bool | None,
    preset: str | StructuredPreset | None,
) -> tuple[SchemaCheck, Callable[[Attempt], Any], dict[str, Any]]:
    """Shared setup of :func:`structured` and :func:`l0.structured_stream`.

    Returns the schema check, the wrapped source and the options for :func:`l0.run`.

    Raises:
        TypeError: ``model`` is neither a type pydantic can validate nor a JSON Schema, or a
            bad option.
        ValueError: An unknown preset name (the closest one is named).
    """
    auto_correct, strict = apply_preset(preset, options, auto_correct=auto_correct, strict=strict)
    schema = output_schema(model)
    on_event = options.pop("on_event", None)
    relay = _Relay(on_event) if on_event is not None else None
    check = SchemaCheck(schema, auto_correct=auto_correct, strict=strict, relay=relay)
    rules = options.pop("guardrails", ()) or ()
    if isinstance(rules, GuardrailEngine):
        rules = rules.rules
    options["guardrails"] = [*rules, check]
    options["fallbacks"] = [
        _wrap_source(fb, f"fallbacks[{i}]", check)
        for i, fb in enumerate(options.get("fallbacks", ()))
    ]
    if relay is not None:
        options["on_event"] = relay
    return check, _wrap_source(source, "source", check), options


def failure(exc: L0Error, check: SchemaCheck) -> L0Error:
    """The error to raise when the run failed: a :class:`StructuredOutputError` when the last
    failure was the schema check, else ``exc`` itself."""
    last = exc.last_error if isinstance(exc, RetriesExhaustedError) else exc
    if isinstance(last, GuardrailViolationError) and any(
        getattr(v, "rule", None) == _RULE for v in last.violations
    ):
        return StructuredOutputError(
            f"structured output failed validation after {check.failures} attempt(s): "
            f"{last.message}",
            raw=check.raw,
            corrections=check.corrections,
            validation_errors=check.errors,
        )
    return exc


async def structured(
    model: type[T] | TypeAdapter[T] | Any,
    source: Any,
    *,
    auto_correct: bool | None = None,
    strict: bool | None = None,
    preset: str | StructuredPreset | None = None,
    **options: Unpack[RunOptions],
) -> StructuredResult[T]:
    """Run ``source`` until its output validates as ``model``.

    Args:
        model: A Pydantic model, any type a :class:`pydantic.TypeAdapter` accepts
            (``list[Model]``, ``dict[str, int]``, a ``TypedDict``, …), a ``TypeAdapter``, or
            a JSON Schema ``dict`` (validated by ``jsonschema``; the data is then the parsed
            JSON).
        source: As for :func:`l0.run`; a source taking an attempt receives a
            :class:`StructuredAttempt`.
        auto_correct: Repair fenced, prefixed, commented or truncated JSON before deciding to
            retry (default True).
        strict: No repair at all, and pydantic strict validation (no type coercion; default
            False).
        preset: ``"lenient"``, ``"strict"`` or ``"fail_fast"``, or a
            :class:`l0.StructuredPreset` (:mod:`l0.output.presets`): defaults for
            ``auto_correct``, ``strict`` and ``retry``; arguments given explicitly win.
        **options: Every option of :func:`l0.run` (``retry``, ``fallbacks``, ``timeout``,
            ``guardrails``, ``on_event``, …).

    Raises:
        l0.StructuredOutputError: The output never validated (raw text, corrections and
            validation errors attached).
        l0.L0Error: The run failed for another reason (network, timeouts, …).
    """
    from l0.core import run

    check, wrapped, opts = prepare(
        model, source, dict(options), auto_correct=auto_correct, strict=strict, preset=preset
    )
    try:
        result = await run(wrapped, **opts)
    except L0Error as exc:
        err = failure(exc, check)
        if err is exc:
            raise
        raise err from exc
    return success(check, result)


def success(check: SchemaCheck, result: Result) -> StructuredResult[Any]:
    """The result of a run that ended well; a run the schema check did not pass (e.g. a
    guardrail engine that swallowed the check) is a :class:`l0.StructuredOutputError`."""
    if check.relay is not None:
        result.telemetry.handler_errors += check.relay.failures
    if not check.ok:
        raise StructuredOutputError(
            "structured output: the run ended without a validated value",
            raw=check.raw,
            corrections=check.corrections,
            validation_errors=check.errors,
        )
    return StructuredResult(
        check.data, check.raw, bool(check.corrections), check.corrections, result
    )
