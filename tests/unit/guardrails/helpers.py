"""Drive rules the way the runtime does: deltas, then one final check."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from l0.guardrails import GuardrailEngine, Rule, Violation
from l0.types import State


def feed(
    rule: Rule | GuardrailEngine, chunks: Iterable[str], *, final: bool = True
) -> list[Violation]:
    """Every violation ``rule`` reports over ``chunks`` (each a delta), then the final check."""
    state = State()
    found: list[Violation] = []
    for chunk in chunks:
        state._parts.append(chunk)
        result = rule.check(chunk, state, final=False)
        assert isinstance(result, Sequence)
        found.extend(result)
    if final:
        result = rule.check("", state, final=True)
        assert isinstance(result, Sequence)
        found.extend(result)
    return found


def split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def rules_of(violations: Iterable[Violation]) -> list[str]:
    return [v.rule for v in violations]
