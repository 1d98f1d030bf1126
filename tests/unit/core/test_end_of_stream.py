"""The end-of-stream rule: after the end marker, a short grace period, then the result."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

import l0
from l0.runtime.end_of_stream import grace_period


def test_grace_defaults_to_one_second_bounded_by_inter_token_and_total() -> None:
    assert grace_period(l0.Timeout(), None) == 1.0
    assert grace_period(l0.Timeout(inter_token=0.3), None) == 0.3
    assert grace_period(l0.Timeout(inter_token=None), 0.2) == 0.2
    assert grace_period(l0.Timeout(after_end=0), None) == 0.0


@pytest.mark.parametrize("bad", [-1, float("nan"), "1"])
def test_after_end_must_be_seconds(bad: object) -> None:
    with pytest.raises((TypeError, ValueError), match="after_end"):
        l0.Timeout(after_end=bad)  # type: ignore[arg-type]


def complete(reason: str, usage: l0.Usage | None = None) -> l0.Event:
    return l0.Event(l0.EventType.COMPLETE, None, {"finish_reason": reason, "usage": usage})


@pytest.mark.anyio
async def test_a_source_that_hangs_after_its_end_marker_is_complete() -> None:
    closed = anyio.Event()

    async def source() -> AsyncIterator[str | l0.Event]:
        try:
            yield "whole answer"
            yield complete("stop")
            await anyio.sleep_forever()  # the body stays open
        finally:
            closed.set()

    with anyio.fail_after(5):
        result = await l0.run(source, timeout=l0.Timeout(inter_token=0.5, after_end=0.05))
    assert (result.text, result.finish_reason, result.errors) == ("whole answer", "stop", [])
    assert closed.is_set()


@pytest.mark.anyio
async def test_an_error_after_the_end_marker_is_not_retried_and_usage_still_counts() -> None:
    calls = 0

    async def source() -> AsyncIterator[str | l0.Event]:
        nonlocal calls
        calls += 1
        yield "whole answer"
        yield complete("stop")
        yield complete("stop", l0.Usage(input_tokens=3, output_tokens=2))  # trailing usage
        raise ConnectionResetError("reset after the end")

    result = await l0.run(source)
    assert (result.text, calls, result.errors) == ("whole answer", 1, [])
    assert result.usage == l0.Usage(input_tokens=3, output_tokens=2, total_tokens=None)


@pytest.mark.anyio
async def test_text_after_the_end_marker_is_ignored() -> None:
    async def source() -> AsyncIterator[str | l0.Event]:
        yield "answer"
        yield complete("stop")
        yield l0.Event(l0.EventType.TOKEN, " and trailing junk")

    result = await l0.run(source)
    assert result.text == "answer"
