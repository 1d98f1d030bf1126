"""Run guardrail rules over a stream, incrementally.

The engine is the :class:`~l0.guardrails.hooks.GuardrailHook` the attempt loop calls. When every
rule answers synchronously it answers synchronously too (a plain sequence, no coroutine), so a
streaming check costs a few method calls; a rule returning an awaitable (an ``async def``
check) switches that one call to an awaitable result.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from l0.guardrails.hooks import Severity, Violation, ViolationsResult, blocks, lookahead_of

if TYPE_CHECKING:
    from l0.types import State

__all__ = ["GuardrailEngine", "Rule"]

logger = logging.getLogger("l0")

_NONE: tuple[Violation, ...] = ()


@runtime_checkable
class Rule(Protocol):
    """A guardrail rule.

    A rule keeps its own scanner state: ``check`` receives only the text added since its
    previous call (``delta``), so a streaming check costs O(delta). ``final=True`` marks the
    completion check, where the rule may look at ``state.content`` as a whole.
    ``check`` may be a coroutine function (async rules).

    Optional attributes used by the ``checked`` release policy (docs/what-your-user-sees.md):
    ``lookahead`` (characters: once ``check`` has seen text ending at ``F`` without a
    violation, no violation can involve a character before ``F - lookahead``; default
    :data:`~l0.guardrails.hooks.DEFAULT_LOOKAHEAD`) and ``blocking`` (``False`` when the rule
    only ever reports warnings; default ``True``).
    """

    name: str

    def reset(self) -> None:
        """Forget scanner state (a new answer starts)."""
        ...

    def check(self, delta: str, state: State, *, final: bool) -> ViolationsResult:
        """Return the violations found in ``delta`` (and, when final, in the whole output)."""
        ...


class GuardrailEngine:
    """Runs a list of rules; implements :class:`l0.guardrails.hooks.GuardrailHook`.

    A rule that raises does not break the stream: its exception is logged on the ``l0``
    logger and reported as a ``warning`` violation of that rule.

    Args:
        rules: The rules, checked in order.
        stop_on_fatal: Stop checking the remaining rules after a fatal violation.

    Raises:
        TypeError: An item of ``rules`` is not a rule.
    """

    def __init__(self, rules: Iterable[Rule], *, stop_on_fatal: bool = True) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        for rule in self.rules:
            # Duck-typed (a runtime Protocol isinstance costs ~10 µs per rule, per run).
            if not (
                isinstance(getattr(rule, "name", None), str)
                and callable(getattr(rule, "check", None))
                and callable(getattr(rule, "reset", None))
            ):
                raise TypeError(
                    f"{rule!r} is not a guardrail rule: it needs a name, reset() and check()"
                )
        self.stop_on_fatal = stop_on_fatal
        blocking = [rule for rule in self.rules if blocks(rule)]
        self.blocking: bool = bool(blocking)
        """Whether any rule can reject text (has an ``error`` or ``fatal`` check)."""
        self.lookahead: int = max(map(lookahead_of, blocking), default=0)
        """Characters the ``checked`` release holds back: the largest look-ahead among the
        rules that can reject text."""

    def reset(self) -> None:
        """Reset every rule."""
        for rule in self.rules:
            rule.reset()

    def check(self, delta: str, state: State, *, final: bool) -> ViolationsResult:
        """Run every rule on ``delta``; their violations (or an awaitable of them)."""
        found: list[Violation] | None = None
        for i, rule in enumerate(self.rules):
            try:
                result = rule.check(delta, state, final=final)
            except Exception as exc:
                result = (_crashed(rule, exc),)
            if result.__class__ is not tuple and not isinstance(result, Sequence):
                return self._finish(result, i, found or [], delta, state, final)
            if result:
                if found is None:
                    found = []
                found.extend(result)
                if self.stop_on_fatal and _has_fatal(result):
                    break
        return found or _NONE

    async def _finish(
        self,
        pending: Awaitable[Sequence[Violation]],
        index: int,
        found: list[Violation],
        delta: str,
        state: State,
        final: bool,
    ) -> Sequence[Violation]:
        """The rest of :meth:`check` once a rule answered with an awaitable."""
        rules = self.rules
        for i in range(index, len(rules)):
            try:
                result = pending if i == index else rules[i].check(delta, state, final=final)
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:
                result = (_crashed(rules[i], exc),)
            found.extend(result)
            if self.stop_on_fatal and _has_fatal(result):
                break
        return found


def _has_fatal(violations: Sequence[Violation]) -> bool:
    return any(v.severity is Severity.FATAL for v in violations)


def _crashed(rule: Rule, exc: Exception) -> Violation:
    logger.exception("l0: guardrail rule %r raised", getattr(rule, "name", rule))
    return Violation(
        rule=getattr(rule, "name", type(rule).__name__),
        message=f"rule raised {type(exc).__name__}: {exc}",
        severity=Severity.WARNING,
        recoverable=True,
    )
