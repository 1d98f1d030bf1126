"""The LiteLLM proxy with ``L0Handler`` as its callback: overhead and recovery.

    python benchmarks/bench_litellm_proxy.py [--tokens 1000] [--rounds 15]

Starts two real proxies (``litellm --config``) over one chaos server: one with
``L0Handler`` as its callback, one without any callback (the floor, same process, same run).
A plain openai SDK client reads the same healthy answer of ``--tokens`` tokens through each,
alternating, and the script prints

* overhead on a healthy stream: median client time with the handler minus without, in ms
  per 1,000 tokens (and the ratio);
* recovery after a drop (the upstream cut after half the tokens): the longest gap between two
  chunks the client received (the drop, l0's backoff, the re-issue through the router and
  the first new chunk), and that gap minus the configured backoff.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import openai

from l0.chaos import ChaosServer
from l0.testing.litellm_proxy import LiteLLMProxy

BACKOFF = 0.05
HANDLER = f"""
from l0 import Retry
from l0.integrations.litellm import L0Handler

handler = L0Handler(retry=Retry(backoff="fixed", base_delay={BACKOFF}))
"""
MESSAGES = [{"role": "user", "content": "words"}]


def model_list(server: ChaosServer) -> list[dict[str, Any]]:
    params = {"model": "openai/bench", "api_base": server.openai_base_url, "api_key": "test"}
    return [{"model_name": "chat", "litellm_params": params}]


def read(proxy: LiteLLMProxy) -> tuple[float, float, str]:
    """(total seconds, longest gap between chunks, text) of one streamed answer."""
    client = openai.OpenAI(base_url=proxy.base_url, api_key=proxy.master_key, max_retries=0)
    start = last = time.perf_counter()
    gap = 0.0
    text = []
    for chunk in client.chat.completions.create(model="chat", messages=MESSAGES, stream=True):
        now = time.perf_counter()
        gap = max(gap, now - last)
        last = now
        if chunk.choices and chunk.choices[0].delta.content:
            text.append(chunk.choices[0].delta.content)
    client.close()
    return last - start, gap, "".join(text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    answer = "".join(f" w{i}" for i in range(args.tokens)).lstrip()
    settings = {"num_retries": 0}
    with ChaosServer(answer=answer) as server:
        guarded = LiteLLMProxy(
            model_list(server),
            callbacks="l0_cb.handler",
            callbacks_module=HANDLER,
            router_settings=settings,
        )
        plain = LiteLLMProxy(model_list(server), router_settings=settings)
        for p in (guarded, plain):
            p.start()
        try:
            for p in (guarded, plain):
                p.wait()
                read(p)  # warm-up: first-request imports and connections
            timings: dict[str, list[float]] = {"l0": [], "plain": []}
            for _ in range(args.rounds):
                for name, p in (("l0", guarded), ("plain", plain)):
                    total, _gap, text = read(p)
                    assert text == answer, f"{name}: wrong text"
                    timings[name].append(total)
            with_l0 = statistics.median(timings["l0"])
            floor = statistics.median(timings["plain"])
            per_k = (with_l0 - floor) * 1000 / args.tokens * 1000
            print(f"healthy stream, {args.tokens} tokens, median of {args.rounds}:")
            print(f"  proxy without callback: {floor * 1000:8.1f} ms")
            print(f"  proxy with L0Handler:   {with_l0 * 1000:8.1f} ms ({with_l0 / floor:.2f}x)")
            print(f"  overhead: {per_k:.1f} ms per 1,000 tokens")

            gaps = []
            for _ in range(max(3, args.rounds // 3)):
                server.set_plan(f"drop_after_tokens={args.tokens // 2}")
                _total, gap, text = read(guarded)
                assert text == answer, "recovered text differs"
                gaps.append(gap)
            recovery = statistics.median(gaps)
            print(f"recovery after a drop (median of {len(gaps)}):")
            print(f"  longest gap between client chunks: {recovery * 1000:.1f} ms")
            print(
                f"  minus the {BACKOFF * 1000:.0f} ms backoff: {(recovery - BACKOFF) * 1000:.1f} ms"
            )
        finally:
            for p in (guarded, plain):
                p.stop()


if __name__ == "__main__":
    main()
