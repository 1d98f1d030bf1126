"""LiteLLM and LangChain chat models pointed at the chaos server, through l0."""

from __future__ import annotations

import os

# LiteLLM fetches its model price map from the network at import unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm
import openai
import pytest
from langchain_anthropic import ChatAnthropic
from langchain_openai import ChatOpenAI

import l0
from l0.chaos import DEFAULT_ANSWER, ChaosServer
from l0.testing import FakeClock
from l0.testing.chaos import openai_client

from .conftest import needs_adapter
from .helpers import USER

pytestmark = pytest.mark.anyio


@needs_adapter("litellm")
async def test_litellm_openai_route() -> None:
    plan = "drop_after_tokens=6; status=429,retry_after=1"
    async with ChaosServer(plan, restate=5) as server, openai_client(server) as sdk:
        result = await l0.run(
            lambda attempt: litellm.acompletion(
                model="openai/chaos",
                messages=attempt.continuation_messages(USER),
                stream=True,
                client=sdk,  # LiteLLM would otherwise build (and cache) its own client
                max_retries=0,
            ),
            continuation=True,
            clock=FakeClock(),
        )
    assert result.text == DEFAULT_ANSWER
    assert [type(e).__name__ for e in result.errors] == ["NetworkError", "RateLimitError"]


@needs_adapter("litellm")
async def test_litellm_anthropic_route() -> None:
    async with ChaosServer("inband_error=3", restate=5) as server:
        result = await l0.run(
            lambda attempt: litellm.acompletion(
                model="anthropic/claude-chaos",
                api_base=server.anthropic_base_url,
                api_key="test",
                messages=attempt.continuation_messages(USER),
                max_tokens=512,
                stream=True,
                max_retries=0,
            ),
            continuation=True,
            clock=FakeClock(),
        )
    assert result.text == DEFAULT_ANSWER
    assert server.requests[0].path == "/v1/messages"


@needs_adapter("langchain")
async def test_langchain_chat_models() -> None:
    # Our own HTTP client: langchain_openai caches its default one per base URL, and closing
    # that would break a later test whose server gets the same port.
    async with (
        ChaosServer("drop_after_tokens=6", restate=5) as server,
        openai.DefaultAsyncHttpxClient() as http,
    ):
        models = [
            ChatOpenAI(
                model="chaos",
                base_url=server.openai_base_url,
                api_key="test",
                max_retries=0,
                http_async_client=http,
            ),
            ChatAnthropic(
                model_name="claude-chaos",
                base_url=server.anthropic_base_url,
                api_key="test",
                max_retries=0,
                timeout=None,
                stop=None,
            ),
        ]
        for model in models:
            server.set_plan("drop_after_tokens=6")
            result = await l0.run(
                lambda attempt, m=model: m.astream(attempt.continuation_messages(USER)),
                continuation=True,
                clock=FakeClock(),
            )
            assert result.text == DEFAULT_ANSWER
        await models[1]._async_client.close()
