"""Raw HTTP helpers: read a chaos response with httpx2 and split its SSE frames."""

from __future__ import annotations

from typing import Any

import httpx2
import orjson

USER = [{"role": "user", "content": "Tell me about reliable streams."}]


def chat_body(stream: bool = True, **extra: Any) -> dict[str, Any]:
    return {"model": "chaos-test", "messages": USER, "stream": stream, **extra}


def frames(raw: bytes) -> list[dict[str, str]]:
    """SSE frames as ``{"event": ..., "data": ..., "comment": ...}`` dicts."""
    out = []
    for block in raw.decode().split("\n\n"):
        if not block.strip():
            continue
        frame: dict[str, str] = {}
        for line in block.split("\n"):
            field, _, value = line.partition(":")
            frame[field or "comment"] = value.strip()
        out.append(frame)
    return out


def data(raw: bytes) -> list[Any]:
    """The JSON of every ``data:`` line (``[DONE]`` kept as the string)."""
    out = []
    for frame in frames(raw):
        if "data" in frame:
            text = frame["data"]
            out.append(text if text == "[DONE]" else orjson.loads(text))
    return out


async def collect(
    client: httpx2.AsyncClient, path: str, body: dict[str, Any], **headers: str
) -> tuple[httpx2.Response, bytes]:
    """POST and read the whole body (raises the transport error of a cut connection)."""
    async with client.stream("POST", path, json=body, headers=headers) as response:
        raw = b""
        async for piece in response.aiter_bytes():
            raw += piece
    return response, raw


def openai_text(raw: bytes) -> str:
    return "".join(
        d["choices"][0]["delta"].get("content") or ""
        for d in data(raw)
        if isinstance(d, dict) and d.get("choices")
    )


def openai_chat(client: Any, **extra: Any) -> Any:
    """A source: one streamed chat completion per attempt, continuing the checkpoint."""
    return lambda attempt: client.chat.completions.create(
        model="gpt-chaos",
        messages=attempt.continuation_messages(USER),
        stream=True,
        **extra,
    )


def anthropic_messages(client: Any) -> Any:
    """A source: one streamed Anthropic message per attempt, continuing the checkpoint."""
    return lambda attempt: client.messages.create(
        model="claude-chaos",
        max_tokens=512,
        messages=attempt.continuation_messages(USER),
        stream=True,
    )
