"""L0Runnable, offline: a real ChatOpenAI whose connection drops mid-answer.

The "network" is an ``httpx2.MockTransport``: the first request streams half an answer and
then the connection dies; the second (the continuation) restates a few words and finishes.
``with_retry()``/``with_fallbacks()`` would surface the error after the first half;
``L0Runnable`` continues from the checkpoint and the output has no duplicated words.

Run: ``python examples/langchain_example.py`` (needs ``pip install 'l0[langchain]'
langchain-openai``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx2
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import ChatOpenAI

import l0
from l0.guardrails import Severity, Violation
from l0.integrations.langchain import L0Runnable


def sse(*texts: str, finish: bool) -> list[bytes]:
    def chunk(delta: dict[str, str], reason: str | None = None) -> bytes:
        body = {
            "id": "chatcmpl-demo",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": delta, "finish_reason": reason}],
        }
        return f"data: {json.dumps(body)}\n\n".encode()

    events = [chunk({"content": t}) for t in texts]
    return [*events, chunk({}, "stop"), b"data: [DONE]\n\n"] if finish else events


class FlakyBody(httpx2.AsyncByteStream):
    """Streams its events, then (if ``drop``) fails like a reset connection."""

    def __init__(self, events: list[bytes], *, drop: bool) -> None:
        self.events, self.drop = events, drop

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for event in self.events:
            yield event
            await asyncio.sleep(0.05)  # so you can watch it stream
        if self.drop:
            raise httpx2.ReadError("connection reset by peer")


REPLIES = [
    (sse("LangChain streams", " are fast, but a", " dropped connection", finish=False), True),
    (sse(" dropped connection", " used to mean a lost answer.", finish=True), False),
]


def handler(request: httpx2.Request) -> httpx2.Response:
    events, drop = REPLIES.pop(0)
    headers = {"content-type": "text/event-stream"}
    return httpx2.Response(200, headers=headers, stream=FlakyBody(events, drop=drop))


class NoShouting:
    """A guardrail rule: a FATAL violation when the answer contains all-caps SHOUTING."""

    name = "no_shouting"

    def reset(self) -> None:
        pass

    def check(self, delta: str, state: l0.State, *, final: bool) -> list[Violation]:
        if any(word.isupper() and len(word) > 3 for word in delta.split()):
            return [Violation(self.name, "shouting", Severity.FATAL, recoverable=False)]
        return []


async def main() -> None:
    llm = ChatOpenAI(
        model="gpt-4o-mini",
        api_key="sk-demo",  # type: ignore[arg-type]
        max_retries=0,
        http_async_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)),
    )
    chain = (
        ChatPromptTemplate.from_template("Tell me about {topic}.")
        # Model mode: l0 owns the stream (retry, continuation, fallbacks, timeouts).
        | L0Runnable(llm, retry=l0.Retry(base_delay=0.2), timeout=l0.Timeout(inter_token=5.0))
        # Guard mode: watch the text as it flows and stop on a fatal rule.
        | L0Runnable(guardrails=[NoShouting()])
        | StrOutputParser()
    )
    async for event in chain.astream_events({"topic": "reliability"}, version="v2"):
        if event["event"] == "on_custom_event":
            print(f"\n  [{event['name']}] {dict(event['data'])}")
        elif event["event"] == "on_chain_stream" and not event["parent_ids"]:
            print(event["data"]["chunk"], end="", flush=True)
    print()


if __name__ == "__main__":
    asyncio.run(main())
