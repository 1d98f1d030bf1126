"""The ``l0`` command: ``l0 demo``, ``l0 chaos``, ``l0 replay``."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``l0`` console script."""
    from l0 import __version__

    parser = argparse.ArgumentParser(prog="l0", description="Reliable LLM token streams.")
    parser.add_argument("--version", action="version", version=f"l0 {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="a simulated flaky provider, handled live (no network)")
    demo.add_argument("--fast", action="store_true", help="no pauses between tokens")
    demo.add_argument("--record", metavar="DIR", help="record each scene into DIR (l0 replay)")
    from l0.recordings.render import add_arguments as add_replay_arguments

    replay = sub.add_parser("replay", help="render a recorded run; replay it with another policy")
    add_replay_arguments(replay)
    from l0.chaos.cli import add_arguments as add_chaos_arguments

    chaos = sub.add_parser(
        "chaos", help="a fault-injecting OpenAI/Anthropic-compatible provider server (loopback)"
    )
    add_chaos_arguments(chaos)
    args = parser.parse_args(argv)
    if argv is None and hasattr(signal, "SIGPIPE") and args.command in _REPORTS:
        # A report to stdout: a reader that goes away (`l0 demo | head`) ends it quietly,
        # like other command-line tools, not with BrokenPipeError tracebacks. Never for the
        # chaos server: the signal would kill it whenever a client hung up mid-response.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        # Ctrl-C ends a command quietly, with the shell's conventional status (128 + SIGINT).
        print("\ninterrupted", file=sys.stderr)
        return 130


_REPORTS = frozenset({"demo", "replay"})
"""The commands that write a report to stdout (and may end quietly when its reader leaves)."""


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from l0.demo import main as demo_main

        return int(demo_main(fast=args.fast, record=args.record))
    if args.command == "replay":
        from l0.recordings.render import run as replay_run

        return replay_run(args)
    if args.command == "chaos":
        from l0.chaos.cli import run as chaos_run

        return chaos_run(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
