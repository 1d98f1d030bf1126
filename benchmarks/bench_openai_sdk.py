"""l0 over the real openai SDK vs the bare SDK loop, on a 2,000-token chat stream.

Both sides run the same ``AsyncOpenAI`` client over an ``httpx2.MockTransport`` that serves
pre-built SSE bytes (one network read per event), so the numbers measure SDK + l0 work only
(no vcrpy, no sockets). Runs are interleaved (bare, l0, bare, l0, ...) and the medians compared.

    PYTHONPATH=. python benchmarks/bench_openai_sdk.py [--runs 40] [--tokens 2000]

Target: l0 adds <= 5% wall time over ``async for chunk in stream``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import AsyncIterator

import httpx2
import openai

import l0


def build_sse(tokens: int) -> list[bytes]:
    """One SSE event per token, a finish chunk, a usage chunk and ``[DONE]``."""

    def event(delta: dict[str, object], finish: str | None = None) -> bytes:
        chunk = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1760000000,
            "model": "gpt-4o-mini",
            "system_fingerprint": "fp_bench",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            "usage": None,
        }
        return f"data: {json.dumps(chunk)}\n\n".encode()

    out = [event({"role": "assistant", "content": ""})]
    out += [event({"content": f" tok{i % 97}"}) for i in range(tokens)]
    out.append(event({}, "stop"))
    usage = {"prompt_tokens": 10, "completion_tokens": tokens, "total_tokens": tokens + 10}
    tail = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1760000000,
        "model": "gpt-4o-mini",
        "choices": [],
        "usage": usage,
    }
    out.append(f"data: {json.dumps(tail)}\n\n".encode())
    out.append(b"data: [DONE]\n\n")
    return out


class Body(httpx2.AsyncByteStream):
    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part


def sse_http_client(parts: list[bytes]) -> httpx2.AsyncClient:
    """An HTTP client whose every request answers 200 with ``parts`` as an SSE body, one
    read per part (no sockets; the SDK clients of every benchmark use it)."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, stream=Body(parts)
        )

    return httpx2.AsyncClient(transport=httpx2.MockTransport(handler))


def make_client(parts: list[bytes]) -> openai.AsyncOpenAI:
    """An ``AsyncOpenAI`` over :func:`sse_http_client`."""
    return openai.AsyncOpenAI(api_key="bench", max_retries=0, http_client=sse_http_client(parts))


MESSAGES = [{"role": "user", "content": "go"}]


async def bare(client: openai.AsyncOpenAI) -> str:
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,  # type: ignore[arg-type]
    )
    parts = []
    async for chunk in stream:
        if chunk.choices:
            content = chunk.choices[0].delta.content
            if content:
                parts.append(content)
    return "".join(parts)


async def with_l0(client: openai.AsyncOpenAI) -> str:
    result = await l0.run(
        lambda: client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            stream=True,  # type: ignore[arg-type]
        )
    )
    return result.text


async def main(runs: int, tokens: int) -> None:
    parts = build_sse(tokens)
    client = make_client(parts)
    expected = await bare(client)
    assert await with_l0(client) == expected
    for _ in range(3):  # warm-up
        await bare(client)
        await with_l0(client)
    times: dict[str, list[float]] = {"bare": [], "l0": []}
    for _ in range(runs):
        for name, fn in (("bare", bare), ("l0", with_l0)):
            t0 = time.perf_counter()
            await fn(client)
            times[name].append(time.perf_counter() - t0)
    b = statistics.median(times["bare"])
    m = statistics.median(times["l0"])
    print(f"tokens={tokens} runs={runs} (interleaved)")
    print(f"bare SDK loop : median {b * 1e3:8.2f} ms  ({b / tokens * 1e6:6.2f} us/token)")
    print(f"l0.run        : median {m * 1e3:8.2f} ms  ({m / tokens * 1e6:6.2f} us/token)")
    print(f"overhead      : {(m / b - 1) * 100:+.1f}%  (target <= +5%)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--tokens", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.tokens))
