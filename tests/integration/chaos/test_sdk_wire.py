"""The real openai and anthropic SDKs (no l0) parse what the chaos server sends, and raise
the errors its faults are meant to cause."""

from __future__ import annotations

import anthropic
import openai
import pytest

from l0.chaos import DEFAULT_ANSWER, ChaosServer
from l0.testing.chaos import anthropic_client, openai_client

from .helpers import USER

pytestmark = pytest.mark.anyio


async def test_openai_chat_stream_with_usage(chaos: ChaosServer) -> None:
    async with openai_client(chaos) as client:
        stream = await client.chat.completions.create(
            model="gpt-chaos",
            messages=USER,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == DEFAULT_ANSWER
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == len(chaos.requests[0].tokens)
    assert chunks[0].model == "gpt-chaos"


async def test_openai_chat_stream_manager_and_non_stream(chaos: ChaosServer) -> None:
    async with openai_client(chaos) as client:
        async with client.chat.completions.stream(model="m", messages=USER) as stream:
            final = await stream.get_final_completion()
        assert final.choices[0].message.content == DEFAULT_ANSWER
        plain = await client.chat.completions.create(model="m", messages=USER)
        assert plain.choices[0].message.content == DEFAULT_ANSWER


async def test_openai_responses_stream(chaos: ChaosServer) -> None:
    async with openai_client(chaos) as client:
        stream = await client.responses.create(model="m", input="hi", stream=True)
        events = [event async for event in stream]
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == DEFAULT_ANSWER
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == DEFAULT_ANSWER


async def test_openai_errors_by_fault() -> None:
    plan = "status=429,retry_after=2; status=401; inband_error=1; malformed_after_tokens=2"
    async with ChaosServer(plan) as server, openai_client(server) as client:
        with pytest.raises(openai.RateLimitError) as rate:
            await client.chat.completions.create(model="m", messages=USER, stream=True)
        assert rate.value.response.headers["retry-after"] == "2"
        with pytest.raises(openai.AuthenticationError):
            await client.chat.completions.create(model="m", messages=USER, stream=True)
        stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
        with pytest.raises(openai.APIError, match="injected in-stream server_error"):
            async for _ in stream:
                pass
        stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
        with pytest.raises(ValueError, match="Unterminated string|Expecting"):
            async for _ in stream:
                pass


async def test_openai_truncated_stream_ends_silently() -> None:
    """The SDK does not notice a stream without finish reason or [DONE]: l0 must."""
    async with ChaosServer("truncate_after_tokens=3") as server, openai_client(server) as client:
        stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
        chunks = [chunk async for chunk in stream]
    assert all(c.choices[0].finish_reason is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Rivers carve canyons"


async def test_anthropic_stream_and_final_message(chaos: ChaosServer) -> None:
    async with (
        anthropic_client(chaos) as client,
        client.messages.stream(model="claude-chaos", max_tokens=99, messages=USER) as stream,
    ):
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert text == DEFAULT_ANSWER
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == len(chaos.requests[0].tokens)
    assert final.model == "claude-chaos"


async def test_anthropic_errors_by_fault() -> None:
    plan = "status=529; inband_error=2; stall_after_bytes=0,stall_for=0.05,keepalive=0.01"
    async with ChaosServer(plan) as server, anthropic_client(server) as client:
        with pytest.raises(anthropic.APIStatusError) as overloaded:
            await client.messages.create(model="m", max_tokens=9, messages=USER, stream=True)
        assert overloaded.value.status_code == 529
        stream = await client.messages.create(model="m", max_tokens=9, messages=USER, stream=True)
        with pytest.raises(anthropic.APIStatusError, match="overloaded_error") as inband:
            async for _ in stream:
                pass
        assert inband.value.status_code == 200  # an error event inside a 200 stream
        # ping keepalives during a stall are skipped by the SDK: no event reaches the caller
        stream = await client.messages.create(model="m", max_tokens=9, messages=USER, stream=True)
        kinds = [event.type async for event in stream]
    assert "ping" not in kinds
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"


def test_sync_clients_against_a_threaded_server() -> None:
    with ChaosServer("drop_after_tokens=2") as server:
        with openai_client(server, sync=True) as client:
            stream = client.chat.completions.create(model="m", messages=USER, stream=True)
            with pytest.raises(openai.APIConnectionError):
                for _ in stream:
                    pass
        with anthropic_client(server, sync=True) as aclient:
            message = aclient.messages.create(model="m", max_tokens=9, messages=USER)
    assert message.content[0].text == DEFAULT_ANSWER
    assert [r.outcome for r in server.requests] == ["dropped", "complete"]
