"""``l0 replay``: render a recorded run (timeline, final text, summary) with rich.

l0 replay PATH|redis://host:port/db/KEY [--key KEY] [--json] [--speed X]
          [--policy policy.json] [--diff OTHER]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import anyio

from l0.recordings.compare import ReplayDiff, compare_replays
from l0.recordings.player import ReplayResult, replay
from l0.recordings.recording import Recording, load_recording
from l0.types import Continuation, Retry, Timeout

__all__ = ["add_arguments", "policy_overrides", "run", "timeline"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``l0 replay`` arguments."""
    parser.add_argument("target", help="a recording: a .jsonl file, a directory, redis://…/KEY")
    parser.add_argument("--key", help="which recording, in a directory of several")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--speed",
        type=float,
        default=0.0,
        help="play the timeline back in recorded time divided by SPEED (default 0: at once)",
    )
    parser.add_argument(
        "--policy",
        help='a JSON file of overrides ({"retry": {...}, "timeout": {...}, '
        '"continuation": ...}): replay with them, show what would have happened',
    )
    parser.add_argument("--diff", metavar="OTHER", help="compare with another recording")


def policy_overrides(data: Any) -> dict[str, Any]:
    """``--policy`` JSON as :func:`l0.replay` overrides.

    Raises:
        ValueError: An unknown key (the valid ones are named) or bad values.
    """
    if not isinstance(data, dict):
        raise ValueError("the policy file must hold a JSON object")
    builders: dict[str, Any] = {
        "retry": lambda v: Retry(**v),
        "timeout": lambda v: Timeout(**v),
        "continuation": lambda v: Continuation(**v) if isinstance(v, dict) else bool(v),
        "detect_zero_output": bool,
        "detect_truncation": bool,
    }
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in builders:
            raise ValueError(f"unknown policy key {key!r}; use {', '.join(sorted(builders))}")
        try:
            out[key] = builders[key](value)
        except TypeError as exc:
            raise ValueError(f"policy {key}: {exc}") from None
    return out


def _fmt(d: dict[str, Any], name: str) -> str | None:
    err = d.get("error")
    err_text = (
        f"{err.get('type')}: {err.get('message')}" if isinstance(err, dict) else str(err or "")
    )
    texts: dict[str, Callable[[], str | None]] = {
        "SESSION_START": lambda: (
            f"session start ({d.get('fallbacks', 0)} fallback(s), continuation "
            f"{'on' if d.get('continuation') else 'off'})"
        ),
        "ATTEMPT_START": lambda: (
            f"attempt {d.get('number')} on source {d.get('fallback_index')}"
            + (" (retry)" if d.get("is_retry") else "")
        ),
        "FIRST_TOKEN": lambda: f"first token after {float(d.get('ttft') or 0):.3f}s",
        "TIMEOUT_TRIGGERED": lambda: (
            f"{d.get('kind')} timeout: {float(d.get('elapsed') or 0):.2f}s waited, limit "
            f"{d.get('timeout')}s"
        ),
        "ERROR": lambda: (
            f"fault {err_text} [{d.get('category')}] -> {d.get('action')} ({d.get('reason')})"
        ),
        "RETRY_ATTEMPT": lambda: (
            f"retry {d.get('retry')} after {float(d.get('delay') or 0):.2f}s "
            f"({d.get('category')}{', counted' if d.get('counts') else ''})"
        ),
        "RETRY_GIVE_UP": lambda: f"give up: {d.get('reason')}",
        "FALLBACK_START": lambda: (
            f"fallback {d.get('from_index')} -> {d.get('to_index')}: {d.get('reason')}"
        ),
        "RESET": lambda: f"reset: the consumer discards {d.get('discard')} chars",
        "RESUME_START": lambda: f"resume from the checkpoint ({d.get('checkpoint_length')} chars)",
        "GUARDRAIL_RULE_RESULT": lambda: (
            f"guardrail {(d.get('violation') or {}).get('rule')}: "
            f"{(d.get('violation') or {}).get('message')}"
            if d.get("violation")
            else None
        ),
        "DRIFT_CHECK_RESULT": lambda: (
            f"drift detected: {', '.join(d.get('types') or [])}" if d.get("detected") else None
        ),
        "STREAM_END": lambda: (
            f"stream end ({d.get('finish_reason') or 'no finish reason'}, "
            f"{d.get('token_count')} tokens)"
        ),
        "COMPLETE": lambda: f"complete: {d.get('length')} chars",
        "SESSION_END": lambda: f"session end: {d.get('status')}, {d.get('attempts')} attempt(s)",
    }
    text = texts.get(name)
    return text() if text is not None else None


def timeline(rec: Recording) -> list[dict[str, Any]]:
    """The run as timeline entries: ``{"t": seconds since start, "attempt", "event",
    "text"}`` (the lifecycle events worth showing)."""
    events = rec.lifecycle()
    t0 = events[0]["ts"] if events else 0.0
    out = []
    for e in events:
        text = _fmt(e.get("d") or {}, e["n"])
        if text is not None:
            out.append({"t": e["ts"] - t0, "attempt": e["a"], "event": e["n"], "text": text})
    return out


