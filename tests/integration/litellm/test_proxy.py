"""The real LiteLLM proxy with ``L0Handler`` as its callback, driven by the plain openai SDK.

One proxy process per module (it takes tens of seconds to import); its upstream is a chaos
server (group ``chat``: deployments ``a`` and ``b``). Each test sets the faults of the next
upstream requests and checks what the proxy's client received: the full answer, byte for
byte, no error, no text twice, one stream identity and one final chunk.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from l0.chaos import DEFAULT_ANSWER, ChaosServer
from l0.testing.litellm_proxy import LiteLLMProxy

from . import proxy_setup
from .proxy_setup import ANSWERS, TOKENS

# The proxy's start-up is not part of any test's 30 s budget (it is one module fixture).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(30, func_only=True)]


@pytest.fixture(scope="module")
def proxy() -> Iterator[LiteLLMProxy]:
    _upstream, p = proxy_setup.start()  # usually started at collection (conftest)
    try:
        p.wait()
    except BaseException:
        proxy_setup.stop()  # a proxy that failed to start must not leak its log file
        raise
    yield p
    proxy_setup.stop()


@pytest.fixture(scope="module")
def upstream(proxy: LiteLLMProxy) -> ChaosServer:
    return proxy_setup.start()[0]


@pytest.fixture
def server(upstream: ChaosServer, proxy: LiteLLMProxy) -> ChaosServer:
    """The upstream, its log cleared, every answer clean unless a test says otherwise."""
    upstream.reset()
    ANSWERS.poison = 0
    ANSWERS.after.clear()
    return upstream


def client(proxy: LiteLLMProxy) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.base_url, api_key=proxy.master_key, max_retries=0)


def read(proxy: LiteLLMProxy) -> tuple[str, list[Any]]:
    chunks = list(
        client(proxy).chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "rivers?"}], stream=True
        )
    )
    text = "".join((c.choices[0].delta.content or "") for c in chunks if c.choices)
    return text, chunks


def assert_one_stream(chunks: list[Any]) -> None:
    """One id/model/created across the stream; exactly one finish reason, at the end."""
    assert len({(c.id, c.model, c.created) for c in chunks}) == 1
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert [f for f in finishes if f is not None] == ["stop"]
    assert next(f for f in reversed(finishes)) == "stop"


def test_healthy_stream_passes_through(server: ChaosServer, proxy: LiteLLMProxy) -> None:
    text, chunks = read(proxy)
    assert text == DEFAULT_ANSWER
    assert_one_stream(chunks)
    content = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert content == TOKENS  # chunk for chunk, as the upstream sent them
    assert [r.outcome for r in server.requests] == ["complete"]


@pytest.mark.parametrize(
    ("plan", "outcomes"),
    [
        ("drop_after_tokens=30", ["dropped", "complete"]),
        ("drop_after_tokens=23", ["dropped", "complete"]),  # right after a held " a"
        ("stall_after_tokens=10", ["stalled", "complete"]),
        ("malformed_after_tokens=10", ["malformed", "complete"]),
        ("inband_error=10,error_type=overloaded_error", ["inband_error", "complete"]),
        ("drop_after_tokens=8; status=429,retry_after=0.3", ["dropped", "status", "complete"]),
        ("drop_after_tokens=8; status=529", ["dropped", "status", "complete"]),
        ("drop_after_tokens=5; drop_after_tokens=20", ["dropped", "dropped", "complete"]),
    ],
)
def test_faults_are_invisible_to_the_client(
    server: ChaosServer, proxy: LiteLLMProxy, plan: str, outcomes: list[str]
) -> None:
    server.set_plan(plan)
    started = time.monotonic()
    text, chunks = read(proxy)
    assert text == DEFAULT_ANSWER
    assert_one_stream(chunks)
    assert [r.outcome for r in server.requests] == outcomes
    resumed = server.requests[-1]
    assert resumed.continuation.matched  # continued from the text the client had
    assert resumed.messages[-1]["role"] == "assistant"
    if "retry_after" in plan:
        assert time.monotonic() - started >= 0.3


def test_guardrail_violation_is_retried_without_sending_the_rejected_text(
    server: ChaosServer, proxy: LiteLLMProxy
) -> None:
    ANSWERS.poison = 1
    text, chunks = read(proxy)
    assert "FORBIDDEN" not in text
    assert text == DEFAULT_ANSWER
    assert_one_stream(chunks)
    first, second = server.requests
    assert first.outcome in ("client_gone", "complete")  # l0 cut it, or it had ended
    assert second.continuation.matched  # continued from the clean text already sent


def test_a_fresh_answer_after_a_rejected_one_ends_with_an_error_event(
    server: ChaosServer, proxy: LiteLLMProxy
) -> None:
    """The re-issued request ignores the client's text and answers afresh: it cannot be
    reconciled with what the client has, so the stream ends with an error event (issue 11)."""
    ANSWERS.poison = 1
    ANSWERS.after = ["Quiet meadows hold small flowers near cold streams."] * 3
    shown = ""
    stream = client(proxy).chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "rivers?"}], stream=True
    )
    with pytest.raises(openai.APIError) as info:
        for chunk in stream:
            shown += (chunk.choices[0].delta.content or "") if chunk.choices else ""
    assert shown and DEFAULT_ANSWER.startswith(shown)  # a clean prefix, nothing glued on
    assert "cannot take them back" in str(info.value)
    second = server.requests[1]
    assert second.continuation.prefix and not second.continuation.matched


def test_client_disconnect_closes_the_upstream_at_once(
    server: ChaosServer, proxy: LiteLLMProxy
) -> None:
    server.set_plan("ok,slow=0.01")
    stream = client(proxy).chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "rivers?"}], stream=True
    )
    for i, _ in enumerate(stream):
        if i == 5:
            break
    stream.close()
    closed = time.monotonic()
    while server.requests[-1].outcome == "pending" and time.monotonic() - closed < 5:
        time.sleep(0.002)
    elapsed = time.monotonic() - closed
    assert server.requests[-1].outcome == "client_gone"
    assert len(server.requests[-1].tokens) < len(TOKENS)
    assert elapsed < 0.25, f"upstream closed {elapsed * 1000:.0f} ms after the client left"
