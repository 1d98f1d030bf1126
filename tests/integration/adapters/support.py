"""Helpers for the adapter tests: cassette replay and SSE transports that fail mid-stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import vcr
import vcr.cassette

from l0.types import Usage

CASSETTES = Path(__file__).resolve().parents[3] / "cassettes"
MESSAGES = [{"role": "user", "content": "Say hello"}]

# What cassettes/openai/chat_text.yaml decodes to (its usage chunk, details flattened).
OPENAI_TEXT_USAGE = Usage(
    input_tokens=12,
    output_tokens=8,
    total_tokens=20,
    details={
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
)


@contextmanager
def play(name: str, *, all_played: bool = True) -> Iterator[vcr.cassette.Cassette]:
    """Replay ``cassettes/<name>`` (record mode ``none``); by default check every interaction
    was played."""
    with vcr.use_cassette(str(CASSETTES / name), record_mode="none") as cassette:
        yield cassette
    if all_played:
        assert cassette.all_played, f"{name}: {cassette.play_count} of {len(cassette)} played"


def openai_sse(*objs: dict[str, Any], done: bool = True) -> bytes:
    out = "".join(f"data: {json.dumps(o)}\n\n" for o in objs)
    return (out + ("data: [DONE]\n\n" if done else "")).encode()


def chat_chunk(content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    delta = {"content": content} if content is not None else {}
    return {
        "id": "chatcmpl-mock",
        "object": "chat.completion.chunk",
        "created": 1760000000,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def anthropic_sse(*events: dict[str, Any]) -> bytes:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


def anthropic_text(*pieces: str, stop: bool = True) -> bytes:
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_mock",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-6",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 10, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    events += [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}
        for p in pieces
    ]
    if stop:
        events += [
            {"type": "content_block_stop", "index": 0},
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": len(pieces)},
            },
            {"type": "message_stop"},
        ]
    return anthropic_sse(*events)


class Dropping2(httpx2.AsyncByteStream):
    """An ``httpx2`` response body that yields ``parts`` then fails like a reset connection."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part
        raise httpx2.ReadError("connection reset by peer")

    async def aclose(self) -> None:
        self.closed = True


class Dropping1(httpx.AsyncByteStream):
    """The same for legacy ``httpx`` (LiteLLM's transport)."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part
        raise httpx.ReadError("connection reset by peer")


class Scripted:
    """A MockTransport handler answering each request with the next scripted response and
    recording every request body."""

    def __init__(self, *responses: Callable[[], Any]) -> None:
        self.responses = list(responses)
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: Any) -> Any:
        self.bodies.append(json.loads(request.content))
        return self.responses[len(self.bodies) - 1]()


SSE_HEADERS = {"content-type": "text/event-stream"}
