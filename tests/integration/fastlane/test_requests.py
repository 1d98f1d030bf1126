"""The fast lane sends the request the SDK's typed call sends.

For openai chat and Responses the fast lane posts plain-JSON arguments directly
(:mod:`l0.fastlane.direct`). Each case sends the same arguments through the typed
``with_streaming_response.create(stream=True, …)`` and through the fast lane, to the chaos
server, and compares what it received: method, path, query, headers (but the per-request ones), body;
and, for an HTTP error, the SDK exception each path raises.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest

import l0
import l0.fastlane
from l0.chaos import ChaosServer
from l0.fastlane.chat import CHAT_ROUTE
from l0.fastlane.direct import DirectRoute, direct_body
from l0.fastlane.responses import RESPONSES_ROUTE
from l0.testing.chaos import openai_client

from .paths import CHAT_USER, OPENAI_TOOLS, RESPONSES_TOOLS

pytestmark = pytest.mark.anyio

VOLATILE = frozenset({"x-stainless-retry-count"})
"""Headers that may differ between two sends of one request."""

OPTIONS: dict[str, Any] = {
    "extra_headers": {"X-Trace": "t-1", "OpenAI-Organization": "org-x"},
    "extra_query": {"api-version": "2026-01-01"},
    "extra_body": {"vendor_flag": True, "temperature": 0.5},
    "timeout": 12.5,
}

CHAT_CASES: dict[str, dict[str, Any]] = {
    "plain": {"model": "gpt-chaos", "messages": CHAT_USER},
    "many": {
        "model": "gpt-chaos",
        "messages": [{"role": "system", "content": "Be brief."}, *CHAT_USER],
        "tools": OPENAI_TOOLS,
        "tool_choice": "auto",
        "temperature": 0.2,
        "max_completion_tokens": 64,
        "stream_options": {"include_usage": True},
        "response_format": {"type": "json_object"},
        "metadata": {"k": "v"},
        "stop": ["\n\n"],
        "seed": 7,
        "user": None,
    },
    "options": {"model": "gpt-chaos", "messages": CHAT_USER, **OPTIONS},
}
RESPONSES_CASES: dict[str, dict[str, Any]] = {
    "plain": {"model": "gpt-chaos", "input": CHAT_USER},
    "many": {
        "model": "gpt-chaos",
        "input": CHAT_USER,
        "instructions": "Be brief.",
        "tools": RESPONSES_TOOLS,
        "max_output_tokens": 64,
        "reasoning": {"effort": "low"},
        "text": {"format": {"type": "text"}},
    },
    "options": {"model": "gpt-chaos", "input": "hello", **OPTIONS},
}
FALLBACK_CASES: dict[str, dict[str, Any]] = {
    "tuple": {"model": "gpt-chaos", "messages": tuple(CHAT_USER)},
    "iterator": {"model": "gpt-chaos", "messages": iter(CHAT_USER)},
}
"""Arguments the typed call transforms (an iterable to a list): sent through it."""


def _cases() -> list[Any]:
    cases = [
        pytest.param("openai.chat", CHAT_ROUTE, kw, True, id=f"chat-{name}")
        for name, kw in CHAT_CASES.items()
    ]
    cases += [
        pytest.param("openai.responses", RESPONSES_ROUTE, kw, True, id=f"responses-{name}")
        for name, kw in RESPONSES_CASES.items()
    ]
    cases += [
        pytest.param("openai.chat", CHAT_ROUTE, kw, False, id=f"chat-fallback-{name}")
        for name, kw in FALLBACK_CASES.items()
    ]
    return cases


def _typed(client: Any, protocol: str) -> Any:
    if protocol == "openai.chat":
        return client.chat.completions.with_streaming_response.create
    return client.responses.with_streaming_response.create


def _helper(protocol: str) -> Any:
    return l0.fastlane.openai_chat if protocol == "openai.chat" else l0.fastlane.openai_responses


def _sent(server: ChaosServer) -> list[tuple[str, str, str, dict[str, str], Any]]:
    return [
        (
            r.method,
            r.path,
            r.query,
            {k: v for k, v in r.headers.items() if k not in VOLATILE},
            r.body,
        )
        for r in server.requests
    ]


def _again(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A fresh copy (an iterator argument is consumed by a send)."""
    messages = kwargs.get("messages")
    if messages is not None and not isinstance(messages, (list, tuple)):
        return {**kwargs, "messages": iter(CHAT_USER)}
    return dict(kwargs)


@pytest.mark.parametrize(("protocol", "route", "kwargs", "direct"), _cases())
async def test_the_fast_lane_sends_the_typed_request(
    protocol: str, route: DirectRoute, kwargs: dict[str, Any], direct: bool
) -> None:
    async with ChaosServer("ok; ok") as server, openai_client(server) as client:
        assert (direct_body(client, route, _again(kwargs)) is not None) is direct
        async with _typed(client, protocol)(**_again(kwargs), stream=True) as response:
            await response.read()
        again = _again(kwargs)
        result = await l0.run(lambda: _helper(protocol)(client, **again))
        assert result.finish_reason
    typed, fast = _sent(server)
    assert fast == typed
    assert typed[4]["stream"] is True


