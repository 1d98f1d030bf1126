"""The public entry points: :func:`stream`, :func:`run` and their sync bridges.

A thin facade: :func:`stream` validates the options (:mod:`l0.runtime.options`) and returns a
:class:`~l0.runtime.stream.Stream` over a :class:`~l0.runtime.run.Run`, whose attempt loop
lives in :mod:`l0.runtime.run`. :func:`run_sync` and :func:`stream_sync` drive the same async
core through one anyio portal (:mod:`l0.runtime.sync`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from typing import Any

import anyio
import anyio.from_thread
from typing_extensions import Unpack

from l0.runtime.events import EventHandler
from l0.runtime.options import OPTION_NAMES, RunOptions, build_options, check_option_names
from l0.runtime.run import Run
from l0.runtime.stream import Stream
from l0.runtime.sync import call_beside_loop, iterate_blocking, loop_running_here
from l0.types import Event, Result

__all__ = ["run", "run_sync", "stream", "stream_sync"]


# -- public API --------------------------------------------------------------------------------


def stream(source: Any, **options: Unpack[RunOptions]) -> Stream:
    """Open a reliable stream over ``source``; use it with ``async with`` and ``async for``.

    Args:
        source: A callable taking no argument or one :class:`l0.Attempt` that returns (or
            awaits to) a stream: a provider SDK stream, or any async/sync iterable of ``str``
            or :class:`l0.Event`. A stream object itself is accepted but cannot be retried.
        **options: The :class:`~l0.runtime.options.RunOptions` (``fallbacks``, ``retry``,
            ``timeout``, ``guardrails``, ``drift``, ``continuation``, ``on_event``, …).

    Raises:
        TypeError, ValueError: For invalid options (before anything runs); a misspelt
            option names the closest valid one.
    """
    if not OPTION_NAMES.issuperset(options):
        check_option_names(options, "l0.stream")
    return Stream(Run(build_options(source, **options)))


async def run(source: Any, **options: Unpack[RunOptions]) -> Result:
    """Run ``source`` to completion and return the :class:`l0.Result`.

    Takes the same keyword options as :func:`stream` (:class:`~l0.runtime.options.RunOptions`).

    Raises:
        l0.L0Error: When every retry and fallback failed (usually
            :class:`l0.RetriesExhaustedError`, carrying every error).
    """
    if not OPTION_NAMES.issuperset(options):
        check_option_names(options, "l0.run")
    async with stream(source, **options) as s:
        async for _ in s:
            pass
    return s.result


def run_sync(source: Any, **options: Unpack[RunOptions]) -> Result:
    """Blocking :func:`run`, for code without an event loop (works inside a running
    loop's thread too: the async core runs on a portal thread)."""
    if not OPTION_NAMES.issuperset(options):
        check_option_names(options, "l0.run_sync")
    if loop_running_here():  # e.g. a notebook: fine, unless this loop serves the source

        def run_with(handler: EventHandler) -> Awaitable[Result]:
            beside: RunOptions = {**options, "on_event": handler}
            return run(source, **beside)

        return call_beside_loop(run_with, options.get("on_event"))
    with anyio.from_thread.start_blocking_portal() as portal:
        return portal.call(lambda: run(source, **options))


def stream_sync(source: Any, **options: Unpack[RunOptions]) -> Iterator[Event]:
    """Blocking iteration over :func:`stream`'s events (same options).

    The whole iteration runs in one task on a portal thread, so stall timeouts cut the
    provider read exactly as with :func:`stream`. Leaving the loop early (``break``, an
    exception, Ctrl-C) closes the provider stream before the loop is left.

    Raises:
        TypeError, ValueError: For invalid options, at once (before iterating).
    """
    if not OPTION_NAMES.issuperset(options):
        check_option_names(options, "l0.stream_sync")
    return iterate_blocking(stream(source, **options).__aiter__)
