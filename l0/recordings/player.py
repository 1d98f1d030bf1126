"""Replay: re-drive a recorded run through the real attempt loop, with no network.

The recorded source side is played back (each attempt's chunks, its faults at the same
points); everything else — retry decisions, continuation and overlap removal, guardrails,
drift, the events — runs for real. Without behaviour overrides the clock is the recorded one
(its readings and jitter draws are played back in order), so the replay equals the recording
byte for byte (:meth:`Recording.canonical`). With overrides (``retry=``, ``timeout=``,
``guardrails=``, ``continuation=``, …) time is virtual and follows the recorded arrival
times: a 30 s stall replays instantly, and the answer shows what *would* have happened.
The playback machinery (the played sources, streams and clocks) is :mod:`l0.recordings.playback`;
here are :func:`replay`, its result, and the rebuilding of the recorded options.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from l0.recordings.playback import (
    ReplayAdapter,
    ReplayDivergedError,
    _ExactClock,
    _Player,
    _ReplayCutError,
    _sleep_cuts,
    _VirtualClock,
)
from l0.recordings.recording import Recording, load_recording
from l0.runtime.options import DEFAULT_TIMEOUT
from l0.runtime.record_schema import decode_value
from l0.runtime.record_stores import MemoryStore
from l0.runtime.recording import Recorder
from l0.types import (
    CheckIntervals,
    Continuation,
    Event,
    ObservabilityEvent,
    Result,
    Retry,
    Timeout,
)

# The errors go by this module, as before the playback machinery moved out: a recording names
# an error's class by its module (and reads it back from there), and tracebacks read it.
for _cls in (ReplayDivergedError, _ReplayCutError):
    _cls.__module__ = __name__
del _cls

__all__ = ["OVERRIDES", "ReplayDivergedError", "ReplayResult", "replay"]

OVERRIDES = frozenset(
    {
        "retry",
        "timeout",
        "guardrails",
        "drift",
        "continuation",
        "check_intervals",
        "detect_zero_output",
        "detect_truncation",
        "on_event",
    }
)
"""The options :func:`replay` accepts; all but ``on_event`` change behaviour."""


@dataclass
class ReplayResult:
    """What a replay produced.

    Attributes:
        result: The :class:`l0.Result`, when the replayed run completed.
        error: The final error, when it failed.
        events: Every stream event the replay yielded (tokens, resets, …, ``COMPLETE``).
        lifecycle: Every lifecycle event, in order.
        recording: The replay's own recording.
        original: The recording replayed.
        exact: True when replayed without behaviour overrides (recorded clock).
        identical: Whether the replay equals the original byte for byte (``None`` with
            overrides, or for a metadata-only recording).
        first_difference: With ``identical`` False, ``(index, original item, replayed
            item)`` of the first canonical item that differs.
    """

    result: Result | None
    error: BaseException | None
    events: list[Event]
    lifecycle: list[ObservabilityEvent]
    recording: Recording
    original: Recording
    exact: bool
    identical: bool | None = None
    first_difference: tuple[int, str | None, str | None] | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str | None:
        """The final text (``None`` when the replayed run failed)."""
        return self.result.text if self.result is not None else None

    @property
    def status(self) -> str:
        """The replayed run's status."""
        return self.recording.status

    @property
    def diverged(self) -> ReplayDivergedError | None:
        """Why the replay could not say what would have happened, or ``None``.

        Set when the replay needed what the recording does not have (more attempts of a
        source than were recorded, a fallback that never ran, tokens after the point where
        the live run stopped reading). The run's final error may wrap it (e.g. a
        ``RetriesExhaustedError`` whose last error it is); this finds it either way.
        """
        seen: list[BaseException] = [self.error] if self.error is not None else []
        while seen:
            err = seen.pop()
            if isinstance(err, ReplayDivergedError):
                return err
            seen.extend(getattr(err, "errors", None) or ())
            linked = (getattr(err, "last_error", None), err.__cause__)
            seen.extend(e for e in linked if isinstance(e, BaseException))
        return None


def _retry(data: dict[str, Any], random: Callable[[], float]) -> Retry:
    fields = dict(data)
    if fields.get("retry_on") == "callable":
        raise ValueError(
            "the recording's retry policy used a retry_on predicate, which a recording cannot "
            "hold: pass retry=l0.Retry(...) to l0.replay"
        )
    fields["random"] = random
    known = {f.name for f in dataclasses.fields(Retry)}
    return Retry(**{k: v for k, v in fields.items() if k in known})


def _guardrails(identity: Any) -> Any:
    if not identity:
        return ()
    import l0.guardrails as g

    rules = []
    for rule in identity:
        factory = getattr(g, f"{rule.get('name')}_rule", None)
        made = factory() if callable(factory) else None
        if made is None or repr(made) != rule.get("repr"):
            raise ValueError(
                f"the recording used guardrail rule {rule.get('repr')!r}, which replay cannot "
                "rebuild by itself: pass guardrails=[...] to l0.replay"
            )
        rules.append(made)
    return rules


