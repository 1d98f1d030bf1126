"""CPU per token: the bare SDK loop, l0 over the SDK, and l0's fast lane — same run, same bytes.

For each protocol (OpenAI chat completions, OpenAI Responses, Anthropic Messages) the real
SDK client reads pre-built SSE bytes from an ``httpx2.MockTransport`` (one network read per
event: the worst case for per-read costs), so the figures are SDK + l0 work only — no sockets.
Scenarios run interleaved, round after round; each figure is the median of this process's CPU
time (``time.process_time``) over the rounds, divided by the token count.

    PYTHONPATH=. python benchmarks/bench_fastlane.py [--rounds 15] [--tokens 2000]

Targets (issue 18): fast lane <= 5 µs/token on OpenAI chat, and >= 10x cheaper than the bare
SDK loop in the same run. For chat the table also has the issue's ``floor``: the same bytes read
through the SDK's httpx client with ``aiter_lines`` and each data line parsed with orjson, no
l0 (1.4-2.3 µs/token on a quiet machine when the issue was written): absolute figures scale with
the machine's load, the ratios to the bare SDK and to the floor much less.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anthropic
import openai
import orjson

import l0
import l0.fastlane

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_openai_sdk import sse_http_client

MESSAGES = [{"role": "user", "content": "go"}]


def _sse(obj: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(obj)}\n\n".encode()


def chat_body(n: int) -> list[bytes]:
    """Chat completion chunks: role, ``n`` tokens, finish, usage, ``[DONE]``."""

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return _sse(
            {
                "id": "chatcmpl-bench",
                "object": "chat.completion.chunk",
                "created": 1760000000,
                "model": "gpt-4o-mini",
                "system_fingerprint": "fp_bench",
                "choices": [choice],
                **extra,
            }
        )

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": f" tok{i % 97}"}) for i in range(n)]
    out.append(chunk({}, "stop"))
    usage = {"prompt_tokens": 10, "completion_tokens": n, "total_tokens": n + 10}
    out.append(
        _sse(
            {
                "id": "chatcmpl-bench",
                "object": "chat.completion.chunk",
                "choices": [],
                "usage": usage,
            }
        )
    )
    out.append(b"data: [DONE]\n\n")
    return out


def responses_body(n: int) -> list[bytes]:
    """Responses events: created, ``n`` text deltas, completed with usage."""
    response = {"id": "resp_bench", "object": "response", "status": "in_progress", "output": []}
    out = [
        _sse(
            {"type": "response.created", "sequence_number": 0, "response": response},
            "response.created",
        )
    ]
    for i in range(n):
        delta = {
            "type": "response.output_text.delta",
            "item_id": "msg_bench",
            "output_index": 0,
            "content_index": 0,
            "delta": f" tok{i % 97}",
            "sequence_number": i + 1,
            "logprobs": [],
        }
        out.append(_sse(delta, "response.output_text.delta"))
    done = dict(response, status="completed")
    done["usage"] = {"input_tokens": 10, "output_tokens": n, "total_tokens": n + 10}
    out.append(
        _sse(
            {"type": "response.completed", "sequence_number": n + 1, "response": done},
            "response.completed",
        )
    )
    return out


def anthropic_body(n: int) -> list[bytes]:
    """Messages events: start, a text block of ``n`` deltas, message delta, stop."""
    message = {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "claude-bench",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 1},
    }
    out = [
        _sse({"type": "message_start", "message": message}, "message_start"),
        _sse(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            "content_block_start",
        ),
    ]
    for i in range(n):
        delta = {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": f" tok{i % 97}"},
        }
        out.append(_sse(delta, "content_block_delta"))
    out.append(_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
    out.append(
        _sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": n},
            },
            "message_delta",
        )
    )
    out.append(_sse({"type": "message_stop"}, "message_stop"))
    return out


Run = Callable[[], Awaitable[str]]


def chat_scenarios(n: int) -> dict[str, Run]:
    client = openai.AsyncOpenAI(
        api_key="bench", max_retries=0, http_client=sse_http_client(chat_body(n))
    )
    kw: dict[str, Any] = {"model": "gpt-4o-mini", "messages": MESSAGES}

    async def bare() -> str:
        parts = []
        async for chunk in await client.chat.completions.create(stream=True, **kw):
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)  # noqa: PERF401 - the loop users write
        return "".join(parts)

    async def over_sdk() -> str:
        return (await l0.run(lambda: client.chat.completions.create(stream=True, **kw))).text

    async def fast() -> str:
        return (await l0.run(lambda: l0.fastlane.openai_chat(client, **kw))).text

    async def floor() -> str:
        # The reference: the SDK's httpx client, lines split and parsed with orjson.
        parts = []
        create = client.chat.completions.with_streaming_response.create
        async with create(stream=True, **kw) as response:
            async for line in response.http_response.aiter_lines():
                if line.startswith("data: {"):
                    choices = orjson.loads(line[6:])["choices"]
                    if choices and choices[0]["delta"].get("content"):
                        parts.append(choices[0]["delta"]["content"])
        return "".join(parts)

    return {"bare SDK": bare, "l0 over SDK": over_sdk, "l0 fast lane": fast, "floor": floor}


def responses_scenarios(n: int) -> dict[str, Run]:
    client = openai.AsyncOpenAI(
        api_key="bench", max_retries=0, http_client=sse_http_client(responses_body(n))
    )
    kw: dict[str, Any] = {"model": "gpt-4o-mini", "input": "go"}

    async def bare() -> str:
        parts = []
        async for event in await client.responses.create(stream=True, **kw):
            if event.type == "response.output_text.delta":
                parts.append(event.delta)  # noqa: PERF401 - the loop users write
        return "".join(parts)

    async def over_sdk() -> str:
        return (await l0.run(lambda: client.responses.create(stream=True, **kw))).text

    async def fast() -> str:
        return (await l0.run(lambda: l0.fastlane.openai_responses(client, **kw))).text

    return {"bare SDK": bare, "l0 over SDK": over_sdk, "l0 fast lane": fast}


def anthropic_scenarios(n: int) -> dict[str, Run]:
    client = anthropic.AsyncAnthropic(
        api_key="bench", max_retries=0, http_client=sse_http_client(anthropic_body(n))
    )
    kw: dict[str, Any] = {"model": "claude-bench", "max_tokens": 64, "messages": MESSAGES}

    async def bare() -> str:
        parts = []
        async for event in await client.messages.create(stream=True, **kw):
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                parts.append(event.delta.text)  # noqa: PERF401 - the loop users write
        return "".join(parts)

    async def over_sdk() -> str:
        return (await l0.run(lambda: client.messages.create(stream=True, **kw))).text

    async def fast() -> str:
        return (await l0.run(lambda: l0.fastlane.anthropic_messages(client, **kw))).text

    return {"bare SDK": bare, "l0 over SDK": over_sdk, "l0 fast lane": fast}


PROTOCOLS = {
    "openai chat": chat_scenarios,
    "openai responses": responses_scenarios,
    "anthropic messages": anthropic_scenarios,
}


async def measure(scenarios: dict[str, Run], rounds: int, n: int) -> dict[str, float]:
    """Median CPU µs per token of each scenario, interleaved rounds."""
    texts = {name: await run() for name, run in scenarios.items()}
    assert len(set(texts.values())) == 1, "the scenarios disagree on the text"
    cpu: dict[str, list[float]] = {name: [] for name in scenarios}
    for _ in range(rounds):
        for name, run in scenarios.items():
            gc.collect()
            t0 = time.process_time()
            await run()
            cpu[name].append(time.process_time() - t0)
    return {name: statistics.median(times) / n * 1e6 for name, times in cpu.items()}


async def main(rounds: int, n: int, only: list[str]) -> int:
    failed = 0
    print(f"tokens={n} rounds={rounds} (CPU time, interleaved, median)")
    for protocol, build in PROTOCOLS.items():
        if only and protocol not in only:
            continue
        us = await measure(build(n), rounds, n)
        bare, fast = us["bare SDK"], us["l0 fast lane"]
        print(f"\n{protocol}")
        for name, value in us.items():
            print(f"  {name:<14}: {value:7.2f} µs/token")
        print(f"  fast lane vs bare SDK: {bare / fast:5.1f}x cheaper")
        if "floor" in us:
            print(f"  fast lane vs floor   : {fast / us['floor']:5.2f}x the floor's CPU")
        if protocol == "openai chat":
            ok = fast <= 5.0 and bare / fast >= 10
            failed += not ok
            print(f"  target (<= 5 µs/token, >= 10x): {'met' if ok else 'NOT met'}")
    return failed


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--only", action="append", default=[], choices=list(PROTOCOLS))
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.rounds, args.tokens, args.only)))
