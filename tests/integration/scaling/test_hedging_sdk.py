"""Hedging over the real OpenAI SDK against the chaos server: a primary whose first token is
late loses to a twin on the fallback, and its HTTP response is abandoned at once."""

from __future__ import annotations

import time

import anyio
import pytest
from openai import AsyncOpenAI

import l0
from l0.chaos import ChaosRequest, ChaosServer

pytestmark = pytest.mark.anyio
ANSWER = "Hedged: the first token wins."


async def test_a_slow_primary_loses_to_the_hedged_fallback_and_is_closed() -> None:
    primary_over = anyio.Event()  # its response is over (the client left)

    def over(record: ChaosRequest) -> None:
        if record.body["model"] == "primary":
            primary_over.set()

    async with ChaosServer(answer=ANSWER, on_request=over) as chaos:
        client = AsyncOpenAI(base_url=chaos.openai_base_url, api_key="test", max_retries=0)
        messages: list[dict[str, str]] = [{"role": "user", "content": "hi"}]

        def call(model: str, fault: str) -> object:
            return client.chat.completions.create(
                model=model,
                messages=messages,  # type: ignore[arg-type]
                stream=True,
                extra_headers={"x-l0-chaos": fault},
            )

        started = time.monotonic()
        result = await l0.run(
            lambda: call("primary", "stall_after_tokens=0"),  # headers, then nothing
            fallbacks=[lambda: call("fallback", "ok")],
            hedge=l0.Hedge(delay=0.1, target="fallback"),
            timeout=l0.Timeout(initial_token=20.0),
        )
        elapsed = time.monotonic() - started
        assert result.text == ANSWER and result.fallback_index == 1
        assert elapsed < 10.0  # the hedge answered, not the 20 s initial-token timeout
        with anyio.fail_after(5):  # the server notices the primary's client left
            await primary_over.wait()
        assert [r.body["model"] for r in chaos.requests] == ["primary", "fallback"]
        assert chaos.requests[0].outcome == "stalled" and chaos.requests[0].tokens == []
        await client.close()
