"""The guardrail and drift vocabulary: the interfaces they plug into the attempt loop with.

The loop calls a :class:`GuardrailHook` every ``CheckIntervals.guardrails`` tokens with the
whole delta since the previous call (so incremental rules see every character), and once more
with ``final=True`` when the source ends. It calls a :class:`DriftHook` the same way every
``CheckIntervals.drift`` tokens. ``reset()`` is called when an attempt restarts from empty
text; a continued attempt keeps the scanners' state, since its text extends the checkpoint.

Outcomes: a ``fatal`` violation stops the stream at once (no retry on that source); an
``error`` violation that is ``recoverable`` triggers a retry counted as a content error; a
``warning`` is only recorded. Drift found by the final check triggers a content retry; drift
found mid-stream is recorded and reported.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from l0.types import State

__all__ = [
    "DEFAULT_LOOKAHEAD",
    "DriftHook",
    "DriftResult",
    "GuardrailHook",
    "Severity",
    "Violation",
    "blocks",
    "lookahead_of",
]

DEFAULT_LOOKAHEAD = 64
"""The look-ahead (characters) assumed for a rule or hook that declares none."""


class Severity(str, Enum):
    """How bad a violation is."""

    WARNING = "warning"
    """Recorded and reported; the stream goes on."""
    ERROR = "error"
    """The output is wrong: retried when ``recoverable``."""
    FATAL = "fatal"
    """Stop now; never retried on the same source."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One guardrail finding.

    Attributes:
        rule: The rule's name.
        message: What is wrong, for humans.
        severity: warning, error or fatal.
        recoverable: Whether a retry may fix it.
        position: Character offset in the output where it was found, if known.
    """

    rule: str
    message: str
    severity: Severity = Severity.ERROR
    recoverable: bool = True
    position: int | None = None


ViolationsResult = Sequence[Violation] | Awaitable[Sequence[Violation]]


@runtime_checkable
class GuardrailHook(Protocol):
    """What the loop needs from a guardrail engine.

    Two optional attributes tell the ``checked`` release policy how to hold text back:
    ``lookahead`` (int): after ``check`` returned nothing with the text fed so far ending at
    ``F``, no violation involving a character before ``F - lookahead`` can still be found;
    ``blocking`` (bool): whether the hook can reject text at all (an ``error`` or ``fatal``
    severity). Absent: :data:`DEFAULT_LOOKAHEAD` and ``True`` (see :func:`lookahead_of`).
    """

    def reset(self) -> None:
        """Forget all scanner state: the next text starts a fresh answer."""
        ...

    def check(self, delta: str, state: State, *, final: bool) -> ViolationsResult:
        """Check ``delta`` (all text since the last call); ``final`` at the end of the stream.

        ``state.content`` is the whole text so far; incremental rules should not need it.
        May return the violations directly or an awaitable of them (async rules).
        """
        ...


@dataclass(frozen=True, slots=True)
class DriftResult:
    """What a drift check found."""

    detected: bool
    types: tuple[str, ...] = ()
    confidence: float = 0.0
    details: str = ""


@runtime_checkable
class DriftHook(Protocol):
    """What the loop needs from a drift detector."""

    def reset(self) -> None:
        """Forget the window: the next text starts a fresh answer."""
        ...

    def check(self, delta: str, *, final: bool) -> DriftResult:
        """Feed ``delta`` (all text since the last call) and report drift (O(window))."""
        ...


def lookahead_of(hook: object) -> int:
    """The look-ahead a rule or hook declares (``lookahead``), else :data:`DEFAULT_LOOKAHEAD`."""
    value = getattr(hook, "lookahead", None)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return DEFAULT_LOOKAHEAD


def blocks(hook: object) -> bool:
    """Whether a rule or hook can reject text: its ``blocking`` attribute, else ``True``
    for a rule of unknown severity (the safe assumption)."""
    value = getattr(hook, "blocking", None)
    return value if isinstance(value, bool) else True
