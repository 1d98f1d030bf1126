"""The data l0 hands around: stream events, state, results and option objects.

Every concept is defined once, here, as a slotted dataclass. Options are frozen and validated
on construction (a bad value raises :class:`ValueError` naming the field); the per-token
:class:`Event` and the live :class:`State` are mutable slotted classes because they are built
or updated once per token and a frozen dataclass costs about twice as much to build.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from enum import Enum
from types import MappingProxyType
from typing import Any

from l0.policy import (  # re-exported: the option types live in l0.policy
    BackoffName,
    CheckIntervals,
    Continuation,
    Retry,
    Timeout,
)

__all__ = [
    "Attempt",
    "BackoffName",
    "CheckIntervals",
    "Continuation",
    "Event",
    "EventType",
    "ObservabilityEvent",
    "Result",
    "Retry",
    "State",
    "Status",
    "Telemetry",
    "Timeout",
    "ToolCall",
    "Usage",
]


class EventType(str, Enum):
    """What a stream :class:`Event` carries."""

    TOKEN = "token"
    """A piece of answer text (``Event.text``). Provider adapters never emit empty pieces; a
    plain ``str`` source's chunks pass through as they come."""
    MESSAGE = "message"
    """A whole non-token message (``Event.data``), e.g. a tool result relayed by a source."""
    DATA = "data"
    """A non-text payload (``Event.data``): images, audio, provider extras."""
    PROGRESS = "progress"
    """Liveness without answer text: reasoning/thinking deltas, keepalives (``Event.data``)."""
    TOOL_CALL = "tool_call"
    """One completed tool call (``Event.data`` is a :class:`ToolCall`)."""
    RESET = "reset"
    """Discard text already shown: a restart could not continue from it (``Event.data`` has
    ``discard``, the number of characters to drop)."""
    ERROR = "error"
    """A terminal error (``Event.error``), yielded just before the stream raises it."""
    COMPLETE = "complete"
    """The stream finished; ``Event.data`` is the :class:`Result`."""


class Event:
    """One item of an l0 stream.

    Built once per token, so it is a plain slotted class (not frozen): treat it as read-only.

    Attributes:
        type: What the event carries.
        text: The token text for ``TOKEN`` events, else ``None``.
        data: The payload of non-text events (a :class:`ToolCall`, a dict, the :class:`Result`).
        error: The error of an ``ERROR`` event.
        ts: Monotonic seconds (``time.monotonic()`` unless a clock is injected) when the event
            was produced; ``0.0`` on the plain-text tokens l0 does not timestamp (those
            between checks, unless an explicit ``timeout=`` stall deadline needs each one's
            time: a clock read can cost more than the rest of a token's path).
    """

    __slots__ = ("data", "error", "text", "ts", "type")

    def __init__(
        self,
        type: EventType,
        text: str | None = None,
        data: Any = None,
        error: BaseException | None = None,
        ts: float = 0.0,
    ) -> None:
        self.type = type
        self.text = text
        self.data = data
        self.error = error
        self.ts = ts

    def __repr__(self) -> str:
        body = repr(self.text) if self.type is EventType.TOKEN else repr(self.data or self.error)
        return f"Event({self.type.value}, {body})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return (self.type, self.text, self.data, self.error, self.ts) == (
            other.type,
            other.text,
            other.data,
            other.error,
            other.ts,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable: not hashable

    @property
    def is_token(self) -> bool:
        """True for ``TOKEN`` events."""
        return self.type is EventType.TOKEN


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A completed tool call assembled from streamed deltas.

    Attributes:
        id: The provider's call id.
        name: The tool (function) name.
        arguments: The parsed JSON arguments, or ``None`` if they were not valid JSON.
        raw_arguments: The argument text exactly as streamed.
        index: The call's position among the calls of one response.
    """

    id: str
    name: str
    arguments: Any
    raw_arguments: str = ""
    index: int = 0


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage reported by the provider (``None`` where it said nothing)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


class Status(str, Enum):
    """The runtime state machine's states (see :mod:`l0.runtime.state_machine`)."""

    PENDING = "pending"
    ACTIVE = "active"
    RETRYING = "retrying"
    FALLING_BACK = "falling_back"
    COMPLETING = "completing"
    COMPLETED = "completed"
    ERRORED = "errored"
    ABORTED = "aborted"


