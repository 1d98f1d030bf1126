"""The behaviours the TypeScript L0 canonical specification sets down (its
``tests/fixtures/canonical-spec.json``), checked against l0 in our own words.

Where l0 differs on purpose, the test pins l0's choice and docs/observability.md
("Differences from TypeScript L0") says why.
"""

from __future__ import annotations

import itertools
from types import MappingProxyType
from typing import Any

import pytest

import l0
from l0.errors import (
    AbortedError,
    DriftError,
    GuardrailViolationError,
    InvalidStreamError,
    NetworkError,
    StreamTimeoutError,
    ZeroOutputError,
    to_l0_error,
)
from l0.testing import FakeClock, ScriptedSource, drop, fail

pytestmark = pytest.mark.anyio


async def _retry_then_fallback_run() -> tuple[list[l0.ObservabilityEvent], dict[str, Any]]:
    context: dict[str, Any] = {"user": {"id": 7, "tags": ["a"]}}
    seen: list[l0.ObservabilityEvent] = []
    primary = ScriptedSource(["Hel", drop()], [fail(l0.AuthenticationError("bad key"))])
    result = await l0.run(
        primary,
        fallbacks=[["from backup"]],
        retry=l0.Retry(backoff="fixed", base_delay=0.5),
        context=context,
        on_event=seen.append,
        clock=FakeClock(),
    )
    assert result.text == "from backup"
    return seen, context


async def test_lifecycle_invariants_hold_across_a_retry_and_a_fallback() -> None:
    seen, context = await _retry_then_fallback_run()
    names = [e.name for e in seen]
    # One session anchor, one end, whatever happened in between.
    assert names.count("SESSION_START") == 1 and names[0] == "SESSION_START"
    assert names.count("SESSION_END") == 1 and names[-1] == "SESSION_END"
    # Each attempt after the first is announced: a retry by RETRY_ATTEMPT, a fallback by
    # FALLBACK_START (l0 also emits ATTEMPT_START for the first attempt and for fallbacks).
    starts = [i for i, n in enumerate(names) if n == "ATTEMPT_START"]
    assert len(starts) == 3
    announcers = [
        [n for n in names[before:i] if n in ("RETRY_ATTEMPT", "FALLBACK_START")]
        for before, i in itertools.pairwise(starts)
    ]
    assert announcers == [["RETRY_ATTEMPT"], ["FALLBACK_START"]]
    flags = [(seen[i].data["is_retry"], seen[i].data["is_fallback"]) for i in starts]
    assert flags == [(False, False), (True, False), (False, True)]  # is_retry: on this source
    # Time never runs backwards (the retry slept 0.5 s on the fake clock); one stream id.
    stamps = [e.ts for e in seen]
    assert stamps == sorted(stamps) and stamps[-1] - stamps[0] >= 0.5
    assert len({e.stream_id for e in seen}) == 1
    assert [e.seq for e in seen] == list(range(len(seen)))
    # The caller's context: on every event, deep-copied, read-only.
    context["user"]["tags"].append("changed later")
    for event in seen:
        assert event.context == {"user": {"id": 7, "tags": ("a",)}}
        assert isinstance(event.context, MappingProxyType)
    with pytest.raises(TypeError):
        seen[0].context["user"]["id"] = 8  # type: ignore[index]


@pytest.mark.parametrize(
    ("error", "code", "category"),
    [
        (NetworkError("x"), "NETWORK_ERROR", "network"),
        (StreamTimeoutError("initial_token", 1.0, 1.5), "INITIAL_TOKEN_TIMEOUT", "transient"),
        (StreamTimeoutError("inter_token", 1.0, 1.5), "INTER_TOKEN_TIMEOUT", "transient"),
        (ZeroOutputError("x"), "ZERO_OUTPUT", "content"),
        (GuardrailViolationError("x"), "GUARDRAIL_VIOLATION", "content"),
        (DriftError("x"), "DRIFT_DETECTED", "content"),
        (InvalidStreamError("x"), "INVALID_STREAM", "internal"),
        # l0 differs: an abort is the caller's decision, never retried (TS: provider).
        (AbortedError("x"), "STREAM_ABORTED", "fatal"),
    ],
)
def test_error_codes_map_to_their_categories(error: l0.L0Error, code: str, category: str) -> None:
    assert (error.code.value, error.category.value) == (code, category)


def test_an_unknown_adapter_name_is_adapter_not_found_and_internal() -> None:
    with pytest.raises(l0.L0Error) as info:
        l0.stream(lambda: ["x"], adapter="nope")
    assert info.value.code.value == "ADAPTER_NOT_FOUND"
    assert info.value.category.value == "internal"


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("connection dropped", "connection_dropped"),
        ("Connection closed by server", "connection_dropped"),
        ("connection lost", "connection_dropped"),
        ("broken pipe", "connection_dropped"),
        ("read ECONNRESET", "connection_reset"),
        ("connection reset by peer", "connection_reset"),
        ("connect ECONNREFUSED 127.0.0.1:1", "connection_refused"),
        ("getaddrinfo ENOTFOUND api.example", "dns"),
        ("host not found", "dns"),
        ("DNS lookup failed", "dns"),
        ("TLS handshake failed", "tls"),
        ("request timed out", "timeout"),
        ("deadline exceeded", "timeout"),
        ("connect ETIMEDOUT", "timeout"),
    ],
)
def test_untyped_network_messages_are_network_errors_of_their_kind(message: str, kind: str) -> None:
    err = to_l0_error(Exception(message))
    assert err.category.value == "network"
    assert err.kind.value == kind  # type: ignore[attr-defined]


@pytest.mark.parametrize("message", ["certificate verify failed", "self signed certificate"])
def test_certificate_failures_are_tls_and_never_retried(message: str) -> None:
    # The spec: SSL errors are a configuration issue, not retryable.
    err = to_l0_error(Exception(message))
    assert err.kind.value == "tls"  # type: ignore[attr-defined]
    assert err.category.value == "fatal"


async def test_network_retries_do_not_count_toward_attempts_but_model_errors_do() -> None:
    # attempts=1: one counted (model/content) retry per source; network retries are bounded
    # only by max_retries.
    retry = l0.Retry(attempts=1, max_retries=6, backoff="fixed", base_delay=0.0)
    source = ScriptedSource([drop()], [drop()], [drop()], ["ok"])
    result = await l0.run(source, retry=retry, clock=FakeClock())
    assert result.text == "ok"
    assert (result.state.network_retry_count, result.state.model_retry_count) == (3, 0)

    empty = ScriptedSource([], [], ["late"])
    with pytest.raises(l0.L0Error):
        await l0.run(empty, retry=retry, clock=FakeClock())
    assert empty.calls == 2  # the first attempt and one counted retry

    seen: list[l0.ObservabilityEvent] = []
    await l0.run(
        ScriptedSource([drop()], ["ok"]), retry=retry, on_event=seen.append, clock=FakeClock()
    )
    attempt = next(e for e in seen if e.name == "RETRY_ATTEMPT")
    assert (attempt.data["counts"], attempt.data["category"]) == (False, "network")
