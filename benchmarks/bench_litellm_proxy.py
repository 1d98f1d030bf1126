"""The LiteLLM proxy with ``L0Handler`` as its callback: overhead and recovery.

    python benchmarks/bench_litellm_proxy.py [--tokens 1000] [--rounds 15]

Starts three real proxies (``litellm --config``) over one chaos server: one with
``L0Handler`` as its callback, one without any callback (the floor), and one whose callback
only passes the chunks through its ``async_post_call_streaming_iterator_hook`` (what any
per-chunk hook costs in the proxy, which leaves its fast path once one is configured).
A plain openai SDK client reads the same healthy answer of ``--tokens`` tokens through each,
alternating, and the script prints

* overhead on a healthy stream: median client time with the handler minus without, in ms
  per 1,000 tokens (and the ratio), against the floor and against the pass-through hook;
* recovery after a drop (the upstream cut after half the tokens): the longest gap between two
  chunks the client received (the drop, l0's backoff, the re-issue through the router and
  the first new chunk), and that gap minus the configured backoff.
"""

from __future__ import annotations

import argparse
import os
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
PASS_THROUGH = """
from litellm.integrations.custom_logger import CustomLogger


class PassThrough(CustomLogger):
    async def async_post_call_streaming_iterator_hook(self, user_api_key_dict, response, request_data):
        async for chunk in response:
            yield chunk


handler = PassThrough()
"""
MESSAGES = [{"role": "user", "content": "words"}]


def model_list(server: ChaosServer) -> list[dict[str, Any]]:
    params = {"model": "openai/bench", "api_base": server.openai_base_url, "api_key": "test"}
    return [{"model_name": "chat", "litellm_params": params}]


def cpu_seconds(proxy: LiteLLMProxy) -> float:
    """CPU time (user + system) the proxy process has used so far (Linux ``/proc``)."""
    assert proxy.process is not None
    with open(f"/proc/{proxy.process.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
        passing = LiteLLMProxy(
            model_list(server),
            callbacks="l0_cb.handler",
            callbacks_module=PASS_THROUGH,
            router_settings=settings,
        )
        proxies = {"l0": guarded, "plain": plain, "pass": passing}
        for p in proxies.values():
            p.start()
        try:
            for p in proxies.values():
                p.wait()
                read(p)  # warm-up: first-request imports and connections
            timings: dict[str, list[float]] = {name: [] for name in proxies}
            cpu = dict.fromkeys(proxies, 0.0)
            for _ in range(args.rounds):
                for name, p in proxies.items():
                    before = cpu_seconds(p)
                    total, _gap, text = read(p)
                    cpu[name] += cpu_seconds(p) - before
                    assert text == answer, f"{name}: wrong text"
                    timings[name].append(total)
            med = {name: statistics.median(t) for name, t in timings.items()}
            # CPU time is what the proxy itself spends, whatever else runs on the machine.
            tokens = args.rounds * args.tokens / 1000
            print(f"proxy CPU per 1,000 tokens ({args.rounds} answers each):")
            for name in proxies:
                print(f"  {name:6} {cpu[name] * 1000 / tokens:8.1f} ms")
            print(
                f"  L0Handler CPU vs plain: +{(cpu['l0'] - cpu['plain']) * 1000 / tokens:.1f} ms,"
            )
            print(
                f"               vs pass-through hook: +{(cpu['l0'] - cpu['pass']) * 1000 / tokens:.1f} ms"
            )
            print(
                f"healthy stream, {args.tokens} tokens, client wall time, median of {args.rounds}:"
            )
            for name, label in (
                ("plain", "proxy without callback"),
                ("pass", "pass-through iterator hook"),
                ("l0", "proxy with L0Handler"),
            ):
                ratio = med[name] / med["plain"]
                print(f"  {label:27} {med[name] * 1000:8.1f} ms ({ratio:.2f}x)")
            for base in ("plain", "pass"):
                per_k = (med["l0"] - med[base]) * 1000 / args.tokens * 1000
                print(f"  L0Handler overhead vs {base}: {per_k:.1f} ms per 1,000 tokens")

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
            for p in proxies.values():
                p.stop()


if __name__ == "__main__":
    main()
