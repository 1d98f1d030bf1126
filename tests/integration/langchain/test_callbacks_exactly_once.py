"""Exactly once in LangChain's callbacks (issue 11, situation 5): ``on_llm_new_token`` and
``astream_events``' ``on_chat_model_stream`` carry the tokens l0 released, never the restated
overlap of a resumed attempt nor a rejected answer; real ``ChatOpenAI`` at the network edge.
Each situation runs ``L0_EXACTLY_ONCE_RUNS`` times (the issue's bar: 200; CI: 8)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler

import l0
from l0.guardrails import custom_pattern_rule
from l0.integrations.langchain import L0ChatModel, L0Runnable
from l0.testing import FakeClock

from .fake_provider import DROP, Script, chat_openai, openai_reply

pytestmark = pytest.mark.anyio

RUNS = int(os.environ.get("L0_EXACTLY_ONCE_RUNS", "8"))
ANSWER = "Patient wind shapes the stone of tall cliffs."
REFUSAL = "I can't share that."


class Tokens(BaseCallbackHandler):
    """Every ``on_llm_new_token``, and the runs they were reported on."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.starts: list[list[str]] = []
        self.ends: list[str] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kw: Any) -> None:
        self.starts.append(list(kw.get("tags") or []))

    def on_llm_new_token(self, token: str, **kw: Any) -> None:
        self.tokens.append(token)

    def on_llm_end(self, response: Any, **kw: Any) -> None:
        self.ends.append(response.generations[0][0].text)


def _drop_with_overlap() -> tuple[list[Any], dict[str, Any]]:
    # The resumed attempt restates "shapes the " before going on.
    primary = Script(
        openai_reply("Patient ", "wind ", "shapes the ", fault=DROP),
        openai_reply("shapes the ", "stone of ", "tall cliffs."),
    )
    return [chat_openai(primary)], {}


def _fallback_with_overlap() -> tuple[list[Any], dict[str, Any]]:
    primary = Script(openai_reply("Patient ", "wind ", "shapes", fault=DROP))
    backup = Script(openai_reply("wind shapes", " the stone", " of tall cliffs."))
    return [chat_openai(primary), chat_openai(backup)], {"retry": l0.Retry(max_retries=0)}


def _rejected() -> tuple[list[Any], dict[str, Any]]:
    primary = Script(openai_reply("The launch code is ", "SECRET 1234", ", do not share."))
    backup = Script(openai_reply("I can't ", "share that."))
    rule = custom_pattern_rule([r"SECRET \d+"], severity="fatal")
    return [chat_openai(primary), chat_openai(backup)], {"guardrails": [rule]}


SITUATIONS = {
    "drop-restated-overlap": (_drop_with_overlap, ANSWER),
    "fallback-restated-overlap": (_fallback_with_overlap, ANSWER),
    "guardrail-rejection": (_rejected, REFUSAL),
}


def _wrapper(kind: str, models: list[Any], options: dict[str, Any]) -> Any:
    cls = L0Runnable if kind == "L0Runnable" else L0ChatModel
    return cls(models[0], fallbacks=models[1:], clock=FakeClock(), **options)


@pytest.mark.parametrize("kind", ["L0Runnable", "L0ChatModel"])
@pytest.mark.parametrize("situation", list(SITUATIONS))
async def test_callbacks_and_stream_events_carry_the_released_tokens(
    kind: str, situation: str
) -> None:
    make, final = SITUATIONS[situation]
    for _ in range(RUNS):
        models, options = make()
        tokens = Tokens()
        events = [
            e
            async for e in _wrapper(kind, models, options).astream_events(
                "Say it.", {"callbacks": [tokens]}, version="v2"
            )
        ]
        streamed = [e["data"]["chunk"].text for e in events if e["event"] == "on_chat_model_stream"]
        output = [
            e["data"]["chunk"].text
            for e in events
            if e["event"].endswith("_stream") and not e["parent_ids"]
        ]
        assert "".join(streamed) == final, (kind, situation, streamed)
        assert "".join(tokens.tokens) == final
        assert "SECRET" not in "".join(tokens.tokens + streamed)
        assert "".join(output) == final  # what the caller's stream got


async def test_each_attempt_is_a_run_ending_with_what_it_released() -> None:
    models, options = _drop_with_overlap()
    tokens = Tokens()
    message = await L0Runnable(models[0], clock=FakeClock(), **options).ainvoke(
        "Say it.", {"callbacks": [tokens]}
    )
    assert message.content == ANSWER
    assert tokens.starts == [["l0:attempt:1"], ["l0:attempt:2"]]
    # Attempt 1 failed (no end); attempt 2 ends with its released text, overlap removed.
    assert tokens.ends == [ANSWER[len("Patient wind shapes the ") :]]
    assert "".join(tokens.tokens) == ANSWER
