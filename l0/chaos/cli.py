"""``l0 chaos``: run the chaos server in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

import anyio

from l0.chaos.answer import DEFAULT_ANSWER
from l0.chaos.plan import parse_fault, parse_plan
from l0.chaos.respond import ChaosRequest
from l0.chaos.server import HEADER, ChaosServer

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``chaos`` subcommand's options to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1", help="loopback address (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (8765; 0 picks a free one)")
    parser.add_argument(
        "--plan",
        action="append",
        default=[],
        help="faults for the coming requests, in order, e.g. 'drop_after_tokens=20,ok' "
        "(repeatable)",
    )
    parser.add_argument("--then", default="ok", help="fault once the plan is used up (ok)")
    answer = parser.add_mutually_exclusive_group()
    answer.add_argument("--answer", help="the answer text (default: a fixed paragraph)")
    answer.add_argument("--answer-file", type=Path, help="read the answer text from a file")
    parser.add_argument(
        "--restate", type=int, default=0, help="chars of a continuation prefix sent again (0)"
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request")


def _describe(record: ChaosRequest) -> str:
    cont = record.continuation
    resumed = f" resumed at {cont.start}" if cont.matched else ""
    return (
        f"#{record.index} {record.method} {record.path} [{record.fault}]{resumed} -> "
        f"{record.outcome}, {len(record.tokens)} tokens"
    )


def run(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Serve until interrupted; 2 for bad options (the reason goes to stderr)."""
    stream = out if out is not None else sys.stdout

    def say(line: str) -> None:
        print(line, file=stream, flush=True)

    try:
        plan = parse_plan(args.plan)
        answer = args.answer_file.read_text() if args.answer_file else args.answer
        server = ChaosServer(
            plan,
            answer=answer if answer is not None else DEFAULT_ANSWER,
            restate=args.restate,
            then=parse_fault(args.then),
            host=args.host,
            port=args.port,
            on_request=None if args.quiet else lambda r: say(_describe(r)),
        )
    except (ValueError, TypeError, OSError) as exc:
        print(f"l0 chaos: {exc}", file=sys.stderr)
        return 2

    async def serve() -> None:
        async with server:
            say(f"l0 chaos: serving on {server.base_url} (Ctrl-C stops)")
            say(f"  OpenAI     base_url={server.openai_base_url}")
            say(f"  Anthropic  base_url={server.anthropic_base_url}")
            say(f"  plan: {'; '.join(map(str, plan)) or '(none)'}; then {server.then}")
            say(f"  per request: header '{HEADER}: drop_after_bytes=200' overrides the plan")
            await anyio.sleep_forever()

    try:
        anyio.run(serve, backend="asyncio")
    except KeyboardInterrupt:
        say("l0 chaos: stopped")
    except OSError as exc:  # the port is taken, …
        print(f"l0 chaos: {exc}", file=sys.stderr)
        return 1
    return 0
