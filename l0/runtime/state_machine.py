"""The run status machine; an impossible transition is an l0 bug and raises at once."""

from __future__ import annotations

from collections.abc import Mapping

from l0.errors import ErrorCategory, L0Error
from l0.types import Status

__all__ = ["TRANSITIONS", "StateMachine"]

_S = Status
TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    _S.PENDING: frozenset({_S.ACTIVE, _S.ERRORED, _S.ABORTED}),
    _S.ACTIVE: frozenset({_S.COMPLETING, _S.RETRYING, _S.FALLING_BACK, _S.ERRORED, _S.ABORTED}),
    _S.RETRYING: frozenset({_S.ACTIVE, _S.FALLING_BACK, _S.ERRORED, _S.ABORTED}),
    _S.FALLING_BACK: frozenset({_S.ACTIVE, _S.ERRORED, _S.ABORTED}),
    _S.COMPLETING: frozenset({_S.COMPLETED, _S.RETRYING, _S.FALLING_BACK, _S.ERRORED, _S.ABORTED}),
    _S.COMPLETED: frozenset(),
    _S.ERRORED: frozenset(),
    _S.ABORTED: frozenset(),
}
"""Allowed moves. COMPLETED, ERRORED and ABORTED are terminal."""


class StateMachine:
    """Tracks the current :class:`Status`; records every move in ``history``."""

    __slots__ = ("history", "status")

    def __init__(self) -> None:
        self.status = Status.PENDING
        self.history: list[Status] = [Status.PENDING]

    @property
    def done(self) -> bool:
        """True in a terminal status."""
        return not TRANSITIONS[self.status]

    def to(self, new: Status) -> None:
        """Move to ``new``.

        Raises:
            L0Error: (category internal) when the move is not allowed.
        """
        if new not in TRANSITIONS[self.status]:
            raise L0Error(
                f"invalid run transition {self.status.value} -> {new.value}",
                category=ErrorCategory.INTERNAL,
            )
        self.status = new
        self.history.append(new)
