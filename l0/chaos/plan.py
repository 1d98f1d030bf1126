"""Fault plans: what the chaos server does to each response, parsed from a small text syntax.

A plan is a list of :class:`Fault` objects consumed in order, one per request (the first
request gets the first fault, …); once it runs out every request gets the server's ``then``
fault (``ok`` by default). A request can bypass the plan with an ``x-l0-chaos`` header.

Syntax: comma-separated ``key`` or ``key=value`` items. A *kind* key (``ok``, ``status``,
``drop_after_tokens``, …) starts a new fault once the current one has a kind; a *modifier*
(``slow``, ``retry_after``, ``keepalive``, …) applies to the fault being built. ``;`` always
starts a new fault. So ``drop_after_tokens=20,ok`` is two faults, ``status=429,retry_after=2``
is one, and ``slow=0.05,drop_after_tokens=5; ok`` is a slow drop followed by a clean answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Literal

__all__ = ["KINDS", "MODIFIERS", "Fault", "FaultKind", "PlanLike", "parse_fault", "parse_plan"]

FaultKind = Literal[
    "ok",
    "drop",
    "stall",
    "status",
    "malformed",
    "truncate",
    "inband_error",
    "empty",
]


@dataclass(frozen=True, slots=True)
class Fault:
    """One response's misbehaviour.

    Attributes:
        kind: ``ok`` (a clean answer), ``drop`` (abrupt close), ``stall`` (hold the connection,
            send nothing), ``status`` (an HTTP error), ``malformed`` (an invalid JSON data
            line), ``truncate`` (a clean end of body without the protocol's end marker),
            ``inband_error`` (an error event inside a 200 stream) or ``empty`` (a complete
            stream with no content).
        after_tokens: For token-counted kinds: content tokens written before the fault acts.
        after_bytes: For ``drop``/``stall``: response body bytes written before it acts (the
            cut may fall inside an SSE event or inside the headers' following chunk).
        status: The HTTP status of a ``status`` fault.
        retry_after: Seconds sent in ``Retry-After`` (``status`` faults and in-band errors).
        slow: Seconds to wait before each content token.
        delay: Seconds to wait before sending the response headers.
        keepalive: Seconds between keepalives while stalled (``: keepalive`` SSE comments for
            OpenAI, ``ping`` events for Anthropic); they carry no content.
        stall_for: How long a stall lasts before the stream resumes (default: until the client
            leaves or the server stops).
        close: How a ``drop`` closes the TCP connection: ``rst`` (reset, SO_LINGER 0) or
            ``fin`` (orderly close before the body is complete).
        error_type: The provider error type of a ``status`` or ``inband_error`` fault (default
            by status and protocol, e.g. ``overloaded_error``).
        echo_key: Echo the request's credentials (``Authorization``, ``x-api-key`` and any
            header named like a key, token, secret or auth) back, as a careless provider
            does: in the error message (``body``), in an ``x-echoed-credential`` response
            header (``header``) or ``both``. Tests that l0 never passes a key on.
    """

    kind: FaultKind = "ok"
    after_tokens: int | None = None
    after_bytes: int | None = None
    status: int | None = None
    retry_after: float | None = None
    slow: float = 0.0
    delay: float = 0.0
    keepalive: float | None = None
    stall_for: float | None = None
    close: Literal["rst", "fin"] = "rst"
    error_type: str | None = None
    echo_key: Literal["body", "header", "both"] | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KIND_NAMES:
            raise ValueError(
                f"Fault.kind must be one of {', '.join(_KIND_NAMES)}, not {self.kind!r}"
            )
        for name in ("after_tokens", "after_bytes"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise ValueError(f"Fault.{name} must be an int >= 0, got {value!r}")
        for name in ("retry_after", "slow", "delay", "keepalive", "stall_for"):
            _check_seconds(name, getattr(self, name))
        if self.keepalive == 0:
            raise ValueError("Fault.keepalive must be > 0 seconds")
        if self.echo_key not in (None, "body", "header", "both"):
            raise ValueError(
                f"Fault.echo_key must be 'body', 'header' or 'both', got {self.echo_key!r}"
            )
        if self.close not in ("rst", "fin"):
            raise ValueError(f"Fault.close must be 'rst' or 'fin', got {self.close!r}")
        if self.kind == "status" and (
            isinstance(self.status, bool)
            or not isinstance(self.status, int)
            or not 400 <= self.status <= 599
        ):
            raise ValueError(f"a status fault needs status=400..599, got {self.status!r}")
        if self.kind in ("drop", "stall") and (self.after_tokens is None) == (
            self.after_bytes is None
        ):
            raise ValueError(f"a {self.kind} fault needs exactly one of after_tokens, after_bytes")
        if self.error_type is not None and not _IDENT.fullmatch(self.error_type):
            raise ValueError(f"Fault.error_type must be an identifier, got {self.error_type!r}")

    def __str__(self) -> str:
        """The fault in plan syntax (``parse_fault(str(f)) == f``)."""
        head = _KIND_TO_KEY[self.kind](self)
        mods = [
            f"{key}={_fmt(getattr(self, key))}"
            for key in MODIFIERS
            if getattr(self, key) != _DEFAULTS[key]
        ]
        return ",".join([head, *mods])


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KIND_NAMES = ("ok", "drop", "stall", "status", "malformed", "truncate", "inband_error", "empty")

KINDS: dict[str, tuple[FaultKind, str | None, bool]] = {
    # key: (kind, field the value goes to, whether the value is required)
    "ok": ("ok", None, False),
    "empty": ("empty", None, False),
    "status": ("status", "status", True),
    "drop_after_tokens": ("drop", "after_tokens", True),
    "drop_after_bytes": ("drop", "after_bytes", True),
    "stall_after_tokens": ("stall", "after_tokens", True),
    "stall_after_bytes": ("stall", "after_bytes", True),
    "malformed_after_tokens": ("malformed", "after_tokens", True),
    "truncate_after_tokens": ("truncate", "after_tokens", True),
    "inband_error": ("inband_error", "after_tokens", False),
}
"""Plan keys that start a fault: key -> (kind, field set by the value, value required)."""

MODIFIERS: tuple[str, ...] = (
    "retry_after",
    "slow",
    "delay",
    "keepalive",
    "stall_for",
    "close",
    "error_type",
    "echo_key",
)
"""Plan keys that adjust the fault being built."""

_DEFAULTS = {f.name: f.default for f in fields(Fault)}
_INT_FIELDS = frozenset({"after_tokens", "after_bytes", "status"})
_STR_FIELDS = frozenset({"close", "error_type", "echo_key"})

_KIND_TO_KEY: dict[str, Callable[[Fault], str]] = {
    "ok": lambda f: "ok",
    "empty": lambda f: "empty",
    "status": lambda f: f"status={f.status}",
    "drop": lambda f: _counted("drop", f),
    "stall": lambda f: _counted("stall", f),
    "malformed": lambda f: f"malformed_after_tokens={f.after_tokens or 0}",
    "truncate": lambda f: f"truncate_after_tokens={f.after_tokens or 0}",
    "inband_error": lambda f: f"inband_error={f.after_tokens or 0}",
}

PlanLike = str | Fault | Iterable[str | Fault] | None
"""What ``plan=`` accepts: a plan string, one fault, or a sequence of either."""


def _counted(prefix: str, f: Fault) -> str:
    if f.after_bytes is not None:
        return f"{prefix}_after_bytes={f.after_bytes}"
    return f"{prefix}_after_tokens={f.after_tokens}"


def _fmt(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_seconds(name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"Fault.{name} must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"Fault.{name} must be a finite number of seconds >= 0, got {value!r}")


def _convert(key: str, field: str, raw: str) -> object:
    try:
        if field in _INT_FIELDS:
            return int(raw)
        if field in _STR_FIELDS:
            return raw
        return float(raw)
    except ValueError:
        kind = "an int" if field in _INT_FIELDS else "a number"
        raise ValueError(f"chaos plan: {key}= needs {kind}, got {raw!r}") from None


def _build(items: list[tuple[str, str | None]]) -> list[Fault]:
    """Group parsed ``(key, value)`` items into faults (see the module docstring)."""
    faults: list[Fault] = []
    current: dict[str, object] = {}
    for key, raw in items:
        if key in KINDS:
            if "kind" in current:
                faults.append(Fault(**current))  # type: ignore[arg-type]
                current = {}
            kind, field, required = KINDS[key]
            if required and raw is None:
                raise ValueError(f"chaos plan: {key} needs a value ({key}=N)")
            current["kind"] = kind
            if field is not None:
                current[field] = 0 if raw is None else _convert(key, field, raw)
        elif key in MODIFIERS:
            if raw is None:
                raise ValueError(f"chaos plan: {key} needs a value ({key}=...)")
            if key in current:
                raise ValueError(f"chaos plan: {key} given twice for one fault")
            current[key] = _convert(key, key, raw)
        else:
            known = ", ".join([*KINDS, *MODIFIERS])
            raise ValueError(f"chaos plan: unknown key {key!r} (known: {known})")
    if current:
        faults.append(Fault(**current))  # type: ignore[arg-type]
    return faults


def _items(text: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip().lower().replace("-", "_")
        out.append((key, value.strip() if sep else None))
    return out


def parse_plan(plan: PlanLike) -> list[Fault]:
    """Parse ``plan`` into faults.

    Args:
        plan: A plan string (``"drop_after_tokens=20,ok"``), a :class:`Fault`, or a sequence
            of faults and plan strings (each string may hold several faults); ``None`` is
            an empty plan.

    Raises:
        ValueError: For an unknown key or a bad value, naming it.
        TypeError: For anything that is not a plan.
    """
    if plan is None:
        return []
    if isinstance(plan, Fault):
        return [plan]
    if isinstance(plan, str):
        faults: list[Fault] = []
        for group in plan.split(";"):
            faults.extend(_build(_items(group)))
        return faults
    if not isinstance(plan, Iterable):
        raise TypeError(f"plan must be a str, a Fault or a sequence of them, not {plan!r}")
    out: list[Fault] = []
    for item in plan:
        if not isinstance(item, (str, Fault)):
            raise TypeError(f"plan items must be str or Fault, not {type(item).__name__}")
        out.extend(parse_plan(item))
    return out


def parse_fault(text: str | Fault) -> Fault:
    """Parse exactly one fault (an empty string is ``ok``).

    Raises:
        ValueError: When ``text`` holds more than one fault or is invalid.
    """
    faults = parse_plan(text)
    if len(faults) > 1:
        raise ValueError(f"expected one chaos fault, got {len(faults)} in {text!r}")
    return faults[0] if faults else Fault()
