"""Exactly once through LangChain (issue 11): a guardrail restart never shows the rejected
answer on stream/astream/invoke/batch, on ``L0Runnable`` and ``L0ChatModel`` alike.

Each situation runs ``L0_EXACTLY_ONCE_RUNS`` times (the issue's bar: 200; CI: 8)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from l0.guardrails import custom_pattern_rule
from l0.integrations.langchain import L0ChatModel, L0Runnable
from l0.testing import FakeClock

from .fake_provider import Script, chat_openai, openai_reply

pytestmark = pytest.mark.anyio

REFUSAL = "I can't share that."
RUNS = int(os.environ.get("L0_EXACTLY_ONCE_RUNS", "8"))


def _models() -> tuple[Any, Any]:
    primary = Script(openai_reply("The launch code is ", "SECRET 1234", ", do not share."))
    backup = Script(openai_reply("I can't ", "share that."))
    return chat_openai(primary), chat_openai(backup)


def _options() -> dict[str, Any]:
    return {
        "guardrails": [custom_pattern_rule([r"SECRET \d+"], severity="fatal")],
        "clock": FakeClock(),
    }


def _text(chunks: list[Any]) -> str:
    return "".join(c.content if hasattr(c, "content") else str(c) for c in chunks)


async def test_l0_runnable_astream_shows_only_the_fallback_answer() -> None:
    for _ in range(RUNS):
        primary, backup = _models()
        runnable = L0Runnable(primary, fallbacks=[backup], **_options())
        assert _text([c async for c in runnable.astream("code?")]) == REFUSAL


async def test_l0_chat_model_astream_shows_only_the_fallback_answer() -> None:
    for _ in range(RUNS):
        primary, backup = _models()
        llm = L0ChatModel(primary, fallbacks=[backup], **_options())
        assert _text([c async for c in llm.astream("code?")]) == REFUSAL


async def test_invoke_and_batch_give_the_fallback_answer() -> None:
    primary, backup = _models()
    assert (await L0Runnable(primary, fallbacks=[backup], **_options()).ainvoke("q")).content == (
        REFUSAL
    )
    pairs = [_models() for _ in range(3)]
    outs = [await L0Runnable(p, fallbacks=[b], **_options()).abatch(["q"]) for p, b in pairs]
    assert [o[0].content for o in outs] == [REFUSAL] * 3


def test_sync_stream_shows_only_the_fallback_answer() -> None:
    for _ in range(min(RUNS, 20)):
        primary, backup = _models()
        runnable = L0Runnable(primary, fallbacks=[backup], **_options())
        assert _text(list(runnable.stream("code?"))) == REFUSAL
