"""Both handlers, combined with a user handler, over a real OpenAI SDK stream (chaos server)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sentry_sdk
from opentelemetry.trace import StatusCode

import l0
from l0.chaos import ChaosServer
from l0.observability.monitoring import combine
from l0.observability.sentry import SentryHandler
from l0.testing import FakeClock
from l0.testing.chaos import openai_client

from .conftest import Otel
from .test_sentry import DSN, MemoryTransport

pytestmark = pytest.mark.anyio


@pytest.fixture
async def chaos() -> AsyncIterator[ChaosServer]:
    async with ChaosServer() as server:
        yield server


async def _run_openai(chaos: ChaosServer, on_event: l0.runtime.events.EventHandler) -> l0.Result:
    async with openai_client(chaos) as client:
        return await l0.run(
            lambda a: client.chat.completions.create(
                model="gpt-4o-mini",
                messages=a.continuation_messages([{"role": "user", "content": "tell me"}]),
                stream=True,
                stream_options={"include_usage": True},
            ),
            continuation=True,
            retry=l0.Retry(base_delay=0),
            clock=FakeClock(),
            context={"model": "gpt-4o-mini"},
            on_event=on_event,
        )


async def test_openai_drop_then_continue_traced(chaos: ChaosServer, otel: Otel) -> None:
    chaos.set_plan("drop_after_tokens=5,ok")
    seen: list[str] = []
    result = await _run_openai(chaos, combine(otel.handler, lambda e: seen.append(e.name)))
    assert result.text == chaos.answer
    assert seen[0] == "SESSION_START" and seen[-1] == "SESSION_END"
    run = otel.span("chat gpt-4o-mini")
    attrs = dict(run.attributes or {})
    assert attrs["gen_ai.provider.name"] == "openai"  # from the detected adapter
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert run.status.status_code is StatusCode.OK
    assert [e.name for e in run.events] == ["l0.retry"]  # continued: no reset
    second = otel.span("l0.attempt 2")
    assert [e.name for e in second.events] == ["l0.resume"]
    assert otel.total("l0.retries") == 1


async def test_openai_usage_is_the_providers_not_the_chunk_count(
    chaos: ChaosServer, otel: Otel
) -> None:
    result = await _run_openai(chaos, otel.handler)
    assert result.usage is not None and result.usage.output_tokens is not None
    attrs = dict(otel.span("chat gpt-4o-mini").attributes or {})
    assert attrs["gen_ai.usage.output_tokens"] == result.usage.output_tokens
    assert attrs["gen_ai.usage.input_tokens"] == result.usage.input_tokens
    assert otel.total("gen_ai.client.token.usage", **{"gen_ai.token.type": "output"}) == 1


async def test_openai_auth_failure_reported_without_secrets(chaos: ChaosServer, otel: Otel) -> None:
    chaos.set_plan("status=401")
    transport = MemoryTransport()
    client = sentry_sdk.Client(dsn=DSN, transport=transport, default_integrations=False)
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        with pytest.raises(l0.L0Error):
            await _run_openai(chaos, combine(otel.handler, SentryHandler()))
    client.close()
    [event] = transport.items("event")
    assert event["tags"]["l0.error.category"] == "fatal"
    assert event["tags"]["l0.error.status"] == "401"
    raw = transport.raw()
    assert "tell me" not in raw  # the prompt
    assert "Bearer" not in raw and '"test"' not in raw  # the API key ("test")
    run = otel.span("chat gpt-4o-mini")
    assert run.status.status_code is StatusCode.ERROR
    assert dict(run.attributes or {})["l0.error.category"] == "fatal"
