"""LiteLLM through l0, offline: a mid-stream drop continued, a Router that would give up.

Runs against l0's chaos server on 127.0.0.1 (no network, no API key)::

    python examples/litellm_example.py
"""

from __future__ import annotations

import asyncio
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download

import litellm

import l0
from l0.chaos import ChaosServer
from l0.integrations.litellm import L0Router, acompletion, l0_handler

MESSAGES = [{"role": "user", "content": "Tell me about rivers"}]
NEXT_DEPLOYMENT = l0.Retry(attempts=0, max_retries=0)  # no same-deployment retry: show the hop


async def main() -> None:
    litellm.suppress_debug_info = True
    l0_handler.on_event = lambda e: print(f"  [litellm callback] {e.name} {e.data.get('model')}")
    litellm.callbacks.append(l0_handler)

    async with ChaosServer("drop_after_tokens=6; ok; drop_after_tokens=6", restate=4) as server:
        print("1. the drop-in acompletion (the first response is cut after 6 tokens):")
        response = await acompletion(
            model="openai/chaos",
            api_base=server.openai_base_url,
            api_key="test",
            messages=MESSAGES,
            stream=True,
        )
        text = ""
        async for chunk in response:  # LiteLLM's own chunk objects
            text += chunk.choices[0].delta.content or "" if chunk.choices else ""
        print(f"   complete answer: {text == server.answer}; errors: {response.result.errors}")

        print("2. a Router group of two deployments; the first drops mid-stream:")
        router = litellm.Router(
            model_list=[
                {
                    "model_name": "chat",
                    "model_info": {"id": name},
                    "litellm_params": {
                        "model": f"openai/{name}",
                        "api_base": server.openai_base_url,
                        "api_key": "test",
                    },
                }
                for name in ("primary", "backup")
            ]
        )
        async with L0Router(router, retry=NEXT_DEPLOYMENT).stream(
            model="chat", messages=MESSAGES
        ) as s:
            async for _ in s:
                pass
        print(f"   complete answer: {s.result.text == server.answer}")
        print(f"   upstream calls: {[(r.body['model'], r.outcome) for r in server.requests[2:]]}")


if __name__ == "__main__":
    asyncio.run(main())
