"""One source per client stack (openai SDK, anthropic SDK, LiteLLM, LangChain's ChatOpenAI),
pointed at a chaos server with a provider quirk profile."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm
import openai
from langchain_openai import ChatOpenAI

from l0.chaos import ChaosServer
from l0.testing.chaos import anthropic_client, openai_client

from .helpers import USER

STACKS = ("openai", "anthropic", "litellm", "langchain")

OPENAI_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Search the web.",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}},
                "required": ["query"],
            },
        },
    }
]
ANTHROPIC_TOOLS = [
    {
        "name": "search",
        "description": "Search the web.",
        "input_schema": OPENAI_TOOLS[0]["function"]["parameters"],  # type: ignore[index]
    }
]
EXPECTED_CALLS = [
    ("call-1", "search", {"query": "weather Oslo"}),
    ("call-2", "search", {"query": "weather Rome"}),
]

Source = Callable[[Any], Any]


@asynccontextmanager
async def source_for(
    stack: str, server: ChaosServer, profile: str, *, tools: bool = False
) -> AsyncIterator[Source]:
    """A source (continuing the checkpoint) for ``stack`` against ``server`` under
    ``profile`` (chosen per request through the model name)."""
    if stack == "openai":
        async with openai_client(server) as client:
            extra: dict[str, Any] = {"tools": OPENAI_TOOLS} if tools else {}
            yield lambda attempt: client.chat.completions.create(
                model=f"gpt-chaos@{profile}",
                messages=attempt.continuation_messages(USER),
                stream=True,
                **extra,
            )
    elif stack == "anthropic":
        async with anthropic_client(server) as client:
            extra = {"tools": ANTHROPIC_TOOLS} if tools else {}
            yield lambda attempt: client.messages.create(
                model=f"claude-chaos@{profile}",
                max_tokens=512,
                messages=attempt.continuation_messages(USER),
                stream=True,
                **extra,
            )
    elif stack == "litellm":
        async with openai_client(server) as sdk:
            extra = {"tools": OPENAI_TOOLS} if tools else {}
            yield lambda attempt: litellm.acompletion(
                model=f"openai/chaos@{profile}",
                messages=attempt.continuation_messages(USER),
                stream=True,
                client=sdk,
                max_retries=0,
                **extra,
            )
    else:
        # Our own HTTP client: langchain_openai caches its default one per base URL, and a
        # later server may get this server's port.
        async with openai.DefaultAsyncHttpxClient() as http:
            model = ChatOpenAI(
                model=f"chaos@{profile}",
                base_url=server.openai_base_url,
                api_key="test",  # type: ignore[arg-type]
                max_retries=0,
                http_async_client=http,
            )
            runnable: Any = model.bind_tools(OPENAI_TOOLS) if tools else model
            yield lambda attempt: runnable.astream(attempt.continuation_messages(USER))


def calls_of(result: Any) -> list[tuple[str, str, Any]]:
    return [(c.id, c.name, c.arguments) for c in result.tool_calls]
