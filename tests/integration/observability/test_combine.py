"""combine(): order, async handlers, isolation of a failing handler."""

from __future__ import annotations

import logging

import pytest

import l0
from l0.observability.monitoring import combine
from l0.testing import FakeClock, ScriptedSource, tokens

pytestmark = pytest.mark.anyio


async def test_handlers_see_every_event_in_order(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[tuple[str, int]] = []

    def first(e: l0.ObservabilityEvent) -> None:
        calls.append(("first", e.seq))

    async def second(e: l0.ObservabilityEvent) -> None:
        calls.append(("second", e.seq))

    def broken(e: l0.ObservabilityEvent) -> None:
        raise RuntimeError("boom")

    def third(e: l0.ObservabilityEvent) -> None:
        calls.append(("third", e.seq))

    with caplog.at_level(logging.ERROR, logger="l0"):
        await l0.run(
            ScriptedSource(tokens("hi there")),
            on_event=combine(first, None, second, broken, third),
            clock=FakeClock(),
        )
    n = max(seq for _, seq in calls) + 1
    expected = [(name, seq) for seq in range(n) for name in ("first", "second", "third")]
    assert calls == expected
    assert "boom" in caplog.text


def test_all_sync_stays_sync() -> None:
    seen: list[str] = []
    handler = combine(lambda e: seen.append(e.name))
    event = l0.ObservabilityEvent(name="X", ts=0.0, stream_id="s", attempt=0, seq=0)
    assert handler(event) is None
    assert seen == ["X"]


def test_non_callable_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="argument 1 must be callable"):
        combine(print, 42)  # type: ignore[arg-type]
