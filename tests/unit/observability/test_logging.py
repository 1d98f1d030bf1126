"""The ``l0`` logger: a raising handler logged once per run and counted; a rescued stream
logs a few INFO lines whatever its length, and never a token."""

from __future__ import annotations

import logging

import pytest

import l0
from l0.observability import combine
from l0.testing import FakeClock, ScriptedSource, drop

pytestmark = pytest.mark.anyio
NO_WAIT = l0.Retry(backoff="fixed", base_delay=0.0, max_retries=2)


async def test_raising_handler_logged_once_with_traceback_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str] = []

    def broken(event: l0.ObservabilityEvent) -> None:
        raise RuntimeError("handler bug")

    with caplog.at_level(logging.DEBUG, logger="l0"):
        result = await l0.run(
            ScriptedSource(["a", drop()], ["b"]),
            retry=NO_WAIT,
            clock=FakeClock(),
            on_event=combine(lambda e: seen.append(e.name), broken),
        )
    assert result.text == "b"
    assert seen[-1] == "SESSION_END"  # the good handler saw every event
    # Every delivery to the broken handler failed, and each failure is counted.
    assert result.telemetry.handler_errors == len(seen)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "broken" in errors[0].getMessage()
    assert caplog.text.count("Traceback") == 1 and "handler bug" in caplog.text


async def test_each_raising_handler_logged_once_per_run() -> None:
    calls = {"n": 0}

    async def flaky(event: l0.ObservabilityEvent) -> None:
        if event.name in ("SESSION_START", "COMPLETE"):
            calls["n"] += 1
            raise ValueError("async handler bug")

    def on_complete(event: l0.ObservabilityEvent) -> None:
        raise KeyError("callback bug")

    result = await l0.run(lambda: ["x"], on_event=flaky, on_complete=on_complete)
    assert calls["n"] == 2
    assert result.telemetry.handler_errors == 3


async def test_quiet_handlers_count_nothing() -> None:
    result = await l0.run(lambda: ["x"], on_event=lambda e: None)
    assert result.telemetry.handler_errors == 0


@pytest.mark.parametrize("n_tokens", [3, 300])
async def test_rescued_stream_logs_the_same_lines_whatever_its_length(
    caplog: pytest.LogCaptureFixture, n_tokens: int
) -> None:
    tokens = [f"tok{i} " for i in range(n_tokens)]
    caplog.set_level(logging.DEBUG, logger="l0")
    result = await l0.run(
        ScriptedSource([*tokens, drop()], tokens),
        fallbacks=[lambda: tokens],
        retry=l0.Retry(backoff="fixed", base_delay=0.25, max_retries=1),
        continuation=True,
        clock=FakeClock(),
    )
    assert result.text == "".join(tokens)
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name.startswith("l0")]
    # One DEBUG line per attempt and one INFO line per recovery step; none per token.
    assert [lv for lv, _ in lines] == ["DEBUG", "INFO", "INFO", "DEBUG"]
    assert "retrying: attempt=1 retry=1 category=network delay=0.250s" in lines[1][1]
    assert f"resuming from checkpoint: chars={len(result.text)}" in lines[2][1]
    assert not any("tok" in m for _, m in lines)
