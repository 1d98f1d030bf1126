"""Compare two runs (recordings or replays): a structured diff."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from l0.recordings.player import ReplayResult
from l0.recordings.recording import Recording

__all__ = ["ReplayDiff", "compare_replays"]


@dataclass
class ReplayDiff:
    """How two runs differ.

    Attributes:
        identical: Byte-for-byte equal (:meth:`Recording.canonical`).
        first_event: The first differing lifecycle event as ``(index, a, b)`` (``None``
            when the lifecycle events are equal); a missing event is ``None``. Clock
            measurements in the events' data (``ttft``, durations, elapsed times, loop lag)
            are left out of this comparison; ``identical`` compares everything.
        text: ``(a, b)`` final texts; ``text_diff`` their unified diff (empty if equal).
        status: ``(a, b)`` outcomes (``completed``, ``errored``, …).
        attempts: ``(a, b)`` attempts made.
        retries_by_category: ``(a, b)`` errors met per category.
        duration: ``(a, b)`` run durations in seconds (the runs' clocks).
    """

    identical: bool
    first_event: tuple[int, dict[str, Any] | None, dict[str, Any] | None] | None
    text: tuple[str | None, str | None]
    text_diff: str
    status: tuple[str, str]
    attempts: tuple[int, int]
    retries_by_category: tuple[dict[str, int], dict[str, int]]
    duration: tuple[float | None, float | None]
    summary: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        """The summary, one difference per line (``identical`` when there is none)."""
        return "identical" if self.identical and not self.summary else "\n".join(self.summary)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (``l0 replay --diff --json``)."""
        return {
            "identical": self.identical,
            "first_event": list(self.first_event) if self.first_event else None,
            "text": list(self.text),
            "text_diff": self.text_diff,
            "status": list(self.status),
            "attempts": list(self.attempts),
            "retries_by_category": list(self.retries_by_category),
            "duration": list(self.duration),
            "summary": self.summary,
        }


def _recording(x: Recording | ReplayResult) -> Recording:
    if isinstance(x, ReplayResult):
        return x.recording
    if isinstance(x, Recording):
        return x
    raise TypeError(
        f"compare_replays takes recordings or replay results, got {type(x).__name__} "
        "(load one with l0.load_recording)"
    )


def _event(e: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if e is None else {"name": e.get("n"), "attempt": e.get("a"), "data": e.get("d")}


_MEASURED = frozenset({"ttft", "duration", "elapsed", "lag", "opened_until"})
"""Lifecycle data read off the clock: a replay with other options runs on a virtual clock, so
these differ by noise; the first *differing* event is found without them."""
_MEASURED_TELEMETRY = frozenset(
    {"duration", "started_at", "ended_at", "time_to_first_token", "tokens_per_second", "loop_lag"}
)


_MEASURED_STATE = frozenset({"started_at", "first_token_at", "last_token_at", "duration"})


def _key(event: dict[str, Any]) -> tuple[Any, ...]:
    return (event.get("n"), event.get("a"), _unmeasured(event.get("d") or {}))


def _unmeasured(data: dict[str, Any]) -> dict[str, Any]:
    """Event data without what was read off the clock (in the telemetry, a result's state and
    telemetry too), errors by kind (a timeout's message quotes the seconds it waited)."""
    kept = {k: v for k, v in data.items() if k not in _MEASURED}
    telemetry = kept.get("telemetry")
    if isinstance(telemetry, dict):
        kept["telemetry"] = {k: v for k, v in telemetry.items() if k not in _MEASURED_TELEMETRY}
    state = kept.get("state")
    if isinstance(state, dict):
        kept["state"] = {k: v for k, v in state.items() if k not in _MEASURED_STATE}
    result = kept.get("result")
    if isinstance(result, dict):
        kept["result"] = _unmeasured(result)
    error = kept.get("error")
    if isinstance(error, dict) and error.get("__") == "error":
        attrs = error.get("attrs") or {}
        kept["error"] = (error.get("type"), attrs.get("code"), attrs.get("category"))
    errors = kept.get("errors")
    if isinstance(errors, list):
        kept["errors"] = [_unmeasured({"error": e})["error"] for e in errors]
    return kept


def _event_difference(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str:
    """``NAME vs OTHER``, or for the same event the fields that differ (``NAME (ttft:
    0.012 -> 0.02)``)."""
    name_a = a["name"] if a else "(none)"
    name_b = b["name"] if b else "(none)"
    if a is None or b is None or name_a != name_b:
        return f"{name_a} vs {name_b}"
    da, db = a.get("data") or {}, b.get("data") or {}
    keys = [k for k in sorted(set(da) | set(db)) if da.get(k) != db.get(k) and k not in _MEASURED]
    if a.get("attempt") != b.get("attempt"):
        keys.insert(0, "attempt")
        da, db = {**da, "attempt": a.get("attempt")}, {**db, "attempt": b.get("attempt")}
    shown = [f"{k}: {_short(da.get(k))} -> {_short(db.get(k))}" for k in keys[:3]]
    more = f", +{len(keys) - 3} more" if len(keys) > 3 else ""
    return f"{name_a} ({'; '.join(shown)}{more})" if shown else f"{name_a} (same data)"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def compare_replays(a: Recording | ReplayResult, b: Recording | ReplayResult) -> ReplayDiff:
    """Compare two runs: a recording and its replay, two replays, two recordings.

    Returns:
        A :class:`ReplayDiff`: the first differing lifecycle event, the text diff, attempts,
        errors by category, timing, and a one-line-per-difference ``summary``.
    """
    ra, rb = _recording(a), _recording(b)
    la, lb = ra.lifecycle(), rb.lifecycle()
    first = None
    for i in range(max(len(la), len(lb))):
        ea = la[i] if i < len(la) else None
        eb = lb[i] if i < len(lb) else None
        if ea is None or eb is None or _key(ea) != _key(eb):
            first = (i, _event(ea), _event(eb))
            break
    ta, tb = ra.text, rb.text
    text_diff = ""
    if ta != tb:
        text_diff = "".join(
            difflib.unified_diff(
                (ta or "").splitlines(keepends=True),
                (tb or "").splitlines(keepends=True),
                "a",
                "b",
            )
        )
    tel_a, tel_b = ra.telemetry, rb.telemetry
    diff = ReplayDiff(
        identical=ra.canonical() == rb.canonical(),
        first_event=first,
        text=(ta, tb),
        text_diff=text_diff,
        status=(ra.status, rb.status),
        attempts=(len(ra.attempts()), len(rb.attempts())),
        retries_by_category=(
            dict(tel_a.get("errors_by_category") or {}),
            dict(tel_b.get("errors_by_category") or {}),
        ),
        duration=(tel_a.get("duration"), tel_b.get("duration")),
    )
    s = diff.summary
    if diff.status[0] != diff.status[1]:
        s.append(f"status: {diff.status[0]} -> {diff.status[1]}")
    if diff.attempts[0] != diff.attempts[1]:
        s.append(f"attempts: {diff.attempts[0]} -> {diff.attempts[1]}")
    if diff.retries_by_category[0] != diff.retries_by_category[1]:
        s.append(
            f"errors by category: {diff.retries_by_category[0]} -> {diff.retries_by_category[1]}"
        )
    if ta != tb:
        s.append("text differs")
    if first is not None:
        s.append(f"first differing event #{first[0]}: {_event_difference(first[1], first[2])}")
    if not s and not diff.identical:
        s.append("same events and text; timing or source details differ")
    return diff