@pytest.mark.parametrize(
    "plan", ["status=400", "status=401", "status=429,retry_after=3", "status=500"]
)
@pytest.mark.parametrize("protocol", ["openai.chat", "openai.responses"])
async def test_an_http_error_is_the_typed_calls_exception(protocol: str, plan: str) -> None:
    kwargs = CHAT_CASES["plain"] if protocol == "openai.chat" else RESPONSES_CASES["plain"]
    errors: list[openai.APIStatusError] = []
    async with ChaosServer(f"{plan}; {plan}") as server, openai_client(server) as client:
        with pytest.raises(openai.APIStatusError) as typed:
            async with _typed(client, protocol)(**kwargs, stream=True):
                pass
        errors.append(typed.value)
        stream = l0.fastlane.FASTLANE_ADAPTER.open(_helper(protocol)(client, **kwargs))
        with pytest.raises(openai.APIStatusError) as fast:
            async for _ in stream.chunks:
                pass
        errors.append(fast.value)
    typed_error, fast_error = errors
    assert type(fast_error) is type(typed_error)
    assert fast_error.status_code == typed_error.status_code
    assert fast_error.message == typed_error.message
    assert fast_error.body == typed_error.body
    assert fast_error.response.headers.get("retry-after") == typed_error.response.headers.get(
        "retry-after"
    )
    typed_sent, fast_sent = _sent(server)
    assert fast_sent == typed_sent


async def test_a_wrapped_create_sees_the_request() -> None:
    """An instrumentation wrapper on ``create`` is not bypassed: the typed call is used."""
    async with ChaosServer("ok") as server, openai_client(server) as client:
        calls: list[dict[str, Any]] = []
        completions = client.chat.completions
        original = completions.create

        async def traced(**kwargs: Any) -> Any:
            calls.append(kwargs)
            return await original(**kwargs)

        completions.create = traced  # type: ignore[method-assign]
        kwargs = CHAT_CASES["plain"]
        assert direct_body(client, CHAT_ROUTE, kwargs) is None
        result = await l0.run(lambda: l0.fastlane.openai_chat(client, **kwargs))
    assert result.text
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "gpt-chaos"}, "Missing required arguments"),
        ({"model": "gpt-chaos", "messages": CHAT_USER, "colour": "red"}, "colour"),
    ],
    ids=["missing", "unknown"],
)
async def test_bad_arguments_raise_the_typed_calls_error(
    kwargs: dict[str, Any], message: str
) -> None:
    async with ChaosServer("ok") as server, openai_client(server) as client:
        with pytest.raises(TypeError, match=message):
            await l0.run(lambda: l0.fastlane.openai_chat(client, **kwargs))
        assert server.requests == []


async def test_an_azure_client_sends_the_typed_request() -> None:
    """``AsyncAzureOpenAI`` rewrites the URL from the body's model (a deployment path) and
    authenticates with ``api-key``: in its own request builder, which both calls go through."""
    kwargs = CHAT_CASES["plain"]
    async with ChaosServer("ok; ok") as server:
        endpoint = server.openai_base_url.rsplit("/v1", 1)[0]
        client = openai.AsyncAzureOpenAI(
            api_key="test", azure_endpoint=endpoint, api_version="2024-10-21", max_retries=0
        )
        async with client:
            assert direct_body(client, CHAT_ROUTE, kwargs) is not None
            async with _typed(client, "openai.chat")(**kwargs, stream=True) as response:
                await response.read()
            result = await l0.run(lambda: l0.fastlane.openai_chat(client, **kwargs))
    assert result.finish_reason
    typed, fast = _sent(server)
    assert fast == typed
    assert typed[1] == "/openai/deployments/gpt-chaos/chat/completions"


@pytest.mark.parametrize(
    ("helper", "client", "message"),
    [
        ("openai_chat", openai.OpenAI(api_key="k"), r"async client \(AsyncOpenAI or "),
        ("openai_responses", openai.OpenAI(api_key="k"), r"async client .*got OpenAI$"),
        ("anthropic_messages", openai.AsyncOpenAI(api_key="k"), "anthropic async client"),
    ],
    ids=["sync-openai", "sync-openai-responses", "openai-for-anthropic"],
)
def test_a_wrong_client_is_named_with_the_one_to_use(
    helper: str, client: Any, message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        getattr(l0.fastlane, helper)(client, model="m", messages=CHAT_USER)


async def test_a_request_passed_as_the_source_is_sent_again_on_each_attempt() -> None:
    # l0.run(l0.fastlane.openai_chat(...)) was refused ("source must be a callable"): a ready
    # SDK stream is read once, but a fast-lane request is l0's to send, again on a retry.
    async with (
        ChaosServer("status=503; drop_after_tokens=3; ok") as server,
        openai_client(server) as client,
    ):
        request = l0.fastlane.openai_chat(client, **CHAT_CASES["plain"])
        result = await l0.run(request, retry=l0.Retry(base_delay=0.0), continuation=True)
    assert result.text == server.answer  # exactly once, though each attempt restarted it
    assert result.state.network_retry_count + result.state.model_retry_count == 2
    assert len(server.requests) == 3
    assert len({repr(r.body) for r in server.requests}) == 1  # the same request each time
