"""Property: an SSE body split at random points (inside lines, between CR and LF, inside a
UTF-8 sequence) decodes on the fast lane exactly as the SDK path decodes it."""

from __future__ import annotations

import functools
import gzip
import itertools
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import anyio
import httpx2
import openai
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import l0

from .paths import record

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), max_codepoint=0x1F600), max_size=6
)
NEWLINES = st.sampled_from(["\n", "\r\n", "\r"])


class Pieces(httpx2.AsyncByteStream):
    """A response body delivered in the given pieces."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "c", "object": "chat.completion.chunk", "choices": [choice], **extra}


@st.composite
def chat_bodies(draw: st.DrawFn) -> bytes:
    """A chat completions SSE body: text, reasoning, tool-call fragments, comments, usage,
    multi-line data, any line ending; finished (or cut) at random."""
    nl = draw(NEWLINES)
    frames: list[str] = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["text", "text", "text", "reason", "tool", "comment", "event"]))
        if kind == "text":
            obj = _chunk({"content": draw(TEXT)})
        elif kind == "reason":
            obj = _chunk({"content": None, "reasoning_content": draw(TEXT)})
        elif kind == "tool":
            i = draw(st.integers(0, 1))
            fn = {"name": "f" if draw(st.booleans()) else None, "arguments": draw(TEXT)}
            obj = _chunk({"tool_calls": [{"index": i, "id": f"call_{i}", "function": fn}]})
        elif kind == "comment":
            frames.append(f": keepalive{nl}{nl}")
            continue
        else:
            frames.append(
                f"event: chunk{nl}id: 7{nl}data: {orjson.dumps(_chunk({})).decode()}{nl}{nl}"
            )
            continue
        frames.append(f"data: {orjson.dumps(obj).decode()}{nl}{nl}")
    if draw(st.booleans()):
        usage = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
        frames.append(f"data: {orjson.dumps(_chunk({}, 'stop', usage=usage)).decode()}{nl}{nl}")
        frames.append(f"data: [DONE]{nl}{nl}")
    return "".join(frames).encode()


@st.composite
def split(draw: st.DrawFn) -> list[bytes]:
    body = draw(chat_bodies())
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=12)))
    bounds = [0, *cuts, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def _client(parts: list[bytes], **headers: str) -> openai.AsyncOpenAI:
    def handler(request: httpx2.Request) -> httpx2.Response:
        headers["content-type"] = "text/event-stream"
        return httpx2.Response(200, headers=headers, stream=Pieces(parts))

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    return openai.AsyncOpenAI(api_key="test", max_retries=0, http_client=http)


async def _both(parts: list[bytes], **headers: str) -> tuple[dict[str, Any], dict[str, Any]]:
    client = _client(parts, **headers)
    kwargs: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    options: dict[str, Any] = {"retry": l0.Retry(attempts=1, max_retries=0)}
    sdk = await record(lambda: client.chat.completions.create(stream=True, **kwargs), **options)
    fast = await record(lambda: l0.fastlane.openai_chat(client, **kwargs), **options)
    await client.close()
    return sdk, fast


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=split())
def test_a_chat_body_split_anywhere_decodes_as_the_sdk_decodes_it(parts: list[bytes]) -> None:
    sdk, fast = anyio.run(_both, parts)
    assert fast == sdk


def test_a_gzip_encoded_body_decodes_as_the_sdk_decodes_it() -> None:
    # The fast lane reads the transport's own byte stream only for an unencoded body.
    texts = ["Hel", "lo", " wörld", 'say "hi"', "!"]
    frames = [f"data: {orjson.dumps(_chunk({'content': t})).decode()}\n\n" for t in texts]
    frames.append(f"data: {orjson.dumps(_chunk({}, 'stop')).decode()}\n\ndata: [DONE]\n\n")
    body = gzip.compress("".join(frames).encode())
    parts = [body[i : i + 7] for i in range(0, len(body), 7)]
    sdk, fast = anyio.run(functools.partial(_both, parts, **{"content-encoding": "gzip"}))
    assert fast == sdk
    assert fast["text"] == "".join(texts)


@pytest.mark.parametrize("content", [[None], ["a"], {"text": "a"}, 7, True])
def test_content_that_is_not_a_string_is_a_typed_error_on_both_paths(content: Any) -> None:
    """Found by the SSE byte fuzz: ``"content": [null]`` reached the fast lane's text as a list
    (a bare ``TypeError`` when the text was joined)."""
    first = f"data: {orjson.dumps(_chunk({'role': 'assistant', 'content': content})).decode()}\n\n"
    sdk, fast = anyio.run(_both, [first.encode(), b"data: [DONE]\n\n"])
    assert fast == sdk
    assert sdk["raised"]["type"] == "MalformedChunkError"


def _event(obj: dict[str, Any], nl: str) -> str:
    return f"event: {obj['type']}{nl}data: {orjson.dumps(obj).decode()}{nl}{nl}"


@st.composite
def anthropic_bodies(draw: st.DrawFn) -> bytes:
    """A Messages SSE body: text and tool blocks, thinking, pings, any line ending; stopped
    (or cut) at random."""
    nl = draw(NEWLINES)
    message = {"id": "m", "type": "message", "role": "assistant", "content": [], "model": "c"}
    message["usage"] = {"input_tokens": 5, "output_tokens": 1}
    out = [_event({"type": "message_start", "message": message}, nl)]
    for index in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["text", "tool", "thinking"]))
        block: dict[str, Any] = {"type": kind}
        if kind == "text":
            block["text"] = ""
        elif kind == "thinking":
            block["thinking"] = ""
        else:
            block.update(id=f"toolu_{index}", name="f", input={})
        out.append(
            _event({"type": "content_block_start", "index": index, "content_block": block}, nl)
        )
        for _ in range(draw(st.integers(0, 4))):
            if draw(st.booleans()):
                out.append(f'event: ping{nl}data: {{"type": "ping"}}{nl}{nl}')
            piece = draw(TEXT)
            delta = {
                "text": {"type": "text_delta", "text": piece},
                "thinking": {"type": "thinking_delta", "thinking": piece},
                "tool": {"type": "input_json_delta", "partial_json": piece},
            }[kind]
            out.append(_event({"type": "content_block_delta", "index": index, "delta": delta}, nl))
        out.append(_event({"type": "content_block_stop", "index": index}, nl))
    if draw(st.booleans()):
        delta = {"stop_reason": "end_turn", "stop_sequence": None}
        out.append(
            _event({"type": "message_delta", "delta": delta, "usage": {"output_tokens": 9}}, nl)
        )
        out.append(_event({"type": "message_stop"}, nl))
    return "".join(out).encode()


@st.composite
def split_anthropic(draw: st.DrawFn) -> list[bytes]:
    body = draw(anthropic_bodies())
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=12)))
    bounds = [0, *cuts, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(bounds) if b > a]


async def _both_anthropic(parts: list[bytes]) -> tuple[dict[str, Any], dict[str, Any]]:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, stream=Pieces(parts)
        )

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    client = anthropic.AsyncAnthropic(api_key="test", max_retries=0, http_client=http)
    kwargs: dict[str, Any] = {
        "model": "c",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
    }
    options: dict[str, Any] = {"retry": l0.Retry(attempts=1, max_retries=0)}
    sdk = await record(lambda: client.messages.create(stream=True, **kwargs), **options)
    fast = await record(lambda: l0.fastlane.anthropic_messages(client, **kwargs), **options)
    await client.close()
    return sdk, fast


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=split_anthropic())
def test_a_messages_body_split_anywhere_decodes_as_the_sdk_decodes_it(parts: list[bytes]) -> None:
    sdk, fast = anyio.run(_both_anthropic, parts)
    assert fast == sdk
