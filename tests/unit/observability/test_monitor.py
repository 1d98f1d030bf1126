"""The Monitor's figures over scripted runs (fake clock) equal those computed from the runs'
own events; sampling is deterministic with a seed; snapshot, reset, JSON."""

from __future__ import annotations

import contextlib
import json
import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

import l0
from l0.observability import Monitor, combine
from l0.testing import FakeClock

pytestmark = pytest.mark.anyio
Event = l0.ObservabilityEvent
RETRY = l0.Retry(backoff="fixed", base_delay=0.5, max_retries=2)


def timed(clock: FakeClock, script: list[Any], first: float, gap: float) -> Iterator[str]:
    """Tokens (and failures) on virtual time: ``first`` s to the first, ``gap`` s between."""
    for i, step in enumerate(script):
        clock.advance(first if i == 0 else gap)
        if isinstance(step, BaseException):
            raise step
        yield step


def scripted(rng: random.Random, clock: FakeClock) -> dict[str, Any]:
    """One run's sources: success, retried, rescued by a fallback, or failed."""
    kind = rng.choice(["ok", "ok", "retry", "fallback", "fail", "rate_limit"])
    first, gap = rng.uniform(0.01, 3.0), rng.uniform(0.001, 0.2)
    words = [f"w{i} " for i in range(rng.randint(1, 30))]
    calls = {"n": 0}

    def primary() -> Iterator[str]:
        calls["n"] += 1
        if kind == "ok" or (kind in ("retry", "rate_limit") and calls["n"] > 1):
            return timed(clock, words, first, gap)
        if kind == "rate_limit" and calls["n"] == 1:
            err = l0.errors.ProviderError("slow down", status_code=429)
            return timed(clock, [err], first, gap)
        return timed(clock, [*words[:2], ConnectionResetError("drop")], first, gap)

    fallbacks = [lambda: timed(clock, words, first, gap)] if kind == "fallback" else []
    return {"source": primary, "fallbacks": fallbacks}


async def run_many(n: int, monitor: Monitor, seed: int) -> dict[str, list[Event]]:
    rng = random.Random(seed)
    clock = FakeClock()
    by_run: dict[str, list[Event]] = {}

    def keep(event: Event) -> None:
        by_run.setdefault(event.stream_id, []).append(event)

    for _ in range(n):
        sources = scripted(rng, clock)
        with contextlib.suppress(l0.L0Error):
            await l0.run(
                sources["source"],
                fallbacks=sources["fallbacks"],
                retry=RETRY,
                clock=clock,
                on_event=combine(keep, monitor),
            )
    return by_run


def expected_from_events(runs: list[list[Event]]) -> dict[str, Any]:
    """The monitor's figures, computed from the events alone."""
    events: Counter[str] = Counter()
    retries: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    status: Counter[str] = Counter()
    ttfts: list[float] = []
    durations: list[float] = []
    tokens = 0
    streaming = 0.0
    with_fallback = 0
    for run in runs:
        events.update(e.name for e in run)
        retries.update(str(e.data["category"]) for e in run if e.name == "RETRY_ATTEMPT")
        errors.update(str(e.data["category"]) for e in run if e.name == "ERROR")
        with_fallback += any(e.name == "FALLBACK_START" for e in run)
        start, end = run[0], run[-1]
        assert (start.name, end.name) == ("SESSION_START", "SESSION_END")
        status[end.data["status"]] += 1
        duration = end.ts - start.ts
        durations.append(duration)
        # The run's first token (telemetry's time to first token: the first of the run).
        kept = [e for e in run if e.name == "FIRST_TOKEN"]
        if kept:
            ttft = kept[0].ts - start.ts
            ttfts.append(ttft)
            if duration - ttft > 0:
                tokens += end.data["telemetry"].token_count
                streaming += duration - ttft
    return {
        "runs": len(runs),
        "completed": status["completed"],
        "errored": status["errored"],
        "aborted": status["aborted"],
        "events": dict(sorted(events.items())),
        "retries_by_category": dict(sorted(retries.items())),
        "errors_by_category": dict(sorted(errors.items())),
        "fallbacks": events["FALLBACK_START"],
        "runs_with_fallback": with_fallback,
        "fallback_rate": with_fallback / len(runs),
        "ttfts": sorted(ttfts),
        "durations": sorted(durations),
        "tokens": tokens,
        "streaming": streaming,
    }


