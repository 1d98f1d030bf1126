"""A key of any shape that the provider echoes back appears nowhere l0 writes.

The chaos server's ``echo_key`` fault puts the request's credentials (the SDK client's API key
and a configured ``X-Custom-Token`` header) into its error bodies and an
``x-echoed-credential`` response header; the real openai SDK turns them into exceptions whose
messages hold the keys. Every sink is checked: the raised error and every error met, the
lifecycle events, OpenTelemetry spans, Sentry envelopes, l0's logs and FastAPI's SSE/HTTP
errors.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
import sentry_sdk
from fastapi import Depends, FastAPI
from fastapi.responses import Response

import l0
from l0.chaos import ChaosServer
from l0.integrations.fastapi import L0Stream, l0_stream
from l0.observability.monitoring import combine
from l0.observability.sentry import SentryHandler
from l0.redaction import MASK, forget_secrets, redact, register_secret
from l0.testing import FakeClock
from l0.testing.chaos import anthropic_client, openai_client

from .conftest import Otel
from .test_sentry import DSN, MemoryTransport

pytestmark = pytest.mark.anyio


def openai_chat(client: Any) -> Any:
    return lambda attempt: client.chat.completions.create(
        model="gpt-chaos", messages=attempt.continuation_messages(USER), stream=True
    )


KEYS = {
    "openai_project": "sk-proj-7Qx2LmN9pR4sT6vW8yZ0aB1cD3eF5gH7",
    "aws_like": "AKIAZ7Q2W9E4R1T6Y3U8",
    "github_like": "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "hex32": "d41d8cd98f00b204e9800998ecf8427e",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsMCJ9.c2lnbmF0dXJlLXBhcnQ",
    "passphrase": "correct-horse-battery-staple-42",
    "uuid": "3f2a9c1e-7b4d-4e21-9a0c-55d1e2f3a4b6",
}
# A mid-stream in-band error, a retryable 500, then a fatal 401: each echoes the keys.
PLAN = "inband_error=2,echo_key=body; status=500,echo_key=both; status=401,echo_key=both"
USER = [{"role": "user", "content": "Tell me about reliable streams."}]


def anthropic_messages(client: Any) -> Any:
    return lambda attempt: client.messages.create(
        model="claude-chaos",
        max_tokens=256,
        messages=attempt.continuation_messages(USER),
        stream=True,
    )


CLIENTS: dict[str, Any] = {"openai": openai_client, "anthropic": anthropic_client}
SOURCES: dict[str, Any] = {"openai": openai_chat, "anthropic": anthropic_messages}
RETRY = l0.Retry(attempts=5, max_retries=5, base_delay=0)


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


@pytest.fixture
def sentry() -> Iterator[MemoryTransport]:
    t = MemoryTransport()
    client = sentry_sdk.Client(
        dsn=DSN, transport=t, traces_sample_rate=1.0, default_integrations=False
    )
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        yield t
    client.close()


def secrets_for(key: str) -> tuple[str, str]:
    return key, "tok-" + key[::-1]  # the API key and a configured custom header


def leaks(text: str, secrets: tuple[str, ...]) -> list[str]:
    return [s for s in secrets if s in text]


def _text_of(exc: BaseException) -> str:
    parts = [str(exc), repr(exc)]
    if isinstance(exc, l0.L0Error):
        parts.append(repr(exc.to_dict()))
    for inner in getattr(exc, "errors", ()):
        parts.append(_text_of(inner))
    return "\n".join(parts)


@pytest.mark.parametrize(
    ("sdk", "shape"),
    [("openai", shape) for shape in sorted(KEYS)]
    + [("anthropic", "passphrase"), ("anthropic", "hex32")],
)
async def test_echoed_key_reaches_no_sink(
    sdk: str, shape: str, otel: Otel, sentry: MemoryTransport, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = secrets_for(KEYS[shape])
    seen: list[l0.ObservabilityEvent] = []

    def leaky_handler(event: l0.ObservabilityEvent) -> None:
        # A user handler that fails quoting the SDK's own message: l0 logs it, masked.
        err = event.data.get("error")
        if event.name == "ERROR" and isinstance(err, BaseException) and err.__cause__:
            raise RuntimeError(f"handler saw {err.__cause__}")

    caplog.set_level(logging.DEBUG)
    async with (
        ChaosServer(PLAN) as server,
        CLIENTS[sdk](
            server, api_key=secrets[0], default_headers={"X-Custom-Token": secrets[1]}
        ) as client,
    ):
        with pytest.raises(l0.L0Error) as caught:
            await l0.run(
                SOURCES[sdk](client),
                retry=RETRY,
                clock=FakeClock(),
                on_event=combine(seen.append, otel.handler, SentryHandler(), leaky_handler),
            )
    # The provider did echo the keys: the SDK's exceptions carry them.
    causes = [str(e.__cause__) for e in caught.value.errors if e.__cause__ is not None]  # type: ignore[attr-defined]
    assert any(all(s in c for s in secrets) for c in causes), causes
    assert len(server.requests) == 3

    events_text = "\n".join(f"{e.name} {e.data!r}" for e in seen)
    events_text += "".join(
        str(v) for e in seen for v in e.data.values() if isinstance(v, BaseException)
    )
    sinks = {
        "raised error": _text_of(caught.value),
        "events": events_text,
        "opentelemetry": "\n".join(span.to_json() for span in otel.spans()),
        "sentry": sentry.raw(),
        "logs": "\n".join(
            r.getMessage() + (r.exc_text or "") for r in caplog.records if r.name.startswith("l0")
        ),
    }
    found = {name: leaks(text, secrets) for name, text in sinks.items()}
    assert found == {name: [] for name in sinks}
    # Each sink did receive the error (masked), so the check above is not vacuous.
    assert MASK in sinks["raised error"] and MASK in sinks["events"]
    assert "exception" in sinks["opentelemetry"] and MASK in sinks["opentelemetry"]
    assert sentry.items("event") and MASK in sinks["sentry"]
    assert "handler saw" in sinks["logs"] and MASK in sinks["logs"]


L0S = Annotated[L0Stream, Depends(l0_stream)]


@pytest.mark.parametrize("shape", ["passphrase", "hex32", "uuid"])
@pytest.mark.parametrize("plan", ["status=401,echo_key=both", "inband_error=3,echo_key=body"])
async def test_echoed_key_reaches_no_fastapi_error(shape: str, plan: str) -> None:
    secrets = secrets_for(KEYS[shape])
    async with (
        ChaosServer(plan) as server,
        openai_client(
            server, api_key=secrets[0], default_headers={"X-Custom-Token": secrets[1]}
        ) as client,
    ):
        app = FastAPI()

        @app.get("/chat")
        async def chat(l0s: L0S) -> Response:
            return l0s(openai_chat(client), retry=l0.Retry(attempts=0, max_retries=0))

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            r = await http.get("/chat")
    assert ("error" in r.text) and leaks(r.text, secrets) == []
    if plan.startswith("inband"):
        assert r.status_code == 200 and "event: error" in r.text  # after the first tokens
    else:
        assert r.status_code >= 400


def test_registered_secrets_are_masked_in_any_structure() -> None:
    register_secret("hunter2-but-longer")
    record = {
        "headers": {"x-pass": "hunter2-but-longer"},
        "events": [("ERROR", "bad password hunter2-but-longer!")],
        "error": ValueError("url https://u:hunter2-but-longer@host"),
        "n": 3,
    }
    out = redact(record)
    assert "hunter2-but-longer" not in repr(out)
    assert out["n"] == 3 and out["events"][0][0] == "ERROR"
    assert out["headers"]["x-pass"] == MASK


def test_pattern_masks_still_apply_to_unknown_keys() -> None:
    text = "key sk-abcdef123456, Authorization: Bearer abc.def-ghi, url ?api_key=zzz9&x=1"
    assert redact(text) == f"key {MASK}, Authorization: {MASK}, url ?{MASK}&x=1"


def test_short_or_non_string_secrets_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="at least 8 characters"):
        register_secret("abc")
    with pytest.raises(TypeError, match="str"):
        register_secret(12345678)  # type: ignore[arg-type]


def test_the_public_door() -> None:
    assert l0.register_secret is register_secret
    assert l0.redact is redact


def test_every_l0_logger_masks() -> None:
    from l0.redaction import L0_LOGGERS, RedactingFilter

    source = "\n".join(p.read_text() for p in Path(l0.__file__).parent.rglob("*.py"))
    used = set(re.findall(r"getLogger\(\"(l0[\w.]*)\"\)", source))
    assert used and used <= set(L0_LOGGERS), used - set(L0_LOGGERS)
    for name in L0_LOGGERS:
        assert any(isinstance(f, RedactingFilter) for f in logging.getLogger(name).filters)
