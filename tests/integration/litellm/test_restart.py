"""After l0 restarted the answer, LiteLLM's client keeps its text: exact continuation or an error.

A LiteLLM chunk stream cannot take text back. After a ``RESET`` (a guardrail rejected the
answer after part of it was sent) the next attempt is asked to continue the client's text;
what it streams is aligned against that text by the relay. Found in the cross-surface test
(issue 11): a fallback answering afresh was glued on (``"…small pati" + "Quiet small…"``).
The rule: an exact continuation (a restated overlap trimmed, a full restart restating the
client's text trimmed) goes on; anything else ends the stream with ``OutputRetractedError``
after a clean prefix, never two answers glued together. A restart in other words found by
the core inside a resumed attempt (``Continuation.restart_similarity``) is the same case.
"""

from __future__ import annotations

from typing import Any

import pytest

import l0
from l0.chaos import DEFAULT_ANSWER, ChaosServer, split_tokens
from l0.errors import GuardrailViolationError, NetworkError, OutputRetractedError
from l0.guardrails import custom_pattern_rule
from l0.integrations import litellm as l0_litellm
from l0.testing import FakeClock

from .conftest import openai_kwargs

pytestmark = pytest.mark.anyio

TOKENS = split_tokens(DEFAULT_ANSWER)
POISONED = "".join(TOKENS[:20]) + " FORBIDDEN" + "".join(TOKENS[20:])
FRESH = "Quiet meadows hold small flowers near cold streams, far from any river."
# The same answer in other words: its opening resembles DEFAULT_ANSWER's, it does not continue it.
REWORDED = "Rivers carve canyons slowly, a single grain at a time. " + DEFAULT_ANSWER[50:]


def _rule() -> Any:
    return custom_pattern_rule([r"FORBIDDEN"], severity="fatal", name="no_forbidden")


def _by_model(backup: str) -> Any:
    """The primary answers POISONED, the backup ``backup``."""

    def answer(request: Any) -> str:
        return POISONED if request.body.get("model") == "primary" else backup

    return answer


async def _read(server: ChaosServer, **options: Any) -> tuple[list[str], BaseException | None]:
    seen: list[str] = []
    kwargs = {**openai_kwargs(server, "openai/primary"), "clock": FakeClock(), **options}
    try:
        chunks = await l0_litellm.acompletion(stream=True, **kwargs)
        async for chunk in chunks:
            if chunk.choices and chunk.choices[0].delta.content:
                seen.append(chunk.choices[0].delta.content)
    except l0.L0Error as exc:
        return seen, exc
    return seen, None


async def test_fallback_answering_afresh_after_a_rejected_answer_ends_the_stream() -> None:
    async with ChaosServer(answer=_by_model(FRESH)) as server:
        seen, exc = await _read(server, fallbacks=["openai/backup"], guardrails=[_rule()])
    shown = "".join(seen)
    assert shown and DEFAULT_ANSWER.startswith(shown)  # a clean prefix, nothing glued on
    assert isinstance(exc, OutputRetractedError)
    assert exc.shown == len(shown)
    assert isinstance(exc.cause, GuardrailViolationError)
    backup = server.requests[-1]
    assert backup.body["model"] == "backup"
    assert backup.body["messages"][-1]["role"] == "assistant"  # asked to continue the client


@pytest.mark.parametrize("restate", [0, 7, 10_000], ids=["exact", "overlap", "full-restart"])
async def test_fallback_continuing_the_clients_text_is_trimmed_to_fit(restate: int) -> None:
    # restate=10_000: the backup restarts the answer from its start, restating all of it.
    async with ChaosServer(answer=_by_model(DEFAULT_ANSWER), restate=restate) as server:
        seen, exc = await _read(server, fallbacks=["openai/backup"], guardrails=[_rule()])
    assert exc is None
    assert "".join(seen) == DEFAULT_ANSWER
    assert server.requests[-1].continuation.matched


async def test_a_resumed_stream_restarting_in_other_words_ends_the_stream() -> None:
    answers = iter([DEFAULT_ANSWER, REWORDED])

    def answer(request: Any) -> str:
        return next(answers, REWORDED)

    async with ChaosServer("drop_after_tokens=14", answer=answer) as server:
        seen, exc = await _read(server)
    shown = "".join(seen)
    assert shown == "".join(TOKENS[:14])  # the core's RESET came after these
    assert isinstance(exc, OutputRetractedError)
    assert isinstance(exc.cause, NetworkError)
    resumed = server.requests[-1]
    assert resumed.continuation.prefix and not resumed.continuation.matched  # ignored it


async def test_a_restart_restating_the_clients_text_goes_on() -> None:
    # The resumed request restarts the answer from its start (restate everything): the
    # core aligns it (a full restart), the client gets each character once.
    async with ChaosServer("drop_after_tokens=9", restate=10_000) as server:
        seen, exc = await _read(server)
    assert exc is None
    assert "".join(seen) == DEFAULT_ANSWER


def test_sync_completion_ends_the_stream_the_same_way() -> None:
    with ChaosServer(answer=_by_model(FRESH)) as server:
        kwargs = {**openai_kwargs(server, "openai/primary"), "clock": FakeClock()}
        chunks = l0_litellm.completion(
            stream=True, fallbacks=["openai/backup"], guardrails=[_rule()], **kwargs
        )
        seen: list[str] = []
        with pytest.raises(OutputRetractedError):
            for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    seen.append(chunk.choices[0].delta.content)
    assert seen and DEFAULT_ANSWER.startswith("".join(seen))
