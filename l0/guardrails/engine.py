"""Run guardrail rules over a stream, incrementally."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from l0.runtime.hooks import Severity, Violation, ViolationsResult

if TYPE_CHECKING:
    from l0.types import State

__all__ = ["GuardrailEngine", "Rule"]


@runtime_checkable
class Rule(Protocol):
    """A guardrail rule.

    A rule keeps its own scanner state: ``check`` receives only the text added since its
    previous call (``delta``), so a streaming check costs O(delta). ``final=True`` marks the
    completion check, where the rule may look at ``state.content`` as a whole.
    ``check`` may be a coroutine function (async rules).
    """

    name: str

    def reset(self) -> None:
        """Forget scanner state (a new answer starts)."""
        ...

    def check(self, delta: str, state: State, *, final: bool) -> ViolationsResult:
        """Return the violations found in ``delta`` (and, when final, in the whole output)."""
        ...


class GuardrailEngine:
    """Runs a list of rules; implements :class:`l0.runtime.hooks.GuardrailHook`.

    Args:
        rules: The rules, checked in order.
        stop_on_fatal: Stop checking the remaining rules after a fatal violation.
    """

    def __init__(self, rules: Iterable[Rule], *, stop_on_fatal: bool = True) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        for rule in self.rules:
            if not isinstance(rule, Rule):
                raise TypeError(
                    f"{rule!r} is not a guardrail rule: it needs a name, reset() and check()"
                )
        self.stop_on_fatal = stop_on_fatal

    def reset(self) -> None:
        """Reset every rule."""
        for rule in self.rules:
            rule.reset()

    async def check(self, delta: str, state: State, *, final: bool) -> Sequence[Violation]:
        """Run every rule on ``delta``; collect their violations."""
        found: list[Violation] = []
        for rule in self.rules:
            result = rule.check(delta, state, final=final)
            if inspect.isawaitable(result):
                result = await result
            found.extend(result)
            if self.stop_on_fatal and any(v.severity is Severity.FATAL for v in result):
                break
        return found
