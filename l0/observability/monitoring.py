"""A :class:`Monitor`: aggregates across runs, as one ``on_event`` handler.

::

    from l0.observability import Monitor

    monitor = Monitor(sample_rate=0.1, seed=7)  # one process-wide monitor, shared by runs
    await l0.run(source, on_event=monitor)
    print(monitor.to_json())  # counts, retries by category, TTFT / duration histograms, ...

(:func:`combine` used to live here; it is still importable from this module.)
"""

from __future__ import annotations

import itertools
import json
import math
import random
import threading
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from l0.observability.tools import Handler, combine
from l0.types import ObservabilityEvent

__all__ = ["DEFAULT_BUCKETS", "Handler", "Histogram", "Monitor", "MonitorSnapshot", "combine"]

DEFAULT_BUCKETS: tuple[float, ...] = (
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
)  # fmt: skip
"""Default histogram bucket upper bounds, in seconds (one more bucket holds the rest)."""


@dataclass(slots=True)
class Histogram:
    """Counts of observed values per bucket (``counts[i]``: values <= ``bounds[i]`` and above
    the previous bound; the last count: values above every bound).

    Attributes:
        bounds: Bucket upper bounds, ascending.
        counts: ``len(bounds) + 1`` counts.
        count: Values observed.
        total: Their sum.
        min: The smallest (``None`` before the first).
        max: The largest.
    """

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    count: int = 0
    total: float = 0.0
    min: float | None = None
    max: float | None = None

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        """Add one value."""
        self.counts[bisect_left(self.bounds, value)] += 1
        self.count += 1
        self.total += value
        self.min = value if self.min is None else min(self.min, value)
        self.max = value if self.max is None else max(self.max, value)

    @property
    def mean(self) -> float | None:
        """The mean value, ``None`` before the first."""
        return self.total / self.count if self.count else None

    def copy(self) -> Histogram:
        """An independent copy."""
        return Histogram(self.bounds, list(self.counts), self.count, self.total, self.min, self.max)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data: ``buckets`` as ``[[upper bound or "+Inf", count], ...]``."""
        uppers: list[float | str] = [*self.bounds, "+Inf"]
        return {
            "buckets": [[b, c] for b, c in zip(uppers, self.counts, strict=True)],
            "count": self.count,
            "sum": self.total,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
        }


@dataclass(slots=True)
class MonitorSnapshot:
    """The aggregates of the sampled runs at one moment (a copy: later runs don't change it).

    Attributes:
        runs: Sampled runs started.
        completed, errored, aborted: Sampled runs ended, by ``SESSION_END`` status.
        events: Events seen, by name (sampled runs only).
        retries_by_category: ``RETRY_ATTEMPT`` events by the failure ``category``.
        errors_by_category: ``ERROR`` events by ``category``.
        fallbacks: ``FALLBACK_START`` events.
        runs_with_fallback: Ended runs that used at least one fallback.
        tokens: Tokens (chunks) streamed by ended runs (their telemetry ``token_count``).
        streaming_seconds: Seconds those runs streamed (first token to end).
        time_to_first_token: Per ended run, seconds from start to its first token.
        duration: Per ended run, seconds from start to end.
    """

    runs: int = 0
    completed: int = 0
    errored: int = 0
    aborted: int = 0
    events: dict[str, int] = field(default_factory=dict)
    retries_by_category: dict[str, int] = field(default_factory=dict)
    errors_by_category: dict[str, int] = field(default_factory=dict)
    fallbacks: int = 0
    runs_with_fallback: int = 0
    tokens: int = 0
    streaming_seconds: float = 0.0
    time_to_first_token: Histogram = field(default_factory=lambda: Histogram(DEFAULT_BUCKETS))
    duration: Histogram = field(default_factory=lambda: Histogram(DEFAULT_BUCKETS))

    @property
    def ended(self) -> int:
        """Sampled runs that ended."""
        return self.completed + self.errored + self.aborted

    @property
    def fallback_rate(self) -> float | None:
        """The share of ended runs that used a fallback (``None`` before the first)."""
        return self.runs_with_fallback / self.ended if self.ended else None

    @property
    def tokens_per_second(self) -> float | None:
        """Tokens per streaming second over the ended runs (``None`` while none streamed)."""
        return self.tokens / self.streaming_seconds if self.streaming_seconds > 0 else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data (derived figures included)."""
        return {
            "runs": self.runs,
            "ended": self.ended,
            "completed": self.completed,
            "errored": self.errored,
            "aborted": self.aborted,
            "events": dict(sorted(self.events.items())),
            "retries_by_category": dict(sorted(self.retries_by_category.items())),
            "errors_by_category": dict(sorted(self.errors_by_category.items())),
            "fallbacks": self.fallbacks,
            "runs_with_fallback": self.runs_with_fallback,
            "fallback_rate": self.fallback_rate,
            "tokens": self.tokens,
            "streaming_seconds": self.streaming_seconds,
            "tokens_per_second": self.tokens_per_second,
            "time_to_first_token": self.time_to_first_token.to_dict(),
            "duration": self.duration.to_dict(),
        }


def _field(obj: Any, name: str) -> Any:
    """``obj.name`` or ``obj[name]`` (a ``Telemetry`` or its dict after a JSON round trip)."""
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


class Monitor:
    """An ``on_event`` handler aggregating every (sampled) run it sees.

    Share one monitor between runs (concurrent tasks and threads are fine). Sampling is
    per run, decided at its ``SESSION_START`` by a :class:`random.Random` seeded with
    ``seed``: the same seed and the same sequence of runs sample the same runs. Events of
    runs that started before the monitor was attached are ignored.

    Args:
        sample_rate: The share of runs to aggregate, 0 to 1 (default: all).
        seed: Seed of the sampling draws (``None``: unpredictable).
        ttft_buckets: Bucket upper bounds (s) of the time-to-first-token histogram.
        duration_buckets: Bucket upper bounds (s) of the run-duration histogram.

    Raises:
        ValueError: When ``sample_rate`` is outside 0..1 or buckets are not ascending.
    """

    def __init__(
        self,
        *,
        sample_rate: float = 1.0,
        seed: int | None = None,
        ttft_buckets: Sequence[float] = DEFAULT_BUCKETS,
        duration_buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, float)):
            raise ValueError(
                f"Monitor sample_rate must be a number from 0 to 1, got {sample_rate!r}"
            )
        if not 0.0 <= sample_rate <= 1.0:
            raise ValueError(f"Monitor sample_rate must be from 0 to 1, got {sample_rate!r}")
        self.sample_rate = float(sample_rate)
        self.seed = seed
        self._ttft_bounds = _bounds(ttft_buckets, "ttft_buckets")
        self._duration_bounds = _bounds(duration_buckets, "duration_buckets")
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._runs: set[str] = set()  # sampled runs in progress
        self._fell_back: set[str] = set()
        self._data = self._empty()

    def _empty(self) -> MonitorSnapshot:
        return MonitorSnapshot(
            time_to_first_token=Histogram(self._ttft_bounds),
            duration=Histogram(self._duration_bounds),
        )

    def __call__(self, event: ObservabilityEvent) -> None:
        """Aggregate one lifecycle event (synchronous, never delays the stream)."""
        name = event.name
        sid = event.stream_id
        with self._lock:
            if name == "SESSION_START":
                if self.sample_rate < 1.0 and self._random.random() >= self.sample_rate:
                    return
                self._runs.add(sid)
                self._data.runs += 1
            elif sid not in self._runs:
                return
            data = self._data
            data.events[name] = data.events.get(name, 0) + 1
            payload = event.data
            if name == "RETRY_ATTEMPT":
                _bump(data.retries_by_category, payload.get("category"))
            elif name == "ERROR":
                _bump(data.errors_by_category, payload.get("category"))
            elif name == "FALLBACK_START":
                data.fallbacks += 1
                self._fell_back.add(sid)
            elif name == "SESSION_END":
                self._end(sid, payload)

    def _end(self, sid: str, payload: Mapping[str, Any]) -> None:
        data = self._data
        self._runs.discard(sid)
        status = payload.get("status")
        if status == "completed":
            data.completed += 1
        elif status == "aborted":
            data.aborted += 1
        else:
            data.errored += 1
        if sid in self._fell_back:
            self._fell_back.discard(sid)
            data.runs_with_fallback += 1
        telemetry = payload.get("telemetry")
        if telemetry is None:
            return
        duration = _number(_field(telemetry, "duration"))
        if duration is not None:
            data.duration.observe(duration)
        ttft = _number(_field(telemetry, "time_to_first_token"))
        if ttft is not None:
            data.time_to_first_token.observe(ttft)
            tokens = _field(telemetry, "token_count")
            if isinstance(tokens, int) and duration is not None and duration - ttft > 0:
                data.tokens += tokens
                data.streaming_seconds += duration - ttft

    def snapshot(self) -> MonitorSnapshot:
        """A copy of the aggregates now."""
        with self._lock:
            d = self._data
            return MonitorSnapshot(
                runs=d.runs,
                completed=d.completed,
                errored=d.errored,
                aborted=d.aborted,
                events=dict(d.events),
                retries_by_category=dict(d.retries_by_category),
                errors_by_category=dict(d.errors_by_category),
                fallbacks=d.fallbacks,
                runs_with_fallback=d.runs_with_fallback,
                tokens=d.tokens,
                streaming_seconds=d.streaming_seconds,
                time_to_first_token=d.time_to_first_token.copy(),
                duration=d.duration.copy(),
            )

    def reset(self) -> MonitorSnapshot:
        """Start again from zero; returns the aggregates up to now. Runs in progress are
        dropped (their later events are ignored) and the sampling draws restart from
        ``seed``, so the monitor behaves as a new one."""
        with self._lock:
            before = self._data
            self._data = self._empty()
            self._runs.clear()
            self._fell_back.clear()
            self._random = random.Random(self.seed)
            return before

    def to_dict(self) -> dict[str, Any]:
        """The aggregates now as JSON-safe data, with the monitor's settings."""
        out = self.snapshot().to_dict()
        out["sample_rate"] = self.sample_rate
        return out

    def to_json(self, **kwargs: Any) -> str:
        """The aggregates now as JSON (``kwargs`` go to :func:`json.dumps`, e.g. ``indent``)."""
        return json.dumps(self.to_dict(), **kwargs)


def _bump(counts: dict[str, int], key: object) -> None:
    name = str(getattr(key, "value", key)) if key is not None else "unknown"
    counts[name] = counts.get(name, 0) + 1


def _bounds(buckets: Sequence[float], what: str) -> tuple[float, ...]:
    bounds = tuple(float(b) for b in buckets)
    if not bounds or any(b <= a for a, b in itertools.pairwise(bounds)):
        raise ValueError(f"Monitor {what} must be ascending bucket bounds, got {list(buckets)!r}")
    return bounds
