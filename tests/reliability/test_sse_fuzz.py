"""Arbitrary SSE byte streams through every protocol's real SDK path and the fast lane.

Bodies are framed protocol chunks (templates, mutated templates, any JSON), raw fragments
spliced in, or plain bytes; each is split at random points (inside lines, between CR and LF,
inside a UTF-8 sequence) and served by a transport at the network edge of the real openai /
anthropic client. Whatever the bytes, a run ends within 2 s with a result or an ``L0Error``:
0 untyped exceptions, 0 hangs. ``L0_FUZZ_CASES`` cases per protocol and path (5,000 is the
issue's bar; CI runs fewer).
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import l0
import l0.fastlane
from tests.integration.fastlane.test_split_bytes import Pieces

from .strategies import ANTHROPIC, CHAT, RESPONSES, sse_bodies

CASES = int(os.environ.get("L0_FUZZ_CASES_SSE", os.environ.get("L0_FUZZ_CASES", "30")))
pytestmark = [pytest.mark.reliability, pytest.mark.timeout(max(900, CASES))]

HANG = 2.0  # seconds: a case slower than this is a hang
FUZZ = settings(
    max_examples=CASES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
USER = [{"role": "user", "content": "hi"}]
RETRY = l0.Retry(attempts=0, max_retries=0)  # one request per case: the bytes decide


@dataclass
class Edge:
    """The network edge: serves the current case's pieces to every request."""

    parts: list[bytes] = field(default_factory=list)
    requests: int = 0

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests += 1
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, stream=Pieces(self.parts)
        )


@dataclass
class Stats:
    cases: int = 0
    completed: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    slowest: float = 0.0


@st.composite
def split_bodies(
    draw: st.DrawFn, templates: tuple[dict[str, Any], ...], named: bool
) -> list[bytes]:
    body = draw(sse_bodies(templates, named=named))
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=8)))
    bounds = [0, *cuts, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(bounds) if b > a]


PROTOCOLS = {
    "openai.chat": (CHAT, False),
    "openai.responses": (RESPONSES, True),
    "anthropic.messages": (ANTHROPIC, True),
}


def _source(protocol: str, client: Any, fast: bool) -> Any:
    if protocol == "openai.chat":
        kw: dict[str, Any] = {"model": "m", "messages": USER}
        if fast:
            return lambda: l0.fastlane.openai_chat(client, **kw)
        return lambda: client.chat.completions.create(stream=True, **kw)
    if protocol == "openai.responses":
        kw = {"model": "m", "input": USER}
        if fast:
            return lambda: l0.fastlane.openai_responses(client, **kw)
        return lambda: client.responses.create(stream=True, **kw)
    kw = {"model": "m", "max_tokens": 16, "messages": USER}
    if fast:
        return lambda: l0.fastlane.anthropic_messages(client, **kw)
    return lambda: client.messages.create(stream=True, **kw)


async def _client(protocol: str, edge: Edge) -> Any:
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(edge))
    if protocol.startswith("openai"):
        import openai

        return openai.AsyncOpenAI(
            api_key="sk-test", base_url="http://provider.test/v1", max_retries=0, http_client=http
        )
    import anthropic

    return anthropic.AsyncAnthropic(
        api_key="sk-test", base_url="http://provider.test", max_retries=0, http_client=http
    )


async def _run_case(src: Any) -> tuple[str, float]:
    """One run: ``"ok"`` or the L0Error class name, and its wall time. A run still going after
    ``HANG`` seconds fails the case (twice, to survive a loaded machine)."""
    for attempt in (1, 2):
        start = time.monotonic()
        try:
            with anyio.fail_after(HANG):
                try:
                    result = await l0.run(src, retry=RETRY, continuation=False)
                except l0.L0Error as err:  # typed: the contract
                    cause = err.__cause__
                    name = type(err).__name__ + (f"<{type(cause).__name__}" if cause else "")
                    return name, time.monotonic() - start
        except TimeoutError:
            if attempt == 2:
                raise AssertionError(f"hang: a run took over {HANG} s twice") from None
            continue
        assert isinstance(result.text, str)
        return "ok", time.monotonic() - start
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal() as p:
        yield p


@pytest.mark.parametrize("fast", [False, True], ids=["sdk", "fastlane"])
@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_any_sse_bytes_end_typed_and_in_time(
    portal: BlockingPortal, protocol: str, fast: bool
) -> None:
    templates, named = PROTOCOLS[protocol]
    edge = Edge()
    client = portal.call(_client, protocol, edge)
    src = _source(protocol, client, fast)
    stats = Stats()
    edge.parts = [b"data: {}\n\n"]
    portal.call(_run_case, src)  # warm up: the SDK's first stream imports its models

    @FUZZ
    @given(split_bodies(templates, named))
    def case(parts: list[bytes]) -> None:
        edge.parts = parts
        outcome, took = portal.call(_run_case, src)
        stats.cases += 1
        stats.slowest = max(stats.slowest, took)
        if outcome == "ok":
            stats.completed += 1
        else:
            stats.errors[outcome] = stats.errors.get(outcome, 0) + 1

    try:
        case()
    finally:
        portal.call(client.close)
    assert stats.cases >= CASES
    print(f"\n{protocol} {'fastlane' if fast else 'sdk'}: {stats}")