def _drift(identity: Any) -> Any:
    if identity is None:
        return None
    from l0.drift import DriftDetector
    from l0.runtime.record_options import _detector_repr

    made = DriftDetector()
    if identity.get("type") != "DriftDetector" or identity.get("repr") != _detector_repr(made):
        raise ValueError(
            f"the recording used drift detector {identity.get('repr')!r}, which replay cannot "
            "rebuild by itself: pass drift=... to l0.replay"
        )
    return made


def _check_overrides(overrides: dict[str, Any]) -> None:
    for name in overrides:
        if name not in OVERRIDES:
            close = difflib.get_close_matches(name, sorted(OVERRIDES), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TypeError(
                f"l0.replay() got an unknown override {name!r}{hint} (replay accepts: "
                f"{', '.join(sorted(OVERRIDES))})"
            )


async def replay(recording: Any, key: str | None = None, **overrides: Any) -> ReplayResult:
    """Replay a recorded run with no network (docs/replay.md).

    Args:
        recording: A :class:`Recording`, a path, a ``redis://…/KEY`` URL, or a store (then
            ``key`` names the recording).
        key: The recording's key in a store or a directory of recordings.
        **overrides: ``retry``, ``timeout``, ``guardrails``, ``drift``, ``continuation``,
            ``check_intervals``, ``detect_zero_output``, ``detect_truncation`` (what would
            have happened with these), and ``on_event`` (observe the replay).

    Returns:
        The :class:`ReplayResult`. Without overrides, ``identical`` says whether the replay
        equals the recording byte for byte.

    Raises:
        TypeError: An unknown override (the closest valid one is named).
        ValueError: Not a recording, or an option replay cannot rebuild (named, with the
            override to pass).
    """
    _check_overrides(overrides)
    rec = await load_recording(recording, key)
    opts = rec.options
    exact = not (set(overrides) - {"on_event"})
    draws = list(rec.draws)

    def random() -> float:
        return draws.pop(0) if draws else 0.5

    clock: Any = (
        _ExactClock(rec, _sleep_cuts(rec))
        if exact
        else _VirtualClock(rec.reads[0] if rec.reads else 0.0)
    )
    player = _Player(rec, exact, clock)
    n_sources = max(int(opts.get("sources", 1)), 1)
    factories = [player.factory(i) for i in range(n_sources)]
    store = MemoryStore()
    recorder = Recorder(
        store,
        key=rec.stream_id,
        content=bool(rec.header.get("content", True)),
        flush_every=int(rec.header.get("flush_every", 512)),
        gap=float(rec.header.get("gap", 0.25)),
    )
    lifecycle: list[ObservabilityEvent] = []
    user_on_event = overrides.get("on_event")

    async def observe(event: ObservabilityEvent) -> None:
        lifecycle.append(event)
        if user_on_event is not None:
            result = user_on_event(event)
            if hasattr(result, "__await__"):
                await result

    # A listener turns on CHECKPOINT_SAVED: the replay's observer does when the live run had
    # listeners of its own (recordings without the flag predate passive recording).
    observe.l0_passive = not rec.header.get("checkpoints", True)  # type: ignore[attr-defined]

    cont = opts.get("continuation")
    run_opts: dict[str, Any] = {
        "fallbacks": factories[1:],
        "retry": overrides.get("retry") or _retry(opts["retry"], random),
        "timeout": overrides.get("timeout")
        or (DEFAULT_TIMEOUT if opts.get("timeout_sampled") else Timeout(**opts["timeout"])),
        "continuation": overrides.get("continuation", Continuation(**cont) if cont else False),
        "check_intervals": overrides.get("check_intervals")
        or CheckIntervals(**opts["check_intervals"]),
        "detect_zero_output": overrides.get("detect_zero_output", opts["detect_zero_output"]),
        "detect_truncation": overrides.get("detect_truncation", opts["detect_truncation"]),
        "guardrails": overrides["guardrails"]
        if "guardrails" in overrides
        else _guardrails(opts.get("guardrails")),
        "drift": overrides["drift"] if "drift" in overrides else _drift(opts.get("drift")),
        "context": decode_value(opts.get("context")) or None,
        "adapter": ReplayAdapter(),
        "clock": clock,
        "stream_id": rec.stream_id,
        "record": recorder,
        "on_event": observe,
    }
    if "retry" in overrides and overrides["retry"].random is None:
        run_opts["retry"] = dataclasses.replace(overrides["retry"], random=random)
    from l0.core import stream

    events: list[Event] = []
    result: Result | None = None
    error: BaseException | None = None
    try:
        left = False
        async with stream(factories[0], **run_opts) as s:
            async for ev in s:
                events.append(ev)
                if exact and player.consumer_left():
                    left = True  # where the live run's consumer left: no result, no error
                    break
        if not left:
            result = s.result
    except Exception as exc:
        error = exc
    replayed = Recording.from_lines(await store.read(rec.stream_id), "replay")
    out = ReplayResult(
        result=result,
        error=error,
        events=events,
        lifecycle=lifecycle,
        recording=replayed,
        original=rec,
        exact=exact,
        overrides=dict(overrides),
    )
    if exact and rec.header.get("content", True):
        a, b = rec.canonical(), replayed.canonical()
        out.identical = a == b
        if a != b:
            i = next((j for j, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
            if i is None:
                i = min(len(a), len(b))
            out.first_difference = (i, a[i] if i < len(a) else None, b[i] if i < len(b) else None)
    return out
