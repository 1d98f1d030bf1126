"""Guardrails, drift and structured output end to end through the real OpenAI SDK (openai 3.x
over httpx2), served SSE bytes by an httpx2.MockTransport at the network edge."""

from __future__ import annotations

import json

import httpx2
import pytest
from openai import AsyncOpenAI
from pydantic import BaseModel

import l0
from l0.guardrails import recommended
from l0.output.structured import StructuredAttempt, structured
from l0.testing import FakeClock


def sse(*pieces: str) -> bytes:
    """A chat.completions stream carrying ``pieces`` as content deltas."""

    def chunk(delta: dict[str, object], finish: str | None = None) -> str:
        body = {
            "id": "chatcmpl-l0",
            "object": "chat.completion.chunk",
            "created": 1760000000,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        return f"data: {json.dumps(body)}\n\n"

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": p}) for p in pieces]
    events += [chunk({}, "stop"), "data: [DONE]\n\n"]
    return "".join(events).encode()


class Cassette:
    """Serves one scripted response per request, in order; records the requests."""

    def __init__(self, *responses: httpx2.Response) -> None:
        self.responses = list(responses)
        self.requests: list[dict[str, object]] = []

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(json.loads(request.content))
        return self.responses.pop(0)

    def client(self) -> AsyncOpenAI:
        transport = httpx2.MockTransport(self.handler)
        return AsyncOpenAI(
            api_key="test",
            base_url="http://127.0.0.1:9/v1",
            http_client=httpx2.AsyncClient(transport=transport),
            max_retries=0,
        )


def ok(*pieces: str) -> httpx2.Response:
    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=sse(*pieces))


def sdk_source(client: AsyncOpenAI, messages: list[dict[str, str]]):  # type: ignore[no-untyped-def]
    """A source returning the SDK's own stream (l0's openai adapter reads it); a structured
    attempt's validation feedback is sent along (instructor-style re-ask)."""

    async def source(attempt: l0.Attempt):  # type: ignore[no-untyped-def]
        msgs = (
            attempt.retry_messages(messages) if isinstance(attempt, StructuredAttempt) else messages
        )
        return await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=msgs,  # type: ignore[arg-type]
            stream=True,
        )

    return source


ANSWER = (
    "## Capitals\n\n",
    "| Country | Capital |\n",
    "|---|---|\n",
    "| France | Paris |\n",
    "| Norway | Oslo |\n\n",
    "Both are ",
    "capital cities",
    ".",
)


@pytest.mark.anyio
async def test_recommended_preset_and_drift_pass_a_clean_sdk_stream() -> None:
    cassette = Cassette(ok(*ANSWER))
    events: list[str] = []
    result = await l0.run(
        sdk_source(cassette.client(), [{"role": "user", "content": "Capitals?"}]),
        guardrails=recommended(),
        drift=True,
        check_intervals=l0.CheckIntervals(guardrails=2, drift=3),
        on_event=lambda e: events.append(e.name),
        on_complete=None,
    )
    assert result.finish_reason == "stop"
    assert result.text == "".join(ANSWER)
    assert result.state.violations == []
    assert not result.state.drift_detected
    assert "GUARDRAIL_RULE_RESULT" not in events
    assert "DRIFT_CHECK_RESULT" in events
    assert len(cassette.requests) == 1


@pytest.mark.anyio
async def test_violation_retries_through_the_sdk_and_recovers() -> None:
    cassette = Cassette(
        ok("Well, ", "as an AI ", "language model, ", "I think Paris."),
        ok(*ANSWER),
    )
    seen: list[l0.ObservabilityEvent] = []
    async with l0.stream(
        sdk_source(cassette.client(), [{"role": "user", "content": "Capitals?"}]),
        guardrails=recommended(),
        clock=FakeClock(),
        on_event=seen.append,
    ) as s:
        events = [e async for e in s]
    result = s.result
    assert result.text == "".join(ANSWER)
    assert result.state.violations == []  # the state describes the final attempt
    assert [v.rule for v in result.errors[0].violations] == ["pattern.meta_commentary"]
    assert result.state.model_retry_count == 1
    assert isinstance(result.errors[0], l0.GuardrailViolationError)
    # Checked release (the default with recommended()): the rejected text was held back, so
    # the consumer never saw it and nothing needs taking back.
    assert not any(e.type is l0.EventType.RESET for e in events)
    assert "".join(e.text or "" for e in events if e.type is l0.EventType.TOKEN) == result.text
    assert [e.name for e in seen].count("ATTEMPT_START") == 2
    assert {e.data["adapter"] for e in seen if e.name == "ADAPTER_DETECTED"} == {"openai"}
    assert len(cassette.requests) == 2


@pytest.mark.anyio
async def test_broken_json_mid_stream_is_caught_by_json_rule() -> None:
    cassette = Cassette(ok('{"a": [1, ', "2}}"), ok('{"a": ', "[1, 2]}"))
    result = await l0.run(
        sdk_source(cassette.client(), [{"role": "user", "content": "json"}]),
        guardrails=recommended(),
        clock=FakeClock(),
    )
    assert json.loads(result.text) == {"a": [1, 2]}
    assert result.errors[0].violations[0].rule == "json.balance"


class City(BaseModel):
    name: str
    population: int


@pytest.mark.anyio
async def test_structured_over_the_sdk_429_then_fenced_then_invalid_then_valid() -> None:
    cassette = Cassette(
        httpx2.Response(
            429,
            headers={"retry-after": "2", "content-type": "application/json"},
            json={
                "error": {
                    "message": "Rate limit",
                    "type": "requests",
                    "code": "rate_limit_exceeded",
                }
            },
        ),
        ok('{"name": "Oslo", ', '"population": "lots"}'),
        ok("Here you go:\n```json\n", '{"name": "Oslo", "population": 709000}', "\n```"),
    )
    clock = FakeClock()
    res = await structured(
        City,
        sdk_source(cassette.client(), [{"role": "user", "content": "Oslo as JSON"}]),
        clock=clock,
    )
    assert res.data == City(name="Oslo", population=709000)
    assert res.corrected
    assert "strip_markdown_fence" in res.corrections
    assert res.raw.startswith("Here you go:")
    assert max(clock.sleeps) >= 2.0  # Retry-After obeyed
    assert res.result.state.network_retry_count == 1
    assert res.result.state.model_retry_count == 1
    # The third request carried the validation feedback (instructor-style re-ask).
    last = cassette.requests[-1]["messages"]
    assert isinstance(last, list)
    assert "population" in last[-1]["content"]
