"""Issue 20's hostile-but-valid chunks, through the real openai and anthropic SDKs (a fake
transport at the network edge serves the SSE bodies): a shape whose meaning is clear is
tolerated; any other is a MalformedChunkError (network: retried), and once the primary's
retries are spent the fallback is tried — never a bare AttributeError/KeyError."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

import l0

pytestmark = [pytest.mark.reliability, pytest.mark.anyio]

USER = [{"role": "user", "content": "hi"}]
GOOD = [
    {"choices": [{"index": 0, "delta": {"content": "fall"}}]},
    {"choices": [{"index": 0, "delta": {"content": "back"}, "finish_reason": "stop"}]},
]


def sse(chunks: list[Any], *, done: bool = True) -> bytes:
    body = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    return body + (b"data: [DONE]\n\n" if done else b"")


def anthropic_sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


class Served:
    """One body per model name; counts the requests per model."""

    def __init__(self, bodies: dict[str, bytes]) -> None:
        self.bodies = bodies
        self.requests: dict[str, int] = dict.fromkeys(bodies, 0)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        model = json.loads(request.content)["model"]
        self.requests[model] += 1
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, content=self.bodies[model]
        )


def openai_source(served: Served, model: str) -> Any:
    import openai

    client = openai.AsyncOpenAI(
        api_key="sk-test-key-0000",
        base_url="http://provider.test/v1",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(served)),
    )
    return lambda: client.chat.completions.create(model=model, messages=USER, stream=True)


RETRY = l0.Retry(attempts=1, max_retries=2, base_delay=0.0, backoff="fixed")


@pytest.mark.parametrize(
    "bad",
    [
        {"choices": {"index": 0, "delta": {"content": "x"}}},  # choices is an object
        {"choices": [{"index": 0, "delta": "Hello"}]},  # delta is a string
        {"choices": [{"index": 0, "delta": {"content": 7}}]},  # content is a number
        {"choices": [{"index": 0, "delta": {"tool_calls": {"index": 0}}}]},  # not a list
    ],
)
async def test_a_malformed_chunk_is_retried_then_the_fallback_is_tried(bad: Any) -> None:
    served = Served({"primary": sse([GOOD[0], bad, GOOD[1]]), "fallback": sse(GOOD)})
    result = await l0.run(
        openai_source(served, "primary"),
        fallbacks=[openai_source(served, "fallback")],
        retry=RETRY,
    )
    assert result.text == "fallback"
    assert served.requests == {"primary": 3, "fallback": 1}  # 1 + 2 retries, then fallback
    errors = [e for e in result.errors if isinstance(e, l0.MalformedChunkError)]
    assert len(errors) == 3
    assert all(e.category is l0.ErrorCategory.NETWORK for e in errors)
    assert errors[0].chunk  # the raw chunk travels with the error


async def test_a_choice_without_delta_carries_nothing() -> None:
    odd = {"choices": [{"index": 0}]}
    served = Served({"primary": sse([GOOD[0], odd, GOOD[1]]), "fallback": sse(GOOD)})
    result = await l0.run(openai_source(served, "primary"), retry=RETRY)
    assert result.text == "fallback"
    assert served.requests["primary"] == 1


async def test_the_malformed_chunk_is_carried_redacted() -> None:
    bad = {"choices": {"leak": "sk-live-abcdefghijklmnop"}}
    served = Served({"primary": sse([bad]), "fallback": sse(GOOD)})
    result = await l0.run(
        openai_source(served, "primary"),
        fallbacks=[openai_source(served, "fallback")],
        retry=l0.Retry(attempts=1, max_retries=0),
    )
    err = result.errors[0]
    assert isinstance(err, l0.MalformedChunkError)
    assert "sk-live-abcdefghijklmnop" not in err.chunk
    assert "[redacted]" in err.chunk


async def test_anthropic_usage_of_zero_is_tolerated() -> None:
    import anthropic

    events = [
        {"type": "message_start", "message": {"id": "m", "usage": 0}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": "many"},
        {"type": "message_stop"},
    ]
    served = Served({"claude": anthropic_sse(events)})
    client = anthropic.AsyncAnthropic(
        api_key="sk-ant-test-0000",
        base_url="http://provider.test",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(served)),
    )
    result = await l0.run(
        lambda: client.messages.create(model="claude", max_tokens=5, messages=USER, stream=True)
    )
    assert result.text == "Hi"
    assert result.finish_reason == "end_turn"
    assert served.requests == {"claude": 1}


async def test_anthropic_dict_chunks_are_decoded() -> None:
    events = [
        {"type": "message_start", "message": {"usage": {"input_tokens": 3, "output_tokens": 1}}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ok"}},
        {"type": "message_stop"},
    ]

    async def chunks() -> Any:
        for event in events:
            yield event

    result = await l0.run(chunks, adapter="anthropic")
    assert result.text == "ok"
    assert result.usage is not None and result.usage.input_tokens == 3