def summary(rec: Recording) -> dict[str, Any]:
    """The numbers of the summary table."""
    tel = rec.telemetry
    return {
        "stream_id": rec.stream_id,
        "status": rec.status,
        "attempts": len(rec.attempts()),
        "retries": tel.get("retries"),
        "network_retries": tel.get("network_retries"),
        "model_retries": tel.get("model_retries"),
        "fallbacks": tel.get("fallbacks"),
        "errors_by_category": tel.get("errors_by_category") or {},
        "tokens": tel.get("token_count"),
        "time_to_first_token": tel.get("time_to_first_token"),
        "duration": tel.get("duration"),
        "final_error": (rec.error or {}).get("message"),
    }


_STYLES = {
    "ERROR": "red",
    "TIMEOUT_TRIGGERED": "red",
    "RETRY_ATTEMPT": "yellow",
    "FALLBACK_START": "magenta",
    "RESET": "magenta",
    "RESUME_START": "cyan",
    "COMPLETE": "green",
    "GUARDRAIL_RULE_RESULT": "red",
}


def _render(
    rec: Recording, console: Any, speed: float, title: str, replayed: ReplayResult | None
) -> None:
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    console.rule(f"[bold]{title}[/bold] {rec.stream_id}")
    last = 0.0
    for entry in timeline(rec):
        if speed > 0 and entry["t"] > last:
            time.sleep(min((entry["t"] - last) / speed, 5.0))
        last = entry["t"]
        style = _STYLES.get(entry["event"], "")
        text = entry["text"].replace("[", "\\[")
        line = f"{entry['t']:8.3f}s  #{entry['attempt']}  {text}"
        # One line per event (never wrapped: easy to grep); the final text wraps.
        console.print(
            f"[{style}]{line}[/{style}]" if style else line, highlight=False, soft_wrap=True
        )
    if rec.text is not None:
        console.print(Panel(Text(rec.text), title="final text", expand=False), highlight=False)
    table = Table(title="summary", show_header=False)
    for k, v in summary(rec).items():
        if isinstance(v, float):
            v = f"{v:.3f}s"
        table.add_row(k, Text(str(v)))  # (recorded text, never markup: "[redacted]" stays)
    if replayed is not None and replayed.identical is not None:
        table.add_row("replay", "identical byte for byte" if replayed.identical else "DIFFERS")
    if replayed is not None and replayed.diverged is not None:
        # The replay needed what the recording lacks: its outcome is not what would have been.
        table.add_row("diverged", Text(f"inconclusive: {replayed.diverged}"))
    console.print(table)


def _render_diff(diff: ReplayDiff, console: Any) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="diff", show_header=True)
    table.add_column("")
    table.add_column("a")
    table.add_column("b")
    rows = {
        "status": diff.status,
        "attempts": tuple(map(str, diff.attempts)),
        "errors by category": tuple(map(str, diff.retries_by_category)),
        "duration": tuple(f"{d:.3f}s" if d is not None else "-" for d in diff.duration),
    }
    for name, (a, b) in rows.items():
        table.add_row(name, Text(a), Text(b))
    console.print(table)
    console.print(
        "identical byte for byte" if diff.identical else "\n".join(diff.summary),
        highlight=False,
        markup=False,
    )
    if diff.text_diff:
        console.print(diff.text_diff, highlight=False, markup=False)


async def _main(args: argparse.Namespace, out: TextIO, overrides: dict[str, Any]) -> int:
    rec = await load_recording(args.target, args.key)
    replayed = await replay(rec, **overrides)
    shown = replayed.recording if overrides else rec
    diff = None
    if args.diff:
        diff = compare_replays(rec, await load_recording(args.diff))
    elif overrides:
        diff = compare_replays(rec, replayed)
    if args.json:
        doc: dict[str, Any] = {
            "timeline": timeline(shown),
            "text": shown.text,
            "summary": summary(shown),
            "identical": replayed.identical,
            # Set when the replay needed what the recording lacks: its outcome says nothing.
            "diverged": str(replayed.diverged) if replayed.diverged is not None else None,
        }
        if diff is not None:
            doc["diff"] = diff.to_dict()
        out.write(json.dumps(doc, indent=2, default=str) + "\n")
        return 0
    from rich.console import Console

    console = Console(file=out, width=110, color_system=None)
    if out.isatty():
        console = Console(file=out, width=None)
    title = "replay with policy" if overrides else "recording"
    _render(shown, console, args.speed, title, replayed)
    if diff is not None:
        _render_diff(diff, console)
    return 0


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``l0 replay``: exit 0, or 2 with a message for a bad target or policy."""
    stream = out or sys.stdout
    try:
        overrides: dict[str, Any] = {}
        if args.policy:
            with open(args.policy, encoding="utf-8") as f:
                overrides = policy_overrides(json.load(f))
        # The replayed run logs as a live one would ("gave up after ..."): not this command's
        # report, which says it all (only errors reach stderr).
        logger = logging.getLogger("l0")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            return anyio.run(_main, args, stream, overrides)
        finally:
            logger.setLevel(level)
    except (FileNotFoundError, KeyError, ValueError, TypeError) as exc:
        print(f"l0 replay: {exc}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - via l0.cli
    """Standalone entry (``python -m l0.recordings.render``)."""
    parser = argparse.ArgumentParser(prog="l0 replay")
    add_arguments(parser)
    return run(parser.parse_args(argv))
