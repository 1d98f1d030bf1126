"""Continuation on repetitive answers (tables, checklists, code) through the real SDKs.

The chaos server continues the prefix l0 sends back exactly after restating ``restate`` of
its characters (``restate=0`` is Anthropic's prefill behaviour). Each run drops the stream
several times, mid-table; the answer must come back byte-exact, with no
``CONTINUATION_AMBIGUOUS`` event.
"""

from __future__ import annotations

import pytest

import l0
from l0.chaos import ChaosServer
from l0.chaos.answer import split_tokens
from l0.testing import FakeClock
from l0.testing.chaos import anthropic_client, openai_client

from .conftest import needs_adapter
from .helpers import anthropic_messages, openai_chat

pytestmark = pytest.mark.anyio

ISSUE_TABLE = "| 1 | ok | ok |\n| 2 | ok | ok |\n| 3 | ok | ok |\n"
ANSWERS = {
    "issue_table": ISSUE_TABLE,
    "table": "| n | a | b |\n|---|---|---|\n" + "".join(f"| {i} | ok | ok |\n" for i in range(12)),
    "identical_rows": "| a | b |\n|---|---|\n" + "| ok | ok |\n" * 10 + "Done.",
    "checklist": "".join(f"- [x] step {i} done\n" for i in range(8)),
    "code": "".join(f"    if x == {i}:\n        return {i}\n" for i in range(6)),
    "phrases": "very " * 20 + "good, " * 5 + "the end",
}


def plan(answer: str, first: int, step: int) -> str:
    """Drops after ``first``, then every ``step`` tokens, until the answer is covered."""
    n = len(split_tokens(answer))
    return "; ".join(f"drop_after_tokens={k}" for k in [first] + [step] * (n // step)) + "; ok"


def ambiguous(events: list[l0.ObservabilityEvent]) -> list[l0.ObservabilityEvent]:
    return [e for e in events if e.name == "CONTINUATION_AMBIGUOUS"]


@needs_adapter("openai")
@pytest.mark.parametrize("name", sorted(ANSWERS))
@pytest.mark.parametrize("restate", [0, 5, 12])
async def test_openai_drops_mid_table_resume_byte_exact(name: str, restate: int) -> None:
    answer = ANSWERS[name]
    first = 2 + restate % 4  # cuts at different offsets for each restatement
    seen: list[l0.ObservabilityEvent] = []
    async with (
        ChaosServer(plan(answer, first, 3), answer=answer, restate=restate) as server,
        openai_client(server) as client,
    ):
        result = await l0.run(
            openai_chat(client),
            continuation=True,
            retry=l0.Retry(attempts=3, max_retries=100),
            clock=FakeClock(),
            on_event=seen.append,
        )
    assert result.text == answer
    assert ambiguous(seen) == []
    assert len(server.requests) > 2
    for request in server.requests[1:]:
        # every resume sent a prefix of the answer (or restarted) and the server followed it
        prefix = request.continuation.prefix or ""
        assert answer.startswith(prefix)


async def test_the_issue_input_through_openai_continued_exactly() -> None:
    """The issue's input: drop after ``"...| 2 | ok"``; the resumed stream restates nothing."""
    cut = len(split_tokens(ISSUE_TABLE[: ISSUE_TABLE.index("| 2 | ok ") + 8]))
    async with (
        ChaosServer(f"drop_after_tokens={cut}", answer=ISSUE_TABLE) as server,
        openai_client(server) as client,
    ):
        result = await l0.run(openai_chat(client), continuation=True, clock=FakeClock())
    assert server.requests[0].text == "| 1 | ok | ok |\n| 2 | ok"
    assert result.text == ISSUE_TABLE
    assert server.requests[1].continuation.prefix == "| 1 | ok | ok |\n|"


@needs_adapter("anthropic")
@pytest.mark.parametrize("name", ["issue_table", "identical_rows", "code"])
async def test_anthropic_prefill_drops_mid_table_resume_byte_exact(name: str) -> None:
    answer = ANSWERS[name]
    seen: list[l0.ObservabilityEvent] = []
    async with (
        ChaosServer(plan(answer, 3, 2), answer=answer) as server,
        anthropic_client(server) as client,
    ):
        result = await l0.run(
            anthropic_messages(client),
            continuation=True,
            retry=l0.Retry(attempts=3, max_retries=100),
            clock=FakeClock(),
            on_event=seen.append,
        )
    assert result.text == answer
    assert ambiguous(seen) == []
