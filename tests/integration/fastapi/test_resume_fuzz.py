"""Fuzzing the resume inputs: arbitrary ``Last-Event-ID`` header bytes and arbitrary
``?last_event_id=`` query values, 5,000 generated cases per form, each answered at once with
exactly the status (and events) an oracle predicts: never a 500, never a hang.

The ASGI app is driven in-process (no HTTP stack) on one event loop in a portal thread.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote_from_bytes

import anyio
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers, QueryParams

from l0.integrations.fastapi import MemoryResumeStore
from tests.fixtures.fuzz import FUZZ_CASES

from .helpers import Reply, asgi_get, events
from .test_resume_inputs import finished_and_running

CASES = FUZZ_CASES  # 5,000 per input form is the bar (L0_FUZZ_CASES=5000)
HANG = 2.0  # seconds: an answer slower than this is a hang
FUZZ = settings(
    max_examples=CASES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
DIGITS = re.compile(r"[0-9]{1,18}")


@dataclass
class Stats:
    cases: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    slowest: float = 0.0


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[BlockingPortal, FastAPI]]:
    """The app (``done``: ids 1..9 finished, 5..9 kept; ``live``: ids 1..5, running)."""
    with start_blocking_portal() as portal:
        app = portal.call(finished_and_running, MemoryResumeStore(max_events=5))
        yield portal, app


def expected(stream: str, value: str | None, same_route: bool) -> tuple[int, list[str]]:
    """The status (and, for a 200, the event ids of the first body) a value must get."""
    if not value:
        if same_route:
            return 409, []  # no id: a new stream, and this id is taken
        value = "0"  # the router replays everything kept
    if not DIGITS.fullmatch(value):
        return 400, []
    last = int(value)
    if stream == "done":  # ids 1..9, final; 5..9 kept
        if last >= 9:
            return 204, []
        if last < 4:
            return 410, []
        return 200, [str(i) for i in range(last + 1, 10)]
    if last > 5:  # live: ids 1..5, all kept, not final
        return 416, []
    return 200, [str(i) for i in range(last + 1, 6)]


def check(reply: Reply, took: float, want: tuple[int, list[str]], stats: Stats) -> None:
    stats.cases += 1
    stats.statuses[reply.status] = stats.statuses.get(reply.status, 0) + 1
    stats.slowest = max(stats.slowest, took)  # the hang bound itself is `timed`'s fail_after
    status, ids = want
    assert reply.status == status, (reply.status, reply.body[:200])
    if status == 200:
        assert [e.id for e in events(reply.text)] == ids
    elif status in (400, 409, 416):
        assert reply.json()["error"]["code"] in (
            "invalid_last_event_id",
            "stream_exists",
            "last_event_id_ahead",
        )


async def timed(app: FastAPI, path: str, **kwargs: object) -> tuple[Reply, float]:
    """One exchange and its latency. A hang never answers; a case slower than ``HANG`` on a
    loaded machine is tried once more, and only a second miss counts (as a failure)."""
    for attempt in (1, 2):
        start = time.monotonic()
        try:
            with anyio.fail_after(HANG):
                reply = await asgi_get(app, path, **kwargs)  # type: ignore[arg-type]
        except TimeoutError:
            if attempt == 2:
                raise
            continue
        return reply, time.monotonic() - start
    raise AssertionError("unreachable")


SMALL = st.integers(min_value=0, max_value=12).map(lambda n: str(n).encode())

HEADER_VALUES = st.one_of(
    SMALL,
    st.binary(max_size=64),
    st.text(alphabet="0123456789", min_size=1, max_size=40).map(str.encode),
    st.integers(min_value=-(10**30), max_value=10**30).map(lambda n: str(n).encode()),
    st.text(alphabet=st.characters(categories=["Nd", "Zs", "No"]), min_size=1, max_size=8).map(
        lambda s: s.encode("utf-8")
    ),
    st.just(b"9" * 4301),
)


@pytest.mark.slow
@pytest.mark.reliability
@pytest.mark.timeout(900)
def test_fuzz_last_event_id_header(served: tuple[BlockingPortal, FastAPI]) -> None:
    portal, app = served
    stats = Stats()

    @FUZZ
    @given(raw=HEADER_VALUES, stream=st.sampled_from(["done", "live"]), same=st.booleans())
    def case(raw: bytes, stream: str, same: bool) -> None:
        headers = [(b"last-event-id", raw)]
        value = Headers(raw=headers).get("last-event-id")  # what any ASGI app reads
        if same:
            path, query = "/chat", f"stream_id={stream}".encode()
        else:
            path, query = f"/l0/streams/{stream}", b""
        reply, took = portal.call(lambda: timed(app, path, query=query, headers=headers))
        check(reply, took, expected(stream, value, same), stats)

    case()
    assert stats.cases >= CASES
    assert 500 not in stats.statuses
    print(f"\nLast-Event-ID header: {stats}")


QUERY_VALUES = st.one_of(
    SMALL,
    st.text(max_size=40).map(lambda s: quote_from_bytes(s.encode("utf-8")).encode()),
    st.binary(max_size=40),  # raw, unencoded bytes in the query string
    st.text(alphabet="0123456789", min_size=1, max_size=40).map(str.encode),
    st.integers(min_value=-(10**30), max_value=10**30).map(lambda n: str(n).encode()),
    st.text(alphabet=st.characters(categories=["Nd"]), min_size=1, max_size=4).map(
        lambda s: quote_from_bytes(s.encode("utf-8")).encode()
    ),
)


@pytest.mark.slow
@pytest.mark.reliability
@pytest.mark.timeout(900)
def test_fuzz_last_event_id_query(served: tuple[BlockingPortal, FastAPI]) -> None:
    portal, app = served
    stats = Stats()

    @FUZZ
    @given(raw=QUERY_VALUES, stream=st.sampled_from(["done", "live"]))
    def case(raw: bytes, stream: str) -> None:
        query = b"last_event_id=" + raw
        value = QueryParams(query).get("last_event_id")  # what any ASGI app reads
        path = f"/l0/streams/{stream}"
        reply, took = portal.call(lambda: timed(app, path, query=query))
        check(reply, took, expected(stream, value, False), stats)

    case()
    assert stats.cases >= CASES
    assert 500 not in stats.statuses
    print(f"\n?last_event_id= query: {stats}")
