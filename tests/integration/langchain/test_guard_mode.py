"""Guard mode: ``chain | L0Runnable(guardrails=..., timeout=...)`` watching an upstream."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from langchain_core.messages import AIMessageChunk

import l0
from l0.guardrails import Severity, Violation
from l0.integrations.langchain import L0Runnable
from l0.testing import FakeClock

from .fake_provider import STALL, Script, chat_openai, drain, openai_reply

if TYPE_CHECKING:
    from l0.types import State

pytestmark = pytest.mark.anyio


class Forbidden:
    """A tiny rule: a FATAL violation as soon as ``word`` appears in the output."""

    name = "forbidden"

    def __init__(self, word: str) -> None:
        self.word = word
        self.seen = ""

    def reset(self) -> None:
        self.seen = ""

    lookahead = 0  # reports the word in the very check that completes it

    def check(self, delta: str, state: State, *, final: bool) -> list[Violation]:
        self.seen = (self.seen + delta)[-64:]
        if self.word in self.seen:
            return [Violation(self.name, f"{self.word!r} in output", Severity.FATAL, False)]
        return []


async def test_fatal_rule_stops_the_stream() -> None:
    script = Script(openai_reply("fine", " text", " SECRET", " more", " and more"))
    guard = L0Runnable(
        guardrails=[Forbidden("SECRET")], check_intervals=l0.CheckIntervals(guardrails=1)
    )
    chain = chat_openai(script) | guard
    got: list[AIMessageChunk] = []
    with pytest.raises(l0.GuardrailViolationError) as info:
        await drain(chain.astream("hi"), got)
    assert info.value.category is l0.ErrorCategory.FATAL
    text = "".join(c.content for c in got)
    assert text == "fine text"  # the offending chunk never left the guard
    assert all(isinstance(c, AIMessageChunk) for c in got)


async def test_guard_passes_upstream_chunks_through_unchanged() -> None:
    script = Script(openai_reply("all", " good"))
    chain = chat_openai(script) | L0Runnable(guardrails=[Forbidden("SECRET")])
    direct = [c async for c in chat_openai(Script(openai_reply("all", " good"))).astream("hi")]
    guarded = [c async for c in chain.astream("hi")]
    assert [c.content for c in guarded] == [c.content for c in direct]
    assert guarded[-1].chunk_position == "last"
    assert any(c.response_metadata.get("finish_reason") == "stop" for c in guarded)


async def test_guard_stall_raises_a_typed_timeout() -> None:
    script = Script(openai_reply("slow", fault=STALL))
    chain = chat_openai(script) | L0Runnable(timeout=l0.Timeout(inter_token=0.05))
    with pytest.raises(l0.StreamTimeoutError):
        async for _ in chain.astream("hi"):
            pass


async def test_outer_l0runnable_retries_what_the_guard_rejected() -> None:
    script = Script(
        openai_reply("leaking", " SECRET", " stuff"),
        openai_reply("clean", " answer"),
    )
    inner = chat_openai(script) | L0Runnable(
        guardrails=[Forbidden("SECRET")], check_intervals=l0.CheckIntervals(guardrails=1)
    )
    outer = L0Runnable(
        inner, fallbacks=[chat_openai(Script(openai_reply("backup")))], clock=FakeClock()
    )
    # A fatal violation is never retried on the same runnable: the fallback answers.
    message = await outer.ainvoke("hi")
    assert message.content == "backup"
