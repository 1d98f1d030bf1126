"""SentryHandler against the real sentry_sdk, with a transport that keeps envelopes in memory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

import l0
from l0.guardrails import CustomPatternRule
from l0.observability.sentry import SentryHandler
from l0.testing import FakeClock, ScriptedSource, drop, stall, tokens

pytestmark = pytest.mark.anyio

DSN = "http://public@127.0.0.1:9/1"  # never contacted: the transport below keeps everything


class MemoryTransport(Transport):
    """Keeps every envelope; sends nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def items(self, kind: str) -> list[dict[str, Any]]:
        return [
            item.payload.json
            for env in self.envelopes
            for item in env.items
            if item.type == kind and item.payload.json is not None
        ]

    def raw(self) -> str:
        return "".join(env.serialize().decode("utf-8", "replace") for env in self.envelopes)


@pytest.fixture
def transport() -> Iterator[MemoryTransport]:
    """A Sentry client bound to an isolation scope only (the global client is untouched)."""
    t = MemoryTransport()
    client = sentry_sdk.Client(
        dsn=DSN, transport=t, traces_sample_rate=1.0, default_integrations=False
    )
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        yield t
    client.close()


RETRY = l0.Retry(max_retries=2, base_delay=0)


async def test_success_is_one_transaction_with_attempt_spans(transport: MemoryTransport) -> None:
    source = ScriptedSource([*tokens("Hello"), drop()], tokens("Hello, world"))
    await l0.run(
        source,
        on_event=SentryHandler(),
        retry=RETRY,
        clock=FakeClock(),
        context={"model": "gpt-4o-mini", "provider": "openai"},
        stream_id="run-ok",
    )
    assert transport.items("event") == []  # a recovered run captures nothing
    [tx] = transport.items("transaction")
    assert tx["transaction"] == "chat gpt-4o-mini"
    assert tx["contexts"]["trace"]["op"] == "gen_ai.chat"
    data = tx["contexts"]["trace"]["data"]
    assert data["gen_ai.operation.name"] == "chat"
    assert data["gen_ai.request.model"] == "gpt-4o-mini"
    assert data["gen_ai.provider.name"] == "openai" and "gen_ai.system" not in data
    assert tx["contexts"]["trace"]["status"] == "ok"
    assert tx["tags"]["l0.stream_id"] == "run-ok"
    spans = sorted(tx["spans"], key=lambda s: s["description"])
    assert [s["description"] for s in spans] == ["l0.attempt 1", "l0.attempt 2"]
    assert [s["status"] for s in spans] == ["internal_error", "ok"]
    # The transaction ends when the run ends, after its attempts (not at once).
    assert tx["timestamp"] >= max(s["timestamp"] for s in spans)


async def test_final_failure_is_captured_once_with_tags(transport: MemoryTransport) -> None:
    source = ScriptedSource([*tokens("prompt-echo"), drop("connection reset by peer")])
    with pytest.raises(l0.L0Error):
        await l0.run(
            source, on_event=SentryHandler(), retry=RETRY, clock=FakeClock(), stream_id="run-x"
        )
    [event] = transport.items("event")
    assert event["tags"]["l0.stream_id"] == "run-x"
    assert event["tags"]["l0.error.category"] == "network"
    assert event["tags"]["l0.error.code"]
    assert event["tags"]["l0.error.raised"] == "RetriesExhaustedError"
    assert event["exception"]["values"]
    crumbs = [c["message"] for c in event["breadcrumbs"]["values"]]
    assert crumbs.count("l0 retry") == 2
    assert "l0 network error" in crumbs and "l0 gave up retrying" in crumbs
    values = event["exception"]["values"]
    frames = [f for v in values for f in v.get("stacktrace", {}).get("frames", [])]
    assert frames
    for frame in frames:
        assert "vars" not in frame  # no frame locals: they could hold prompts or headers
    [tx] = transport.items("transaction")
    assert tx["contexts"]["trace"]["status"] == "internal_error"


async def test_network_failure_not_captured_when_disabled(transport: MemoryTransport) -> None:
    with pytest.raises(l0.L0Error):
        await l0.run(
            ScriptedSource([drop()]),
            on_event=SentryHandler(capture_network_errors=False),
            retry=RETRY,
            clock=FakeClock(),
        )
    assert transport.items("event") == []
    assert len(transport.items("transaction")) == 1


async def test_abort_is_not_an_error_event(transport: MemoryTransport) -> None:
    with pytest.raises(l0.AbortedError):
        async with l0.stream(
            ScriptedSource([*tokens("a b c d"), stall(5)]), on_event=SentryHandler()
        ) as s:
            async for _ in s:
                s.abort()
    assert transport.items("event") == []
    [tx] = transport.items("transaction")
    assert tx["contexts"]["trace"]["status"] == "cancelled"


async def test_cancellation_finishes_the_transaction(transport: MemoryTransport) -> None:
    with anyio.move_on_after(0.05):
        await l0.run(ScriptedSource([*tokens("x y"), stall(5)]), on_event=SentryHandler())
    [tx] = transport.items("transaction")
    assert tx["contexts"]["trace"]["status"] == "cancelled"


async def test_violation_captured_once_per_rule_at_min_severity(
    transport: MemoryTransport,
) -> None:
    rule = CustomPatternRule([r"secret-\d+"], message="leaked", severity="error")
    await l0.run(
        ScriptedSource(tokens("the code is secret-123 ok"), tokens("a clean answer")),
        guardrails=[rule],
        retry=l0.Retry(base_delay=0),
        on_event=SentryHandler(),
        clock=FakeClock(),
    )
    [message] = transport.items("event")
    assert message["message"] == "l0 guardrail violation: custom_pattern"
    assert message["tags"]["l0.guardrail.rule"] == "custom_pattern"
    assert "secret-123" not in transport.raw()  # the matched text never leaves


async def test_violation_below_min_severity_is_only_a_breadcrumb(
    transport: MemoryTransport,
) -> None:
    rule = CustomPatternRule([r"secret-\d+"], severity="warning")
    await l0.run(
        ScriptedSource(tokens("the code is secret-123 ok")),
        guardrails=[rule],
        on_event=SentryHandler(min_violation_severity="fatal"),
        clock=FakeClock(),
    )
    assert transport.items("event") == []


async def test_nothing_happens_without_an_active_client() -> None:
    handler = SentryHandler()
    with sentry_sdk.isolation_scope():
        await l0.run(ScriptedSource(tokens("fine")), on_event=handler, clock=FakeClock())
    assert handler._runs == {}


def test_bad_severity_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match="min_violation_severity"):
        SentryHandler(min_violation_severity="critical")
