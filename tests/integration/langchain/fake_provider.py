"""A scripted fake OpenAI/Anthropic at the network edge (httpx2.MockTransport).

Each request gets the next scripted reply: an HTTP error, or an SSE body that may end
normally, drop the connection after some events, or stall. Real ``ChatOpenAI`` /
``ChatAnthropic`` (and their real SDK clients) run on top.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import anthropic
import anyio
import httpx2
from langchain_anthropic import ChatAnthropic
from langchain_openai import ChatOpenAI

STALL = "stall"
DROP = "drop"


@dataclass
class Reply:
    """One scripted reply: ``events`` (SSE text pieces) then ``fault`` (None/DROP/STALL)."""

    events: list[bytes] = field(default_factory=list)
    fault: str | None = None
    status: int = 200
    body: bytes = b""


class _Body(httpx2.AsyncByteStream, httpx2.SyncByteStream):
    def __init__(self, reply: Reply) -> None:
        self.reply = reply

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.reply.events:
            yield piece
        if self.reply.fault == DROP:
            raise httpx2.ReadError("peer closed connection without sending complete message")
        if self.reply.fault == STALL:
            await anyio.sleep_forever()  # a stall: l0's stall timeout cuts it

    def __iter__(self) -> Iterator[bytes]:
        yield from self.reply.events
        if self.reply.fault == DROP:
            raise httpx2.ReadError("peer closed connection without sending complete message")
        if self.reply.fault == STALL:
            time.sleep(0.3)
            raise httpx2.ReadTimeout("read timed out")


class Script:
    """The fake provider: replies in order; records every request body."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(json.loads(request.content or b"{}"))
        if not self.replies:
            return httpx2.Response(500, json={"error": {"message": "script exhausted"}})
        reply = self.replies.pop(0)
        if reply.status != 200:
            return httpx2.Response(
                reply.status, content=reply.body, headers={"content-type": "application/json"}
            )
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, stream=_Body(reply)
        )

    @property
    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self.handle)


# -- OpenAI chat.completions SSE --------------------------------------------------------------


def _oa(delta: dict[str, Any], finish: str | None = None) -> bytes:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(chunk)}\n\n".encode()


def openai_reply(
    *texts: str, fault: str | None = None, tool: tuple[str, str] | None = None
) -> Reply:
    """An OpenAI stream of ``texts`` (then a tool call ``(name, args)``), finishing unless
    ``fault`` cuts it after the texts/tool call."""
    events = [_oa({"role": "assistant", "content": ""})]
    events += [_oa({"content": t}) for t in texts]
    if tool is not None:
        name, args = tool
        head = {
            "index": 0,
            "id": "call_1",
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        events.append(_oa({"tool_calls": [head]}))
        mid = len(args) // 2
        for part in (args[:mid], args[mid:]):
            events.append(_oa({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}))
    if fault is None:
        events.append(_oa({}, "tool_calls" if tool else "stop"))
        events.append(b"data: [DONE]\n\n")
    return Reply(events, fault)


def http_error(status: int, message: str = "error") -> Reply:
    body = json.dumps({"error": {"message": message, "type": "invalid_request_error"}})
    return Reply(status=status, body=body.encode())


# -- Anthropic Messages SSE -------------------------------------------------------------------


def _an(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()


def anthropic_reply(*texts: str, fault: str | None = None) -> Reply:
    """An Anthropic stream of one text block made of ``texts``."""
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 7, "output_tokens": 1},
    }
    events = [
        _an("message_start", {"message": message}),
        _an("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
    ]
    events += [
        _an("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": t}})
        for t in texts
    ]
    if fault is None:
        events += [
            _an("content_block_stop", {"index": 0}),
            _an(
                "message_delta",
                {
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"input_tokens": 7, "output_tokens": len(texts)},
                },
            ),
            _an("message_stop", {}),
        ]
    return Reply(events, fault)


# -- models -----------------------------------------------------------------------------------


def chat_openai(script: Script) -> ChatOpenAI:
    """A real ChatOpenAI whose HTTP goes to ``script`` (SDK retries off)."""
    return ChatOpenAI(
        model="gpt-4o-mini",
        api_key="sk-test",  # type: ignore[arg-type]
        max_retries=0,
        http_client=httpx2.Client(transport=script.transport),
        http_async_client=httpx2.AsyncClient(transport=script.transport),
    )


def chat_anthropic(script: Script) -> ChatAnthropic:
    """A real ChatAnthropic whose SDK clients use ``script`` (it takes no http client
    argument: its cached ``_client``/``_async_client`` are set instead)."""
    llm = ChatAnthropic(model="claude-test", api_key="sk-ant-test", max_retries=0)  # type: ignore[call-arg,arg-type]
    llm._client = anthropic.Anthropic(
        api_key="sk-ant-test", max_retries=0, http_client=httpx2.Client(transport=script.transport)
    )
    llm._async_client = anthropic.AsyncAnthropic(
        api_key="sk-ant-test",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=script.transport),
    )
    return llm


async def drain(chunks: AsyncIterator[Any], into: list[Any]) -> None:
    """Collect ``chunks`` into ``into``, keeping what arrived before an error."""
    async for chunk in chunks:
        into.append(chunk)