class State:
    """Live state of one l0 stream, updated as tokens arrive.

    ``content`` is accumulated in O(1) amortised per token and joined only when read.
    ``token_count`` (and, without an explicit stall timeout, ``last_token_at``) is kept in a
    local of the hot loop and written back at every check and at the end of each attempt, so
    in between it may lag (until the attempt ends when no check is configured).
    ``checkpoint`` is the last known-good text: the delivered text a continued attempt
    resumes from, and after a successful run the whole answer (it passed its final checks);
    empty after a reset.
    """

    __slots__ = (
        "_joined",
        "_joined_n",
        "_parts",
        "checkpoint",
        "completed",
        "drift_detected",
        "duration",
        "fallback_index",
        "first_token_at",
        "last_token_at",
        "model_retry_count",
        "network_retry_count",
        "resume_point",
        "resumed",
        "started_at",
        "token_count",
        "violations",
    )

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._joined = ""
        self._joined_n = 0
        self.checkpoint = ""
        self.token_count = 0
        self.model_retry_count = 0
        self.network_retry_count = 0
        self.fallback_index = 0
        self.violations: list[Any] = []
        self.drift_detected = False
        self.completed = False
        self.started_at: float | None = None
        self.first_token_at: float | None = None
        self.last_token_at: float | None = None
        self.duration: float | None = None
        self.resumed = False
        self.resume_point: int | None = None

    @property
    def content(self) -> str:
        """The text of the current answer so far (the checkpoint included when resumed).

        Joined on read and cached until more text arrives; the pieces are never merged in
        place, so readers never disturb the runtime's incremental checks.
        """
        n = len(self._parts)
        if n != self._joined_n:
            done = self._joined_n
            tail = "".join(self._parts[done:]) if n > done else None
            self._joined = self._joined + tail if tail is not None else "".join(self._parts)
            self._joined_n = n
        return self._joined

    def clear_content(self) -> None:
        """Drop the text (a restart that cannot continue)."""
        self._parts.clear()
        self._joined = ""
        self._joined_n = 0

    def __repr__(self) -> str:
        return (
            f"State(tokens={self.token_count}, chars={len(self.content)}, "
            f"retries={self.model_retry_count}+{self.network_retry_count}, "
            f"fallback={self.fallback_index}, completed={self.completed})"
        )


@dataclass(slots=True)
class Telemetry:
    """Timings and counters of one l0 run (seconds, monotonic clock).

    ``handler_errors`` counts the exceptions raised by ``on_event`` handlers and ``on_*``
    callbacks during the run (each logged, never breaking the stream); it is final once
    ``SESSION_END`` was delivered.
    """

    stream_id: str
    started_at: float
    ended_at: float | None = None
    duration: float | None = None
    time_to_first_token: float | None = None
    tokens_per_second: float | None = None
    token_count: int = 0
    attempts: int = 0
    retries: int = 0
    network_retries: int = 0
    model_retries: int = 0
    fallbacks: int = 0
    errors_by_category: dict[str, int] = field(default_factory=dict)
    violations: int = 0
    handler_errors: int = 0
    loop_lag: float | None = None
    """The most seconds a watchdog timer fired late (the event loop was blocked), when over
    the reporting threshold; ``None`` when no lag was seen."""


@dataclass(slots=True)
class Result:
    """What an l0 run produced.

    Attributes:
        text: The final answer text, exactly once (no duplicated or lost span).
        state: The final :class:`State`.
        telemetry: Timings and counters.
        tool_calls: Completed tool calls of the final attempt.
        usage: Provider token usage of the final attempt, when reported.
        finish_reason: The provider's finish/stop reason, when reported.
        errors: Every error met on the way, retried ones included.
        fallback_index: 0 for the primary source, ``n`` for ``fallbacks[n - 1]``.
    """

    text: str
    state: State
    telemetry: Telemetry
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None
    errors: list[BaseException] = field(default_factory=list)
    fallback_index: int = 0


Message = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Attempt:
    """What a source factory is told about the attempt it is starting.

    Attributes:
        number: 1 for the first attempt of the run, counting every retry and fallback.
        retry_count: Retries already made on the current source.
        fallback_index: 0 for the primary source, ``n`` for ``fallbacks[n - 1]``.
        checkpoint: The text this attempt should continue from (empty unless continuation
            is on and text was delivered): the delivered text minus :attr:`held_back`.
        held_back: The end of the delivered text that l0 did not send back; the provider
            is expected to write it again, and l0 aligns the resumed stream against it so
            nothing is doubled or lost. Empty checkpoint with a non-empty ``held_back``: the
            text was too repetitive to cut safely, so the attempt restarts the answer.
        is_retry: True when this source was already tried in this run.
        is_fallback: True when this is a fallback source.
        continuation: The continuation settings, when continuation is on.
    """

    number: int = 1
    retry_count: int = 0
    fallback_index: int = 0
    checkpoint: str = ""
    is_retry: bool = False
    is_fallback: bool = False
    continuation: Continuation | None = None
    held_back: str = ""

    @property
    def is_continuation(self) -> bool:
        """True when this attempt should continue from :attr:`checkpoint`."""
        return bool(self.checkpoint)

    def continuation_messages(self, messages: Sequence[Message]) -> list[dict[str, Any]]:
        """Return ``messages`` set up to continue from the checkpoint.

        The checkpoint is appended as a trailing assistant message (assistant-prefix form:
        Anthropic continues it natively, most OpenAI-compatible models follow it), without
        its trailing whitespace, which Anthropic rejects in a final assistant turn (l0 drops
        that whitespace again when the model restates it). When the continuation settings
        carry a ``prompt``, it follows as a user message. Without a checkpoint the messages
        are returned unchanged (as a new list).
        """
        out = [dict(m) for m in messages]
        prefix = self.checkpoint.rstrip()
        if not prefix:
            return out
        out.append({"role": "assistant", "content": prefix})
        prompt = self.continuation.prompt if self.continuation else None
        if prompt:
            out.append({"role": "user", "content": prompt})
        return out


