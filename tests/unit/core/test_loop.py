"""The attempt loop: retries, fallbacks, resets, counters, event order, determinism."""

from __future__ import annotations

from typing import Any

import pytest

import l0
from l0.adapters.base import AdapterStream
from l0.errors import AuthenticationError, RateLimitError
from l0.observability.events import EventName
from l0.testing import FakeClock, ScriptedSource, drop, fail, malformed, tokens

pytestmark = pytest.mark.anyio
TOKEN = l0.EventType.TOKEN
NO_WAIT = l0.Retry(backoff="fixed", base_delay=0.0)


def names(events: list[l0.ObservabilityEvent]) -> list[str]:
    return [e.name for e in events]


async def collect(source: Any, **opts: Any) -> tuple[list[l0.Event], l0.Stream]:
    out: list[l0.Event] = []
    opts.setdefault("clock", FakeClock())
    async with l0.stream(source, **opts) as s:
        async for ev in s:
            out.append(ev)
    return out, s


async def test_success_event_order() -> None:
    seen: list[l0.ObservabilityEvent] = []
    events, s = await collect(lambda: ["Hello", " world"], on_event=seen.append)
    assert [e.text for e in events if e.type is TOKEN] == ["Hello", " world"]
    assert events[-1].type is l0.EventType.COMPLETE and events[-1].data is s.result
    assert names(seen) == [
        "SESSION_START", "ATTEMPT_START", "STREAM_INIT", "ADAPTER_DETECTED", "STREAM_READY",
        "TIMEOUT_START", "FIRST_TOKEN", "STREAM_END", "COMPLETE", "SESSION_END",
    ]  # fmt: skip
    assert [e.seq for e in seen] == list(range(len(seen)))
    assert {e.stream_id for e in seen} == {s.stream_id}
    assert s.status is l0.Status.COMPLETED
    assert s.result.text == "Hello world"


async def test_retry_event_order_and_reset_without_continuation() -> None:
    seen: list[l0.ObservabilityEvent] = []
    source = ScriptedSource(["Hel", "lo", drop()], ["Hello", " again"])
    events, s = await collect(source, on_event=seen.append, retry=NO_WAIT)
    kinds = [(e.type.value, e.text if e.type is TOKEN else e.data) for e in events[:-1]]
    assert kinds == [
        ("token", "Hel"), ("token", "lo"), ("reset", {"discard": 5}),
        ("token", "Hello"), ("token", " again"),
    ]  # fmt: skip
    assert s.result.text == "Hello again"
    assert names(seen) == [
        "SESSION_START", "ATTEMPT_START", "STREAM_INIT", "ADAPTER_DETECTED", "STREAM_READY",
        "TIMEOUT_START", "FIRST_TOKEN", "NETWORK_ERROR", "ERROR", "RETRY_ATTEMPT", "RESET",
        "ATTEMPT_START", "STREAM_INIT", "ADAPTER_DETECTED", "STREAM_READY", "TIMEOUT_START",
        "FIRST_TOKEN", "STREAM_END", "COMPLETE", "RETRY_END", "SESSION_END",
    ]  # fmt: skip
    assert source.closed == 2
    assert s.result.state.network_retry_count == 1 and s.result.state.model_retry_count == 0


async def test_fallback_event_order_and_final_failure_order() -> None:
    seen: list[l0.ObservabilityEvent] = []
    primary = ScriptedSource([fail(AuthenticationError("bad key", status_code=401))])
    backup = ScriptedSource(["from backup"])
    events, s = await collect(primary, fallbacks=[backup], on_event=seen.append)
    assert s.result.text == "from backup" and s.result.fallback_index == 1
    assert primary.calls == 1  # fatal: not retried on the same source
    assert names(seen)[5:12] == [
        "TIMEOUT_START", "ERROR", "FALLBACK_START", "ATTEMPT_START", "STREAM_INIT",
        "ADAPTER_DETECTED", "STREAM_READY",
    ]  # fmt: skip
    assert names(seen)[-3:] == ["COMPLETE", "FALLBACK_END", "SESSION_END"]
    fb = next(e for e in seen if e.name == "FALLBACK_START")
    assert fb.data["from_index"] == 0 and fb.data["to_index"] == 1

    seen.clear()
    with pytest.raises(l0.RetriesExhaustedError) as info:
        await collect(
            ScriptedSource([drop()]),
            retry=l0.Retry(max_retries=2, base_delay=0),
            on_event=seen.append,
        )
    assert len(info.value.errors) == 3
    assert all(isinstance(e, l0.NetworkError) for e in info.value.errors)
    assert names(seen)[-3:] == ["ERROR", "RETRY_GIVE_UP", "SESSION_END"]
    assert seen[-1].data["status"] == "errored"


