"""Real ``ChatOpenAI`` pointed at an ``l0.chaos`` server (real HTTP, no keys)."""

from __future__ import annotations

from langchain_openai import ChatOpenAI

from l0.chaos import ChaosServer


def chaos_openai(server: ChaosServer, model: str = "gpt-4o-mini") -> ChatOpenAI:
    """A streaming ``ChatOpenAI`` on ``server``, without the SDK's own retries."""
    return ChatOpenAI(
        model=model,
        base_url=server.openai_base_url,
        api_key="t",  # type: ignore[arg-type]
        max_retries=0,
        streaming=True,
    )
