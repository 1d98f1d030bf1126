"""The event vocabulary: every emitted event carries exactly the fields its payload type names.

Renaming a field in the loop without its ``TypedDict`` in :mod:`l0.events` (or the reverse)
fails here, instead of silently breaking OpenTelemetry, Sentry or LangChain.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pydantic
import pytest

import l0
from l0.errors import AuthenticationError, NetworkError
from l0.events import PAYLOADS, EventName
from l0.guardrails import Severity, Violation
from l0.testing import FakeClock, ScriptedSource, drop, fail, stall, tokens

pytestmark = pytest.mark.anyio
NO_WAIT = l0.Retry(backoff="fixed", base_delay=0.0)
NO_RETRY = l0.Retry(max_retries=0)


class _WarnEveryCheck:
    """A rule that warns on every check (so GUARDRAIL_RULE_RESULT is emitted)."""

    name = "warn"

    def reset(self) -> None:
        pass

    def check(self, delta: str, state: l0.State, *, final: bool) -> list[Violation]:
        return [Violation("warn", "noted", Severity.WARNING)]


class City(pydantic.BaseModel):
    name: str


async def _success(on_event: Callable[[l0.ObservabilityEvent], None]) -> None:
    tc = l0.ToolCall(id="c1", name="f", arguments={"x": 1}, raw_arguments='{"x": 1}')
    await l0.run(
        lambda: [*tokens("Hello there, world. " * 4), l0.Event(l0.EventType.TOOL_CALL, data=tc)],
        guardrails=[_WarnEveryCheck()],
        drift=True,
        check_intervals=l0.CheckIntervals(guardrails=2, drift=2, checkpoint=2),
        on_event=on_event,
        clock=FakeClock(),
    )


async def _retry_reset_and_fallback(on_event: Callable[[l0.ObservabilityEvent], None]) -> None:
    source = ScriptedSource(["Hel", "lo", drop()], [fail(AuthenticationError("no"))])
    await l0.run(
        source, fallbacks=[lambda: ["Hi"]], retry=NO_WAIT, on_event=on_event, clock=FakeClock()
    )


async def _continuation(on_event: Callable[[l0.ObservabilityEvent], None]) -> None:
    source = ScriptedSource(["Hello", " wor", drop()], ["Hello world", "!"])
    await l0.run(source, continuation=True, retry=NO_WAIT, on_event=on_event, clock=FakeClock())
    # A resumed stream that does not write the held-back text again: CONTINUATION_AMBIGUOUS.
    source = ScriptedSource(["The answer is 4", drop()], [" 5."])
    await l0.run(source, continuation=True, retry=NO_WAIT, on_event=on_event, clock=FakeClock())


async def _timeout_and_give_up(on_event: Callable[[l0.ObservabilityEvent], None]) -> None:
    source = ScriptedSource(["a", stall(0.3)])
    with pytest.raises(l0.L0Error):
        await l0.run(
            source,
            timeout=l0.Timeout(initial_token=None, inter_token=0.02),
            retry=l0.Retry(backoff="fixed", base_delay=0.0, max_retries=1),
            on_event=on_event,
        )


async def _abort(on_event: Callable[[l0.ObservabilityEvent], None]) -> None:
    with pytest.raises(l0.AbortedError):
        async with l0.stream(lambda: ["a", "b", "c"], on_event=on_event) as s:
            async for _ in s:
                s.abort()


async def _loop_lag(on_event: Callable[[l0.ObservabilityEvent], None]) -> None:
    async def blocking() -> Any:
        yield "a"
        time.sleep(0.2)  # the loop is blocked past the 0.05 s stall limit  # noqa: ASYNC251
        yield "b"

    result = await l0.run(
        blocking, timeout=l0.Timeout(inter_token=0.05), retry=NO_WAIT, on_event=on_event
    )
    assert result.text == "ab"  # lag is not a stall
    assert result.telemetry.loop_lag is not None and result.telemetry.loop_lag > 0.1


async def _structured(on_event: Callable[[l0.ObservabilityEvent], None]) -> None:
    source = ScriptedSource(['{"nam": 1}'], ["{'name': 'Paris',}"])
    result = await l0.structured(City, source, retry=NO_WAIT, on_event=on_event)
    assert result.data == City(name="Paris")


async def _consensus(on_event: Callable[[l0.ObservabilityEvent], None]) -> None:
    failing = ScriptedSource([fail(AuthenticationError("no"))])
    sources = [lambda: ["Paris is the capital."], lambda: ["Paris is the capital!"], failing]
    result = await l0.consensus(sources, retry=NO_RETRY, on_event=on_event, clock=FakeClock())
    assert result.agreed and result.winner_index in (0, 1)


async def _breaker(on_event: Callable[[l0.ObservabilityEvent], None]) -> None:
    clock = FakeClock()
    breaker = l0.CircuitBreaker(failure_threshold=1, recovery_time=5.0, clock=clock)
    failing = ScriptedSource([fail(NetworkError("down"))])
    with pytest.raises(l0.L0Error):  # BREAKER_OPEN
        await l0.run(
            failing, breaker=breaker, keys=["m"], retry=NO_RETRY, on_event=on_event, clock=clock
        )
    clock.advance(5.0)
    await l0.run(lambda: ["ok"], breaker=breaker, keys=["m"], on_event=on_event, clock=clock)


SCENARIOS = [
    _breaker,
    _success,
    _retry_reset_and_fallback,
    _continuation,
    _timeout_and_give_up,
    _abort,
    _loop_lag,
]


@pytest.mark.parametrize(
    "scenario", [*SCENARIOS, _structured, _consensus], ids=lambda f: f.__name__
)
async def test_every_event_carries_exactly_its_payload_fields(scenario: Any) -> None:
    seen: list[l0.ObservabilityEvent] = []
    await scenario(seen.append)
    assert seen
    for event in seen:
        payload = PAYLOADS[EventName(event.name)]
        assert set(event.data) == set(payload.__annotations__), event.name


async def test_the_scenarios_cover_every_event_name() -> None:
    seen: list[l0.ObservabilityEvent] = []
    for scenario in [*SCENARIOS, _structured, _consensus]:
        await scenario(seen.append)
    assert {e.name for e in seen} == {n.value for n in EventName}


def test_every_name_has_a_payload_and_values_are_the_names() -> None:
    assert set(PAYLOADS) == set(EventName)
    assert all(n.value == n.name for n in EventName)


def test_the_catalog_is_still_importable_from_observability() -> None:
    from l0.observability.events import EventName as Old

    assert Old is EventName