async def test_counters_per_category() -> None:
    source = ScriptedSource(
        [drop()],
        [fail(RateLimitError("429", status_code=429))],
        [],  # zero output: a content error, counted
        ["fine"],
    )
    _, s = await collect(source, retry=l0.Retry(attempts=3, max_retries=6, base_delay=0))
    st = s.result.state
    assert (st.network_retry_count, st.model_retry_count) == (2, 1)
    t = s.result.telemetry
    assert (t.retries, t.network_retries, t.model_retries, t.attempts) == (3, 2, 1, 4)
    assert t.errors_by_category == {"network": 1, "transient": 1, "content": 1}
    assert [type(e).__name__ for e in s.result.errors] == [
        "NetworkError",
        "RateLimitError",
        "ZeroOutputError",
    ]


async def test_programming_error_is_not_retried_and_surfaces_unchanged() -> None:
    source = ScriptedSource([fail(KeyError("choices"))])
    backup = ScriptedSource(["never"])
    with pytest.raises(KeyError, match="choices"):
        await collect(source, fallbacks=[backup])
    assert source.calls == 1 and backup.calls == 0


async def test_malformed_chunk_is_retried_like_a_drop() -> None:
    source = ScriptedSource(["ok ", malformed()], ["ok done"])
    _, s = await collect(source, retry=NO_WAIT)
    assert s.result.text == "ok done"
    assert s.result.errors[0].code is l0.ErrorCode.MALFORMED_CHUNK  # type: ignore[attr-defined]


async def test_zero_output_is_retryable_and_configurable() -> None:
    source = ScriptedSource(["   "], ["text"])
    _, s = await collect(source, retry=NO_WAIT)
    assert s.result.text == "text" and isinstance(s.result.errors[0], l0.ZeroOutputError)
    _, s2 = await collect(list, detect_zero_output=False)
    assert s2.result.text == ""
    with pytest.raises(l0.RetriesExhaustedError) as info:
        await collect(list, retry=l0.Retry(attempts=1, base_delay=0))
    assert isinstance(info.value.last_error, l0.ZeroOutputError)


class _MarkedStream(AdapterStream):
    """A protocol with an end marker: the chunk ``"<END>"``."""

    expects_end = True
    text_fast_path = False

    def decode(self, chunk: Any) -> l0.Event | None:
        if chunk == "<END>":
            self.ended = True
            self.finish_reason = "stop"
            return None
        return l0.Event(TOKEN, chunk)


class _MarkedAdapter:
    name = "marked"

    def detect(self, obj: object) -> bool:
        return False

    def open(self, obj: object, *, keep_raw: bool = False) -> AdapterStream:
        return _MarkedStream(obj.__aiter__(), keep_raw=keep_raw)  # type: ignore[attr-defined]

    def map_error(self, exc: BaseException) -> l0.L0Error | None:
        return None


async def test_truncation_is_detected_retried_and_configurable() -> None:
    async def cut() -> Any:
        yield b"partial"

    source = ScriptedSource(["partial"], ["whole", "<END>"])

    def factory(attempt: l0.Attempt) -> Any:
        return source(attempt)

    class Bytes(_MarkedAdapter):
        pass

    _, s = await collect(factory, adapter=_MarkedAdapter(), retry=NO_WAIT)
    assert s.result.text == "whole" and s.result.finish_reason == "stop"
    assert isinstance(s.result.errors[0], l0.TruncatedStreamError)
    _, s2 = await collect(
        ScriptedSource(["partial"]), adapter=_MarkedAdapter(), detect_truncation=False
    )
    assert s2.result.text == "partial"


async def test_continuation_is_not_used_after_a_content_error() -> None:
    source = ScriptedSource([" "], ["good"])
    events, s = await collect(source, continuation=True, retry=NO_WAIT)
    assert s.result.text == "good"
    assert source.attempts[1].checkpoint == ""


async def test_continuation_carries_over_to_a_fallback() -> None:
    primary = ScriptedSource(["The start ", fail(AuthenticationError("expired", status_code=401))])
    seen: list[l0.Attempt] = []

    def backup(attempt: l0.Attempt) -> list[str]:
        seen.append(attempt)
        return ["start and the end"]

    events, s = await collect(primary, fallbacks=[backup], continuation=True)
    assert s.result.text == "The start and the end"
    assert seen[0].is_fallback and seen[0].checkpoint + seen[0].held_back == "The start "
    assert not any(e.type is l0.EventType.RESET for e in events)


async def test_one_shot_stream_cannot_be_retried_but_falls_back() -> None:
    async def gen() -> Any:
        yield "a"
        raise ConnectionResetError

    _, s = await collect(gen(), fallbacks=[["b"]], retry=NO_WAIT)
    assert s.result.text == "b"
    assert isinstance(s.result.errors[-1], l0.InvalidStreamError)