async def test_monitor_over_100_scripted_runs_equals_counts_from_their_events() -> None:
    monitor = Monitor(ttft_buckets=(0.5, 1.0, 2.0), duration_buckets=(1.0, 2.0, 4.0, 8.0))
    by_run = await run_many(100, monitor, seed=1)
    assert len(by_run) == 100
    want = expected_from_events(list(by_run.values()))
    got = monitor.snapshot()
    for key in ("runs", "completed", "errored", "aborted", "fallbacks", "runs_with_fallback"):
        assert getattr(got, key) == want[key], key
    assert got.events == want["events"]
    assert got.retries_by_category == want["retries_by_category"]
    assert got.errors_by_category == want["errors_by_category"]
    assert got.fallback_rate == pytest.approx(want["fallback_rate"])
    assert got.tokens == want["tokens"]
    assert got.tokens_per_second == pytest.approx(want["tokens"] / want["streaming"])
    # Every scenario kind happened.
    assert got.completed and got.errored and got.runs_with_fallback
    assert set(got.retries_by_category) == {"network", "provider"}  # drops, the 429
    for hist, values in (
        (got.time_to_first_token, want["ttfts"]),
        (got.duration, want["durations"]),
    ):
        assert hist.count == len(values) and hist.total == pytest.approx(sum(values))
        assert (hist.min, hist.max) == pytest.approx((values[0], values[-1]))
        edges = [*hist.bounds, float("inf")]
        below = [sum(v <= b for v in values) for b in edges]
        assert hist.counts == [b - a for a, b in zip([0, *below[:-1]], below, strict=True)]


async def test_sampling_is_deterministic_with_a_seed_and_counts_only_sampled_runs() -> None:
    first, second = Monitor(sample_rate=0.3, seed=42), Monitor(sample_rate=0.3, seed=42)
    by_run = await run_many(40, combine(first, second), seed=2)  # type: ignore[arg-type]
    a, b = first.snapshot(), second.snapshot()
    assert a.to_dict() == b.to_dict()
    assert 3 <= a.runs <= 24  # 12 expected
    assert a.ended == a.runs
    assert sum(a.events.values()) < sum(len(r) for r in by_run.values())
    assert a.events["SESSION_START"] == a.runs
    other = Monitor(sample_rate=0.3, seed=43)
    await run_many(40, other, seed=2)
    assert other.snapshot().to_dict() != a.to_dict()
    assert Monitor(sample_rate=0.0).snapshot().runs == 0


async def test_snapshot_is_a_copy_reset_starts_again_and_json_exports() -> None:
    monitor = Monitor(seed=1)
    await run_many(5, monitor, seed=3)
    snap = monitor.snapshot()
    await run_many(5, monitor, seed=3)
    assert monitor.snapshot().runs == 10 and snap.runs == 5
    data = json.loads(monitor.to_json(indent=2))
    assert data["runs"] == 10 and data["sample_rate"] == 1.0
    assert data["duration"]["buckets"][-1][0] == "+Inf"
    assert sum(c for _, c in data["duration"]["buckets"]) == data["duration"]["count"] == 10
    before = monitor.reset()
    assert before.runs == 10 and monitor.snapshot().runs == 0
    assert monitor.snapshot().fallback_rate is None and monitor.snapshot().tokens_per_second is None


async def test_monitor_reads_events_after_a_json_round_trip() -> None:
    live, replayed = Monitor(), Monitor()
    by_run = await run_many(10, live, seed=4)
    for run in by_run.values():
        for event in run:
            replayed(Event.from_dict(json.loads(json.dumps(event.to_dict()))))
    assert replayed.to_dict() == live.to_dict()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sample_rate": 1.5}, "sample_rate must be from 0 to 1"),
        ({"sample_rate": "all"}, "sample_rate must be a number"),
        ({"ttft_buckets": (1.0, 0.5)}, "ttft_buckets must be ascending"),
        ({"duration_buckets": ()}, "duration_buckets must be ascending"),
    ],
)
def test_bad_monitor_settings_name_the_fix(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Monitor(**kwargs)
