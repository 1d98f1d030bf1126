"""Every adapter passes the conformance suite (l0.testing.conformance), through the real SDKs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx2
import litellm
import openai
import pytest

from l0.adapters import TEXT_ADAPTER, get_adapter
from l0.errors import (
    AuthenticationError,
    ErrorCategory,
    NetworkError,
    RateLimitError,
    ServerError,
)
from l0.testing.conformance import AdapterCase, CancelCase, ErrorCase, run_conformance
from l0.types import ToolCall, Usage

from .support import MESSAGES, OPENAI_TEXT_USAGE, play

pytestmark = pytest.mark.anyio

OA_REQ = httpx2.Request("POST", "https://api.openai.com/v1/chat/completions")
AN_REQ = httpx2.Request("POST", "https://api.anthropic.com/v1/messages")
PARIS = ToolCall(
    "call_l0_paris",
    "get_weather",
    {"city": "Paris", "unit": "c"},
    '{"city": "Paris", "unit": "c"}',
    0,
)
TOKYO = ToolCall("call_l0_tokyo", "get_weather", {"city": "Tokyo"}, '{"city": "Tokyo"}', 1)
TIME = ToolCall("call_l0_time", "get_time", {}, "{}", 2)


def _usage(i: int, o: int, **details: Any) -> Usage:
    return Usage(input_tokens=i, output_tokens=o, total_tokens=i + o, details=details)


async def test_openai_adapter_conformance() -> None:
    c = openai.AsyncOpenAI(api_key="test", max_retries=0)

    def create():
        return c.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            stream=True,  # type: ignore[arg-type]
            stream_options={"include_usage": True},
        )

    cases = [
        AdapterCase(
            "text",
            create,
            text="Hello there! How can I help?",
            usage=OPENAI_TEXT_USAGE,
            finish_reason="stop",
            context=lambda: play("openai/chat_text.yaml"),
        ),
        AdapterCase(
            "tools",
            create,
            tool_calls=[PARIS, TOKYO, TIME],
            usage=_usage(82, 51),
            finish_reason="tool_calls",
            context=lambda: play("openai/chat_tools_parallel.yaml"),
        ),
    ]
    errors = [
        ErrorCase(
            "429",
            lambda: openai.RateLimitError(
                "slow", response=httpx2.Response(429, request=OA_REQ), body=None
            ),
            RateLimitError,
            ErrorCategory.TRANSIENT,
        ),
        ErrorCase(
            "401",
            lambda: openai.AuthenticationError(
                "key", response=httpx2.Response(401, request=OA_REQ), body=None
            ),
            AuthenticationError,
            ErrorCategory.FATAL,
        ),
        ErrorCase(
            "drop",
            lambda: openai.APIConnectionError(request=OA_REQ),
            NetworkError,
            ErrorCategory.NETWORK,
        ),
    ]
    cancel = CancelCase(
        create, lambda s: s.response.is_closed, context=lambda: play("openai/chat_text.yaml")
    )
    await run_conformance(get_adapter("openai"), cases, errors=errors, cancel=cancel)


async def test_anthropic_adapter_conformance() -> None:
    c = anthropic.AsyncAnthropic(api_key="test", max_retries=0)

    def create():
        return c.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=64,
            messages=MESSAGES,
            stream=True,  # type: ignore[arg-type]
        )

    tool = ToolCall(
        "toolu_l0_01",
        "get_weather",
        {"city": "Paris", "unit": "c"},
        '{"city": "Paris", "unit": "c"}',
        0,
    )
    cases = [
        AdapterCase(
            "text+tool+thinking",
            create,
            text="Let me check the weather in Paris.",
            tool_calls=[tool],
            usage=_usage(310, 96, cache_creation_input_tokens=0, cache_read_input_tokens=0),
            finish_reason="tool_use",
            context=lambda: play("anthropic/messages_text_tool_thinking.yaml"),
        ),
    ]
    inband_body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    errors = [
        ErrorCase(
            "in-band overloaded",
            lambda: anthropic.APIStatusError(
                "Overloaded", response=httpx2.Response(200, request=AN_REQ), body=inband_body
            ),
            ServerError,
            ErrorCategory.TRANSIENT,
        ),
        ErrorCase(
            "529",
            lambda: anthropic.OverloadedError(
                "Overloaded", response=httpx2.Response(529, request=AN_REQ), body=inband_body
            ),
            ServerError,
            ErrorCategory.TRANSIENT,
        ),
        ErrorCase(
            "raw httpx2 drop",
            lambda: httpx2.ReadError("reset"),
            NetworkError,
            ErrorCategory.NETWORK,
        ),
    ]
    cancel = CancelCase(
        create,
        lambda s: s.response.is_closed,
        context=lambda: play("anthropic/messages_text_tool_thinking.yaml"),
    )
    await run_conformance(get_adapter("anthropic"), cases, errors=errors, cancel=cancel)


async def test_litellm_adapter_conformance() -> None:
    def create():
        return litellm.acompletion(
            model="openai/gpt-4o-mini",
            messages=MESSAGES,
            stream=True,
            api_key="test",
            max_retries=0,
            stream_options={"include_usage": True},
        )

    cases = [
        AdapterCase(
            "tools",
            create,
            tool_calls=[PARIS, TOKYO, TIME],
            usage=_usage(82, 51),
            finish_reason="tool_calls",
            context=lambda: play("litellm/openai_route/chat_tools_parallel.yaml"),
        ),
    ]
    ll = {"llm_provider": "openai", "model": "gpt-4o-mini"}
    errors = [
        ErrorCase(
            "503",
            lambda: litellm.ServiceUnavailableError("down", **ll),
            ServerError,
            ErrorCategory.TRANSIENT,
        ),
        ErrorCase(
            "timeout", lambda: litellm.Timeout("slow", **ll), NetworkError, ErrorCategory.NETWORK
        ),
    ]
    cancel = CancelCase(
        create,
        lambda w: w.completion_stream is None,
        context=lambda: play("litellm/openai_route/chat_text.yaml"),
    )
    await run_conformance(get_adapter("litellm"), cases, errors=errors, cancel=cancel)


class _Gen:
    """An async iterator of strings that records whether it was closed."""

    def __init__(self, parts: list[str]) -> None:
        self.parts = list(parts)
        self.closed = False

    def __aiter__(self) -> AsyncIterator[str]:
        return self

    async def __anext__(self) -> str:
        if self.closed or not self.parts:
            raise StopAsyncIteration
        return self.parts.pop(0)

    async def aclose(self) -> None:
        self.closed = True


async def test_text_adapter_conformance() -> None:
    cases = [AdapterCase("strings", lambda: _Gen(["Hel", "lo"]), text="Hello")]
    errors = [
        ErrorCase(
            "reset", lambda: ConnectionResetError("reset"), NetworkError, ErrorCategory.NETWORK
        )
    ]
    cancel = CancelCase(lambda: _Gen(["a", "b", "c"]), lambda g: g.closed)
    await run_conformance(TEXT_ADAPTER, cases, errors=errors, cancel=cancel)