async def test_tokens_from_event_sources_and_other_event_types() -> None:
    tc = l0.ToolCall(id="c1", name="f", arguments={"x": 1}, raw_arguments='{"x": 1}')
    source = [
        l0.Event(l0.EventType.PROGRESS, data={"thinking": "..."}),
        l0.Event(TOKEN, "Hi"),
        l0.Event(l0.EventType.TOOL_CALL, data=tc),
        l0.Event(
            l0.EventType.COMPLETE, data={"finish_reason": "tool_calls", "usage": l0.Usage(3, 4, 7)}
        ),
    ]
    events, s = await collect(lambda: source)
    assert [e.type for e in events] == [
        l0.EventType.PROGRESS,
        TOKEN,
        l0.EventType.TOOL_CALL,
        l0.EventType.COMPLETE,
    ]
    assert s.result.tool_calls == [tc]
    assert s.result.finish_reason == "tool_calls" and s.result.usage == l0.Usage(3, 4, 7)


async def test_invalid_source_types_fail_clearly() -> None:
    with pytest.raises(TypeError, match="source must be a callable"):
        l0.stream(42)
    with pytest.raises(TypeError, match="requires 2"):
        l0.stream(lambda a, b: [])
    with pytest.raises(TypeError, match="retry must be an l0.Retry"):
        l0.stream(list, retry={"attempts": 3})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unknown callback|on_retry must be callable"):
        l0.stream(list, on_retry=5)  # type: ignore[arg-type]
    with pytest.raises(l0.InvalidStreamError, match="no adapter named"):
        l0.stream(list, adapter="nope")
    with pytest.raises(l0.InvalidStreamError, match="no adapter can read"):
        await collect(lambda: 42)


async def test_determinism_same_source_and_seed_same_everything() -> None:
    import random

    def once() -> Any:
        rng = random.Random(7)
        source = ScriptedSource(
            [*tokens("abcdefgh", 2), drop()], [fail(RateLimitError("x"))], tokens("abcdefghij", 3)
        )
        seen: list[l0.ObservabilityEvent] = []
        return (
            source,
            seen,
            dict(
                retry=l0.Retry(random=rng.random),
                clock=FakeClock(),
                stream_id="fixed",
                on_event=seen.append,
                continuation=True,
            ),
        )

    runs = []
    for _ in range(2):
        source, seen, opts = once()
        events, s = await collect(source, **opts)
        r = s.result
        runs.append(
            (
                [
                    (
                        e.type,
                        e.text,
                        e.ts,
                        repr(e.data) if e.type is not l0.EventType.COMPLETE else None,
                    )
                    for e in events
                ],
                [(e.name, e.ts, e.seq, e.attempt, repr(dict(e.data))) for e in seen],
                (r.text, repr(r.state), repr(r.telemetry), [repr(x) for x in r.errors]),
            )
        )
    assert runs[0] == runs[1]
    assert runs[0][2][0] == "abcdefghij"


async def test_callback_that_raises_is_reported_and_never_breaks_the_stream(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def boom(event: l0.ObservabilityEvent) -> None:
        raise RuntimeError("handler bug")

    retried: list[l0.ObservabilityEvent] = []

    async def async_handler(event: l0.ObservabilityEvent) -> None:
        retried.append(event)

    _, s = await collect(
        ScriptedSource([drop()], ["ok"]), on_event=boom, on_retry=async_handler, retry=NO_WAIT
    )
    assert s.result.text == "ok"
    assert [e.name for e in retried] == ["RETRY_ATTEMPT"]
    assert "handler bug" in caplog.text


async def test_convenience_callbacks_receive_their_events() -> None:
    got: dict[str, list[str]] = {}

    def rec(key: str) -> Any:
        return lambda e: got.setdefault(key, []).append(e.name)

    primary = ScriptedSource(["a", drop()])
    await collect(
        primary,
        fallbacks=[["b"]],
        continuation=True,
        retry=l0.Retry(max_retries=1, base_delay=0),
        check_intervals=l0.CheckIntervals(checkpoint=1),
        on_retry=rec("retry"), on_fallback=rec("fallback"), on_checkpoint=rec("checkpoint"),
        on_resume=rec("resume"), on_error=rec("error"), on_complete=rec("complete"),
    )  # fmt: skip
    assert got["retry"] == ["RETRY_ATTEMPT"]
    assert got["fallback"] == ["FALLBACK_START"]
    assert got["error"] == ["ERROR", "ERROR"]
    assert got["resume"] == ["RESUME_START", "RESUME_START"]
    assert got["complete"] == ["COMPLETE"]
    assert "CHECKPOINT_SAVED" in got["checkpoint"]


async def test_events_cost_nothing_without_listeners() -> None:
    s = l0.stream(lambda: ["x"])
    assert s._run.emitter.active is False
    assert EventName.COMPLETE.value == "COMPLETE"
