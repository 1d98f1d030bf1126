"""The fast lane gives what the SDK path gives: every chaos profile × fault, both paths, one
comparison (events, text, tool calls, usage, finish reason, errors, requests sent)."""

from __future__ import annotations

from typing import Any

import pytest

import l0
from l0.chaos import PROFILES, ChaosServer
from l0.testing.chaos import anthropic_client, openai_client

from .paths import PROTOCOLS, record, source

pytestmark = pytest.mark.anyio

FAULTS = {
    "ok": "ok",
    "drop": "drop_after_tokens=5; ok",
    "drop_mid_event": "drop_after_bytes=900; ok",
    "drop_fin": "drop_after_tokens=3,close=fin; ok",
    "429": "status=429,retry_after=2; ok",
    "500": "status=500; ok",
    "529": "status=529; ok",
    "401": "status=401",
    "malformed": "malformed_after_tokens=4; ok",
    "truncate": "truncate_after_tokens=4; ok",
    "inband": "inband_error=3; ok",
    "inband_rate": "inband_error=2,error_type=rate_limit_error,retry_after=1; ok",
    "inband_unknown": "inband_error=2,error_type=weird_error; ok",
    "empty": "empty; ok",
    "stall": "stall_after_tokens=3; ok",
    "keepalive": "stall_after_tokens=2,keepalive=0.05,stall_for=0.15; ok",
}
TIMEOUT = l0.Timeout(initial_token=5, inter_token=1, after_end=0.2)
RETRY = l0.Retry(attempts=3, max_retries=4, backoff="fixed", base_delay=0.0)
ANSWER = "Streams break; l0 resumes them. Every character arrives exactly once, in order."


async def both(protocol: str, profile: str, plan: str, tools: bool) -> list[dict[str, Any]]:
    out = []
    for fast in (False, True):
        async with ChaosServer(plan, profile=profile, answer=ANSWER, tool_pieces=3) as server:
            maker = anthropic_client if protocol.startswith("anthropic") else openai_client
            async with maker(server) as client:
                # a stall is timed by the real clock; the rest run on a fake one
                real = {"clock": None} if "stall" in plan else {}
                got = await record(
                    source(protocol, client, fast, tools=tools),
                    timeout=TIMEOUT,
                    retry=RETRY,
                    **real,
                )
        got["requests"] = [(r.body, r.outcome) for r in server.requests]
        out.append(got)
    return out


TOOL_FAULTS = ("ok", "drop", "truncate", "inband", "malformed", "empty")
"""Faults also run with tool calls in the answer."""
CHAT_PROFILES = [p for p in PROFILES if p != "anthropic"]  # its quirk is Messages-only
TIMED = ("stall", "keepalive")
"""Faults that wait for a real stall timeout: run on the reference profile only."""


def _cases() -> list[Any]:
    profiles = {
        "openai.chat": CHAT_PROFILES,
        "openai.responses": ["openai"],
        "anthropic.messages": ["openai", "anthropic"],
    }
    cases = []
    for protocol in PROTOCOLS:
        for profile in profiles[protocol]:
            for fault in FAULTS:
                if fault in TIMED and profile not in ("openai", "anthropic"):
                    continue
                for tools in (False, True) if fault in TOOL_FAULTS else (False,):
                    name = f"{protocol}-{profile}-{fault}-{'tools' if tools else 'text'}"
                    cases.append(pytest.param(protocol, profile, fault, tools, id=name))
    return cases


@pytest.mark.parametrize(("protocol", "profile", "fault", "tools"), _cases())
async def test_both_paths_give_the_same(
    protocol: str, profile: str, fault: str, tools: bool
) -> None:
    sdk, fast = await both(protocol, profile, FAULTS[fault], tools)
    assert fast == sdk
    if "raised" not in sdk:
        assert sdk["finish_reason"]  # the comparison is not of two failures
