"""Lifecycle bugs found against the TypeScript L0 canonical spec (issue 19), each pinned.

- after the primary's retries run out: ``ERROR RETRY_GIVE_UP FALLBACK_START``;
- the run's ``context`` is deep-copied, read-only, and on every event;
- a source returning something unreadable is an invalid stream (not an unknown adapter);
- ``L0Error.timestamp`` / ``has_checkpoint`` (and in ``to_dict()``); the runtime sets
  ``checkpoint`` on every error met after text was delivered; ``State.checkpoint`` after a
  clean run;
- untyped "host not found" / "certificate" / "self signed" messages are network errors.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from types import MappingProxyType
from typing import Any

import pytest

import l0
from l0.errors import ErrorCategory, ErrorCode, NetworkErrorKind, to_l0_error
from l0.testing import FakeClock, ScriptedSource, drop, fail, tokens

pytestmark = pytest.mark.anyio
NO_WAIT = l0.Retry(backoff="fixed", base_delay=0.0, max_retries=2)


def names(events: list[l0.ObservabilityEvent]) -> list[str]:
    return [e.name for e in events]


async def test_retries_exhausted_then_fallback_emits_give_up_between() -> None:
    seen: list[l0.ObservabilityEvent] = []
    result = await l0.run(
        ScriptedSource([drop()]),
        fallbacks=[lambda: ["ok"]],
        retry=NO_WAIT,
        on_event=seen.append,
        clock=FakeClock(),
    )
    assert result.text == "ok"
    got = names(seen)
    i = got.index("FALLBACK_START")
    assert got[i - 2 : i + 2] == ["ERROR", "RETRY_GIVE_UP", "FALLBACK_START", "ATTEMPT_START"]
    assert got.count("RETRY_GIVE_UP") == 1
    give_up = seen[i - 1]
    assert give_up.data["retries"] == 2
    assert seen[i - 2].data["action"] == "fallback"


async def test_fatal_error_falls_back_without_give_up() -> None:
    # No retry was made on the primary: nothing to give up.
    seen: list[l0.ObservabilityEvent] = []
    await l0.run(
        ScriptedSource([fail(l0.AuthenticationError("no", status_code=401))]),
        fallbacks=[lambda: ["ok"]],
        on_event=seen.append,
        clock=FakeClock(),
    )
    assert "RETRY_GIVE_UP" not in names(seen)


@pytest.mark.parametrize("sources", [1, 2, 3])
async def test_give_up_precedes_every_fallback_and_the_final_failure(sources: int) -> None:
    seen: list[l0.ObservabilityEvent] = []
    fallbacks = [ScriptedSource([drop()]) for _ in range(sources - 1)]
    with pytest.raises(l0.RetriesExhaustedError):
        await l0.run(
            ScriptedSource([drop()]),
            fallbacks=fallbacks,
            retry=NO_WAIT,
            on_event=seen.append,
            clock=FakeClock(),
        )
    got = names(seen)
    assert got.count("RETRY_GIVE_UP") == sources
    for i, name in enumerate(got):
        if name in ("FALLBACK_START", "SESSION_END"):
            assert got[i - 2 : i] == ["ERROR", "RETRY_GIVE_UP"], got


async def test_context_is_deep_copied_frozen_and_on_every_event() -> None:
    context: dict[str, Any] = {"user": {"id": 7, "tags": ["a"]}, "model": "m"}
    seen: list[l0.ObservabilityEvent] = []

    def handler(event: l0.ObservabilityEvent) -> None:
        seen.append(event)
        if event.name == "FIRST_TOKEN":  # the caller changes its dict mid-run
            context["user"]["id"] = 8
            context["user"]["tags"].append("b")
            context["model"] = "changed"

    await l0.run(
        ScriptedSource(["Hel", drop()], ["Hello"]),
        retry=NO_WAIT,
        context=context,
        on_event=handler,
        clock=FakeClock(),
    )
    start = seen[0]
    assert start.name == "SESSION_START"
    assert start.data["context"] == {"user": {"id": 7, "tags": ("a",)}, "model": "m"}
    assert all(e.context is start.data["context"] for e in seen), "context on every event"
    frozen = start.context
    assert isinstance(frozen, MappingProxyType)
    with pytest.raises(TypeError):
        frozen["model"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        frozen["user"]["id"] = 9


async def test_no_context_is_an_empty_mapping_on_every_event() -> None:
    seen: list[l0.ObservabilityEvent] = []
    await l0.run(lambda: ["a"], on_event=seen.append, clock=FakeClock())
    assert all(dict(e.context) == {} for e in seen)


@pytest.mark.parametrize("returned", [42, None, 3.5, object()], ids=["42", "None", "3.5", "object"])
async def test_an_unreadable_source_is_an_invalid_stream(returned: object) -> None:
    with pytest.raises(l0.InvalidStreamError) as info:
        await l0.run(lambda: returned, clock=FakeClock())
    assert info.value.code is ErrorCode.INVALID_STREAM


def test_an_unknown_adapter_name_keeps_adapter_not_found() -> None:
    from l0.adapters import get_adapter

    with pytest.raises(l0.InvalidStreamError) as info:
        get_adapter("no-such-adapter")
    assert info.value.code is ErrorCode.ADAPTER_NOT_FOUND


def test_l0_error_timestamp_and_has_checkpoint_in_to_dict() -> None:
    before = time.time()
    err = l0.NetworkError("dropped")
    assert before <= err.timestamp <= time.time()
    assert err.has_checkpoint is False
    d = err.to_dict()
    assert d["timestamp"] == err.timestamp and d["has_checkpoint"] is False
    err.checkpoint = "Hello"
    assert err.has_checkpoint and err.to_dict()["has_checkpoint"] is True
    json.dumps(err.to_dict())  # JSON-safe


async def test_the_runtime_sets_checkpoint_on_a_drop_after_delivered_text() -> None:
    source = ScriptedSource([*tokens("0123456789", 2), drop()], ["fine"])
    result = await l0.run(source, retry=NO_WAIT, clock=FakeClock())
    (err,) = result.errors
    assert isinstance(err, l0.NetworkError)
    assert err.checkpoint == "0123456789" and err.has_checkpoint


async def test_checkpoint_on_the_final_error_and_none_before_any_text() -> None:
    with pytest.raises(l0.RetriesExhaustedError) as info:
        await l0.run(ScriptedSource(["abc", drop()]), retry=NO_WAIT, clock=FakeClock())
    assert info.value.checkpoint == "abc"
    assert all(e.checkpoint == "abc" for e in info.value.errors)  # type: ignore[attr-defined]
    with pytest.raises(l0.RetriesExhaustedError) as info:
        await l0.run(ScriptedSource([drop()]), retry=NO_WAIT, clock=FakeClock())
    assert not info.value.has_checkpoint
    assert not any(e.has_checkpoint for e in info.value.errors)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "error",
    [
        l0.RateLimitError("429", status_code=429),
        l0.ServerError("503", status_code=503),
        l0.StreamTimeoutError("inter_token", 1.0, 1.5),
        l0.ProviderError("odd"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_checkpoint_is_set_whatever_the_error_type(error: l0.L0Error) -> None:
    result = await l0.run(
        ScriptedSource(["Hi ", fail(error)], ["ok"]), retry=NO_WAIT, clock=FakeClock()
    )
    assert result.errors == [error] and error.checkpoint == "Hi "


async def test_state_checkpoint_after_a_clean_run_that_saved_checkpoints() -> None:
    seen: list[l0.ObservabilityEvent] = []
    text = "The quick brown fox jumps over the lazy dog. " * 3
    result = await l0.run(
        lambda: tokens(text, 3),
        check_intervals=l0.CheckIntervals(checkpoint=5),
        on_event=seen.append,
        clock=FakeClock(),
    )
    assert "CHECKPOINT_SAVED" in names(seen)
    assert result.state.checkpoint == text == result.text


@pytest.mark.parametrize(
    ("message", "kind", "category"),
    [
        ("host not found: api.example.com", NetworkErrorKind.DNS, ErrorCategory.NETWORK),
        ("Unknown host api.example.com", NetworkErrorKind.DNS, ErrorCategory.NETWORK),
        (
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed",
            NetworkErrorKind.TLS,
            ErrorCategory.FATAL,
        ),
        ("self signed certificate in chain", NetworkErrorKind.TLS, ErrorCategory.FATAL),
        ("self-signed cert rejected", NetworkErrorKind.TLS, ErrorCategory.FATAL),
        ("invalid certificate for host", NetworkErrorKind.TLS, ErrorCategory.FATAL),
    ],
)
def test_untyped_dns_and_certificate_messages_are_network_errors(
    message: str, kind: NetworkErrorKind, category: ErrorCategory
) -> None:
    err = to_l0_error(RuntimeError(message))
    assert isinstance(err, l0.NetworkError)  # was ProviderError
    assert err.kind is kind and err.category is category
    assert l0.categorize_error(RuntimeError(message)) is category


def test_untyped_certificate_message_is_classed_like_the_typed_error() -> None:
    typed = to_l0_error(ssl.SSLCertVerificationError("certificate verify failed"))
    untyped = to_l0_error(RuntimeError("certificate verify failed"))
    assert typed is not None and untyped is not None
    assert (type(untyped), untyped.category, untyped.kind) == (  # type: ignore[attr-defined]
        type(typed),
        typed.category,
        typed.kind,  # type: ignore[attr-defined]
    )
    dns = to_l0_error(socket.gaierror("host not found"))
    assert dns is not None and dns.category is ErrorCategory.NETWORK


async def test_logging_info_per_retry_and_fallback_warning_on_give_up_no_token_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG", logger="l0")
    result = await l0.run(
        ScriptedSource(["SECRET-TOKEN-TEXT", drop()]),
        fallbacks=[lambda: ["fine"]],
        retry=NO_WAIT,
        clock=FakeClock(),
    )
    assert result.text == "fine"
    info = [r for r in caplog.records if r.levelname == "INFO" and r.name == "l0"]
    assert sum(" reset: discard=17 chars" in r.getMessage() for r in info) == 3
    info = [r for r in info if " reset: " not in r.getMessage()]
    steps = [" retrying:", " retrying:", " falling back:"]
    assert len(info) == 3 and all(s in r.getMessage() for s, r in zip(steps, info, strict=True))
    assert all(result.telemetry.stream_id in r.getMessage() for r in info)
    assert "category=network" in info[0].getMessage() and "delay=" in info[0].getMessage()
    assert not any("SECRET-TOKEN-TEXT" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with pytest.raises(l0.RetriesExhaustedError):
        await l0.run(ScriptedSource([drop()]), retry=NO_WAIT, clock=FakeClock())
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "gave up after 3 attempt(s)" in warnings[0].getMessage()
    # A usage error is raised as it is: the give-up line is INFO, no warning beside it.
    caplog.clear()

    def broken() -> Any:
        raise ValueError("a bug in the caller's factory")

    with pytest.raises(ValueError, match="a bug in the caller"):
        await l0.run(broken, retry=NO_WAIT, clock=FakeClock())
    assert [r for r in caplog.records if r.levelname == "WARNING"] == []
    assert any("gave up after 1 attempt(s)" in r.getMessage() for r in caplog.records)


async def test_logging_resume_reset_and_debug_per_attempt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG", logger="l0")
    await l0.run(
        ScriptedSource(["Hello", drop()], ["Hello world"]),
        continuation=True,
        retry=NO_WAIT,
        clock=FakeClock(),
    )
    messages = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "l0"]
    assert sum(1 for lv, m in messages if lv == "DEBUG" and " attempt " in m) == 2
    assert any(lv == "INFO" and "resuming from checkpoint: chars=5" in m for lv, m in messages)
    caplog.clear()
    await l0.run(ScriptedSource(["Hello", drop()], ["Hi"]), retry=NO_WAIT, clock=FakeClock())
    assert any("reset: discard=5 chars" in r.getMessage() for r in caplog.records)
    assert not any("Hello" in r.getMessage() for r in caplog.records)
