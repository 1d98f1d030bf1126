"""Every adapter's decoder against arbitrary JSON-valued chunks: 5,000 generated streams per
adapter and chunk form, 0 untyped exceptions.

A decoder may tolerate a chunk (an absent field carries nothing) or raise an ``L0Error``
(a :class:`~l0.MalformedChunkError` for a shape the protocol does not allow); whatever it
returns is well-formed (events with string text, a ``Usage``, ``ToolCall`` objects).
Chunks are fed as parsed JSON (a plain iterable of dicts) and as the objects the SDKs build
from the same JSON without validation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import l0
from l0.adapters._chat import ChatChunkStream
from l0.adapters.anthropic import AnthropicStream
from l0.adapters.base import AdapterStream
from l0.adapters.langchain import LangChainStream
from l0.adapters.litellm import LiteLLMStream
from l0.adapters.openai import OpenAIStream
from tests.fixtures.fuzz import FUZZ_CASES

from .strategies import ANTHROPIC, CHAT, RESPONSES, json_values, sequences

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(900)]

# 5,000 per adapter is the bar (``L0_FUZZ_CASES=5000``); CI runs a smaller budget.
CASES = FUZZ_CASES
HANG = 2.0  # seconds for one case
FUZZ = settings(
    max_examples=CASES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _openai_chunk(data: Any) -> Any:
    from openai._models import construct_type  # how the SDK builds a chunk from SSE JSON
    from openai.types.chat import ChatCompletionChunk

    return construct_type(value=data, type_=ChatCompletionChunk)


def _openai_event(data: Any) -> Any:
    from openai._models import construct_type
    from openai.types.responses import ResponseStreamEvent

    return construct_type(value=data, type_=ResponseStreamEvent)


def _anthropic_event(data: Any) -> Any:
    from anthropic._models import construct_type
    from anthropic.types import RawMessageStreamEvent

    return construct_type(value=data, type_=RawMessageStreamEvent)


def _as_is(data: Any) -> Any:
    return data


def check_decoder(stream: AdapterStream, chunks: list[Any]) -> None:
    """Decode ``chunks`` as the loop would: stop at the first (typed) error."""
    try:
        for chunk in chunks:
            decoded = stream.decode(chunk)
            events = [decoded] if isinstance(decoded, l0.Event) else decoded or []
            assert isinstance(events, list)
            for ev in events:
                assert isinstance(ev, l0.Event)
                if ev.type is l0.EventType.TOKEN:
                    assert isinstance(ev.text, str)
                if ev.type is l0.EventType.TOOL_CALL:
                    assert isinstance(ev.data, l0.ToolCall)
        for ev in stream.end():
            assert isinstance(ev, l0.Event)
    except l0.L0Error as err:
        if isinstance(err, l0.MalformedChunkError):
            assert err.category is l0.ErrorCategory.NETWORK
            assert err.retryable
    assert stream.usage is None or isinstance(stream.usage, l0.Usage)
    assert all(isinstance(call, l0.ToolCall) for call in stream.tool_calls)
    assert stream.finish_reason is None or isinstance(stream.finish_reason, str)


PROTOCOLS: dict[str, tuple[type[AdapterStream], tuple[dict[str, Any], ...], Callable[..., Any]]] = {
    "openai-chat-sdk": (OpenAIStream, CHAT, _openai_chunk),
    "openai-chat-dict": (OpenAIStream, CHAT, _as_is),
    "openai-responses-sdk": (OpenAIStream, RESPONSES, _openai_event),
    "openai-responses-dict": (OpenAIStream, RESPONSES, _as_is),
    "anthropic-sdk": (AnthropicStream, ANTHROPIC, _anthropic_event),
    "anthropic-dict": (AnthropicStream, ANTHROPIC, _as_is),
    "litellm-dict": (LiteLLMStream, CHAT, _as_is),
    "chat-dict": (ChatChunkStream, CHAT, _as_is),
}


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_decoders_never_raise_an_untyped_exception(protocol: str) -> None:
    pytest.importorskip("openai")
    pytest.importorskip("anthropic")
    stream_class, templates, build = PROTOCOLS[protocol]
    seen = {"cases": 0}
    slowest = [0.0]

    @FUZZ
    @given(sequences(templates))
    def run(data: list[Any]) -> None:
        seen["cases"] += 1
        start = time.perf_counter()
        check_decoder(stream_class(iter(())), [build(d) for d in data])
        slowest[0] = max(slowest[0], time.perf_counter() - start)

    run()
    assert seen["cases"] >= CASES
    print(f"{protocol}: {seen['cases']} cases, slowest {slowest[0] * 1000:.1f} ms")
    assert slowest[0] < HANG  # a case that takes this long is a hang


@st.composite
def _langchain_chunks(draw: st.DrawFn) -> Any:
    from langchain_core.messages import AIMessageChunk

    fields = {
        "content": draw(st.text(max_size=5) | st.lists(json_values, max_size=3)),
        "additional_kwargs": draw(st.dictionaries(st.sampled_from(("reasoning_content", "tool_calls", "x")), json_values, max_size=3)),
        "response_metadata": draw(st.dictionaries(st.sampled_from(("finish_reason", "stop_reason", "model_name", "model_provider")), json_values, max_size=3)),
    }  # fmt: skip
    try:
        return AIMessageChunk(**fields)
    except ValueError:  # pydantic refused the shape: LangChain never yields it
        return draw(json_values)


LANGCHAIN_CASES = max(
    100, CASES // 3
)  # building validated message objects is slow: a smaller budget


def test_langchain_decoder_never_raises_an_untyped_exception() -> None:
    pytest.importorskip("langchain_core")
    seen = {"cases": 0}

    @settings(FUZZ, max_examples=LANGCHAIN_CASES)
    @given(st.lists(_langchain_chunks(), min_size=1, max_size=5))
    def run(chunks: list[Any]) -> None:
        seen["cases"] += 1
        check_decoder(LangChainStream(_no_chunks()), chunks)

    run()
    assert seen["cases"] >= LANGCHAIN_CASES


async def _no_chunks() -> Any:
    return
    yield
