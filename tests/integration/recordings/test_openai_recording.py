"""Recording a real openai SDK stream on the chaos server: no secret, exact replay."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import l0
from l0.chaos import ChaosServer
from l0.redaction import forget_secrets
from l0.testing import FakeClock, recorded_source
from l0.testing.chaos import openai_client

pytestmark = pytest.mark.anyio

KEY = "sk-proj-RECOGNISABLE-FAKE-KEY-7Qx2LmN9pR4sT6vW8yZ0"
HEADER = "tok-custom-HEADER-SECRET-0a1b2c3d4e"
# A mid-stream drop, a 429 echoing the key, an in-band error echoing it, then an answer.
PLAN = (
    "drop_after_tokens=6; status=429,retry_after=1,echo_key=both; inband_error=3,echo_key=body; ok"
)
USER = [{"role": "user", "content": "Tell me about reliable streams."}]


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


def chat(client: Any) -> Any:
    return lambda attempt: client.chat.completions.create(
        model="gpt-chaos",
        messages=attempt.continuation_messages(USER),
        stream=True,
        stream_options={"include_usage": True},
    )


async def test_no_secret_in_the_recording_and_the_replay_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "incident.jsonl"
    async with (
        ChaosServer(PLAN) as server,
        openai_client(server, api_key=KEY, default_headers={"X-Custom-Token": HEADER}) as client,
    ):
        result = await l0.run(
            chat(client),
            retry=l0.Retry(attempts=5, max_retries=5, base_delay=0.2),
            continuation=True,
            clock=FakeClock(),
            record=path,
        )
    text = path.read_text()
    assert KEY not in text and HEADER not in text
    assert KEY[:12] not in text  # not even a prefix of the key
    assert "[redacted]" in text  # the echoed key was there, masked
    rec = await l0.load_recording(path)
    assert rec.text == result.text and rec.status == "completed"
    faults = [a.fault["err"]["type"] for a in rec.attempts() if a.fault]
    assert faults[:2] == ["NetworkError", "RateLimitError"]
    rate_limited = next(a.fault for a in rec.attempts() if a.fault and "429" in str(a.fault))
    assert rate_limited["err"]["attrs"]["retry_after"] == 1.0
    assert rate_limited["err"]["attrs"]["status_code"] == 429
    assert {a.open["adapter"] for a in rec.attempts() if a.open} == {"openai"}

    rep = await l0.replay(path)  # no network: the server is gone
    assert rep.identical, rep.first_difference
    assert rep.result is not None and rep.text == result.text
    assert rep.result.usage == result.usage and rep.result.finish_reason == "stop"
    assert [type(e) for e in rep.result.errors] == [type(e) for e in result.errors]
    assert [e.text for e in rep.events if e.type is l0.EventType.TOKEN]


async def test_the_incident_as_a_regression_test(tmp_path: Path) -> None:
    path = tmp_path / "incident.jsonl"
    async with ChaosServer(PLAN) as server, openai_client(server, api_key=KEY) as client:
        live = await l0.run(
            chat(client), retry=l0.Retry(base_delay=0), continuation=True, record=path
        )
    source = recorded_source(path)
    result = await l0.run(source, retry=l0.Retry(base_delay=0), continuation=True)
    assert result.text == live.text
    assert [type(e).__name__ for e in result.errors] == [type(e).__name__ for e in live.errors]
    assert source.calls == len(live.errors) + 1
