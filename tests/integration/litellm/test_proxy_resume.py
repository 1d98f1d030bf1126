"""The proxy hook resumes exactly at every cut: the client's text is the answer, once.

Reduced from a CI failure: with a guardrail configured the relay holds each token until the
next one is checked, and a drop right after ``" a"`` re-issued the request from the text the
client *had* (without the held ``" a"``) while l0 aligned the resumed stream against its own
checkpoint: the client got ``"learn a a similar"``. The kind: the prefix a re-issued request
continues from must be the one l0 aligns against, at every cut, with and without held
tokens, with and without restatement, and after a reset (a rejected answer) as well.
"""

from __future__ import annotations

from typing import Any

import litellm
import pytest

from l0.chaos import DEFAULT_ANSWER, ChaosServer, split_tokens
from l0.guardrails.patterns import CustomPatternRule
from l0.integrations.litellm import L0Handler
from l0.types import Retry

from .conftest import openai_kwargs

pytestmark = pytest.mark.anyio

TOKENS = split_tokens(DEFAULT_ANSWER)
# Every fourth cut, offset per case so the four cases together cover every cut.
STRIDE = 4


def handler(guarded: bool) -> L0Handler:
    rules = [CustomPatternRule(["FORBIDDEN"])] if guarded else []
    return L0Handler(retry=Retry(attempts=3, backoff="fixed", base_delay=0.0), guardrails=rules)


async def hook_text(h: L0Handler, server: ChaosServer) -> str:
    kwargs: dict[str, Any] = {**openai_kwargs(server), "max_retries": 0, "stream": True}
    response = await litellm.acompletion(**kwargs)
    hook = h.async_post_call_streaming_iterator_hook(
        user_api_key_dict=None, response=response, request_data=kwargs
    )
    chunks = [chunk async for chunk in hook]
    return "".join((c.choices[0].delta.content or "") for c in chunks if c.choices)


async def test_drop_right_after_a_held_token_is_not_doubled() -> None:
    async with ChaosServer("drop_after_tokens=23") as server:  # "... Engineers learn a"
        assert await hook_text(handler(guarded=True), server) == DEFAULT_ANSWER
        assert [r.outcome for r in server.requests] == ["dropped", "complete"]


@pytest.mark.timeout(120)  # one LiteLLM call per cut (~15 per case): ~10 s on a busy machine
@pytest.mark.parametrize("restate", [0, 4])
@pytest.mark.parametrize("guarded", [False, True], ids=["no-hold", "hold"])
async def test_every_cut_resumes_exactly(guarded: bool, restate: int) -> None:
    h = handler(guarded)
    wrong: list[tuple[int, str]] = []
    offset = 1 + 2 * guarded + (restate > 0)
    async with ChaosServer(restate=restate) as server:
        for cut in [*range(offset, len(TOKENS), STRIDE), 23]:
            server.reset()
            server.set_plan(f"drop_after_tokens={cut}")
            text = await hook_text(h, server)
            if text != DEFAULT_ANSWER:
                wrong.append((cut, text))
    assert wrong == []


POISON_AT = 12
POISONED = "".join(TOKENS[:POISON_AT]) + " FORBIDDEN" + "".join(TOKENS[POISON_AT:])


@pytest.mark.parametrize("restate", [0, 4])
async def test_a_drop_after_a_rejected_answer_resumes_exactly(restate: int) -> None:
    """Rejected answer (reset: the client keeps its text), then a drop at every cut."""
    answers = iter(())

    def answer(request: Any) -> str:
        return next(answers, DEFAULT_ANSWER)

    h = handler(guarded=True)
    wrong: list[tuple[int, str]] = []
    async with ChaosServer(answer=answer, restate=restate) as server:
        for cut in range(1 + restate % 3, len(TOKENS) - POISON_AT, 6):
            server.reset()
            answers = iter([POISONED])
            server.set_plan(f"ok; drop_after_tokens={cut}")
            text = await hook_text(h, server)
            if text != DEFAULT_ANSWER:
                wrong.append((cut, text))
            assert "FORBIDDEN" not in text
    assert wrong == []