_EMPTY_CONTEXT: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ObservabilityEvent:
    """One lifecycle event delivered to ``on_event`` (names and payloads: :mod:`l0.events`).

    Attributes:
        name: The event name, e.g. ``"RETRY_ATTEMPT"``.
        ts: Monotonic seconds when it happened.
        stream_id: The id of the run it belongs to.
        attempt: The attempt number it belongs to (0 before the first attempt starts).
        seq: Position in the run's event sequence (0-based, gap-free).
        data: The event's fields.
        context: The run's ``context`` (deep-copied and read-only; the same on every event
            of the run; empty when none was given).
    """

    name: str
    ts: float
    stream_id: str
    attempt: int
    seq: int
    data: Mapping[str, Any] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=lambda: _EMPTY_CONTEXT)

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON-safe data (``json.dumps`` takes it as is).

        ``data`` and ``context`` values become plain JSON: enums their value, errors
        ``{"__": "error", "type", "message", ...}`` (an :class:`l0.L0Error` adds its
        ``to_dict()``), dataclasses (``Result``, ``Usage``, ``Telemetry``, ``ToolCall``,
        ``Violation``) their fields tagged ``"__": <class name>``, tuples and sets lists, and
        anything else ``{"__": <class name>, "repr": ...}``. Never a traceback.
        """
        return {
            "name": self.name,
            "ts": self.ts,
            "stream_id": self.stream_id,
            "attempt": self.attempt,
            "seq": self.seq,
            "data": _jsonable(self.data),
            "context": _jsonable(self.context),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ObservabilityEvent:
        """The event :meth:`to_dict` wrote (after a JSON round trip too).

        Values stay the plain data :meth:`to_dict` made of them (a ``Result`` stays its
        tagged dict), so ``from_dict(e.to_dict()).to_dict() == e.to_dict()`` for every event.

        Raises:
            ValueError: When a field is missing or has the wrong type.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"ObservabilityEvent.from_dict() takes a mapping, got {data!r}")
        for key, kind in _EVENT_FIELDS.items():
            if key not in data:
                raise ValueError(f"ObservabilityEvent.from_dict(): missing field {key!r}")
            value = data[key]
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ValueError(
                    f"ObservabilityEvent.from_dict(): field {key!r} must be "
                    f"{' or '.join(k.__name__ for k in kind)}, got {value!r}"
                )
        payload, context = data.get("data") or {}, data.get("context") or {}
        if not isinstance(payload, Mapping) or not isinstance(context, Mapping):
            raise ValueError("ObservabilityEvent.from_dict(): data and context must be mappings")
        return cls(
            name=data["name"],
            ts=float(data["ts"]),
            stream_id=data["stream_id"],
            attempt=data["attempt"],
            seq=data["seq"],
            data=dict(payload),
            context=MappingProxyType(dict(context)) if context else _EMPTY_CONTEXT,
        )


_EVENT_FIELDS: Mapping[str, tuple[type, ...]] = {
    "name": (str,),
    "ts": (int, float),
    "stream_id": (str,),
    "attempt": (int,),
    "seq": (int,),
}


def _jsonable(value: Any) -> Any:
    """``value`` as JSON-safe data (see :meth:`ObservabilityEvent.to_dict`)."""
    if value is None or value.__class__ in (bool, int, float, str):
        return value
    if isinstance(value, Enum):
        return _jsonable(value.value)
    if isinstance(value, (bool, int, float, str)):  # subclasses
        return _builtin(value)(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [_jsonable(v) for v in items]
    if isinstance(value, BaseException):
        out: dict[str, Any] = {"__": "error", "type": type(value).__name__, "message": str(value)}
        to_dict = getattr(value, "to_dict", None)
        if callable(to_dict):
            out.update(_jsonable(to_dict()))
        return out
    if is_dataclass(value) and not isinstance(value, type):
        fields_out: dict[str, Any] = {"__": type(value).__name__}
        for f in fields(value):
            fields_out[f.name] = _jsonable(getattr(value, f.name))
        return fields_out
    return {"__": type(value).__name__, "repr": repr(value)}


def _builtin(value: bool | int | float | str) -> type:
    """The builtin type behind a subclass instance (``bool`` before ``int``)."""
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind
    raise TypeError(value)  # pragma: no cover
