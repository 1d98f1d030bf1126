"""Issue 20, situation 5: a busy loop is not a provider stall.

Another task blocks the event loop for 1.5 s (a sync ``time.sleep``) while the chaos server,
serving from its own thread, keeps streaming a token every 10 ms into the socket buffer. The
inter-token limit (1 s) passes while the loop is blocked, but the tokens are there: the
watchdog lets them reach the reader before calling the provider silent. One request, the
exact answer, and the lag reported as its own event (``LOOP_LAG``) and metric.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

import l0
from l0.chaos import ChaosServer
from l0.events import EventName
from l0.testing.chaos import chaos_server, openai_client

pytestmark = [pytest.mark.reliability, pytest.mark.anyio]

USER = [{"role": "user", "content": "hi"}]
BLOCK = 1.5  # seconds the loop is blocked: the figure (past the 1 s stall limit)


@pytest.fixture
def threaded_chaos() -> Iterator[ChaosServer]:
    """The chaos server in a thread of its own: it keeps writing while our loop is blocked."""
    with chaos_server("slow=0.01") as server:
        yield server


async def test_a_blocked_loop_is_not_a_provider_stall(threaded_chaos: ChaosServer) -> None:
    seen: list[l0.ObservabilityEvent] = []
    first = anyio.Event()

    def on_event(ev: l0.ObservabilityEvent) -> None:
        seen.append(ev)
        if ev.name == EventName.FIRST_TOKEN.value or ev.name is EventName.FIRST_TOKEN:
            first.set()

    async def hog() -> None:
        await first.wait()
        await anyio.sleep(0.05)  # from a timer: the reader is waiting on its socket
        time.sleep(BLOCK)  # noqa: ASYNC251 - the point: a co-task that blocks the loop

    async with openai_client(threaded_chaos) as client:

        def src(attempt: Any) -> Any:
            return client.chat.completions.create(
                model="m", messages=attempt.continuation_messages(USER), stream=True
            )

        async with anyio.create_task_group() as tg:
            tg.start_soon(hog)
            result = await l0.run(
                src,
                continuation=True,
                timeout=l0.Timeout(initial_token=5.0, inter_token=1.0),
                on_event=on_event,
            )
    names = [str(getattr(ev.name, "value", ev.name)) for ev in seen]
    assert result.text == threaded_chaos.answer
    assert len(threaded_chaos.requests) == 1  # no second (paid) request
    assert "TIMEOUT_TRIGGERED" not in names
    lag = next(ev for ev in seen if str(getattr(ev.name, "value", ev.name)) == "LOOP_LAG")
    assert lag.data["lag"] > 0.3  # the stall timer fired at least this late
    assert lag.data["count"] >= 1
    assert names.index("LOOP_LAG") == len(names) - 2  # just before SESSION_END
    assert result.telemetry.loop_lag == lag.data["lag"]
