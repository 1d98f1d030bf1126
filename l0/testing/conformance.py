"""The adapter conformance suite: the checks every l0 adapter passes, for yours too.

Describe a few fixture streams (:class:`AdapterCase`: a factory for a fresh stream object and
what it must decode to), the exceptions your SDK raises (:class:`ErrorCase`) and how to tell
that a stream was closed (:class:`CancelCase`), then::

    await run_conformance(adapter, cases, errors=errors, cancel=cancel)

It checks, through :func:`l0.run` and :func:`l0.stream` (no mocks of l0):

* detection: ``detect_adapter`` picks the adapter for every case's stream object;
* fidelity: with and without ``adapter=``, the text, tool calls, usage and finish reason are
  exactly the expected ones, ``TOKEN`` events concatenate to the text and ``TOOL_CALL``
  events carry the tool calls in order;
* error mapping: each SDK exception maps (adapter first, then l0's generic rules) to the
  expected l0 error class and category, with the SDK exception as ``__cause__``;
* cancellation: leaving a stream after its first token closes the provider stream.

Each failed check raises :class:`AssertionError` naming the case.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from l0.adapters.base import Adapter
from l0.adapters.registry import detect_adapter
from l0.core import stream
from l0.errors import ErrorCategory, L0Error, to_l0_error
from l0.testing.clock import FakeClock
from l0.types import Event, EventType, Result, Retry, ToolCall, Usage

__all__ = [
    "AdapterCase",
    "CancelCase",
    "ErrorCase",
    "check_cancel_closes",
    "check_detection",
    "check_errors",
    "check_fidelity",
    "run_conformance",
]

ContextFactory = Callable[[], contextlib.AbstractContextManager[Any]]


@dataclass(frozen=True)
class AdapterCase:
    """One fixture stream and what it must decode to.

    Attributes:
        name: Shown in failures.
        make: Returns (or awaits to) a fresh stream object each call.
        text: The expected ``Result.text``.
        tool_calls: The expected ``Result.tool_calls``.
        usage: The expected ``Result.usage``.
        finish_reason: The expected ``Result.finish_reason``.
        context: Entered around each run (e.g. a cassette replay); ``None`` for none.
    """

    name: str
    make: Callable[[], Any]
    text: str = ""
    tool_calls: Sequence[ToolCall] = ()
    usage: Usage | None = None
    finish_reason: str | None = None
    context: ContextFactory | None = None


@dataclass(frozen=True)
class ErrorCase:
    """One SDK exception and the l0 error it must map to."""

    name: str
    make: Callable[[], BaseException]
    error: type[L0Error]
    category: ErrorCategory


@dataclass(frozen=True)
class CancelCase:
    """A stream with at least one token, and how to see that it was closed.

    Attributes:
        make: Returns (or awaits to) a fresh stream object.
        closed: True once the provider stream behind that object is closed.
        context: Entered around the run, as for :class:`AdapterCase`.
    """

    make: Callable[[], Any]
    closed: Callable[[Any], bool]
    context: ContextFactory | None = None


def _context(factory: ContextFactory | None) -> contextlib.AbstractContextManager[Any]:
    return factory() if factory is not None else contextlib.nullcontext()


async def _resolve(make: Callable[[], Any]) -> Any:
    obj = make()
    while inspect.isawaitable(obj):
        obj = await obj
    return obj


async def check_detection(adapter: Adapter, case: AdapterCase) -> None:
    """``detect_adapter`` picks ``adapter`` for the case's stream object."""
    with _context(case.context):
        obj = await _resolve(case.make)
        try:
            found = detect_adapter(obj)
            assert found.name == adapter.name, (
                f"{case.name}: detected {found.name!r}, expected {adapter.name!r}"
            )
        finally:
            await adapter.open(obj).aclose()


def _assert_result(case: AdapterCase, result: Result, events: list[Event], how: str) -> None:
    label = f"{case.name} ({how})"
    assert result.text == case.text, f"{label}: text {result.text!r} != {case.text!r}"
    tokens = "".join(ev.text or "" for ev in events if ev.type is EventType.TOKEN)
    assert tokens == case.text, f"{label}: TOKEN events give {tokens!r}"
    assert result.tool_calls == list(case.tool_calls), f"{label}: tool calls {result.tool_calls}"
    calls = [ev.data for ev in events if ev.type is EventType.TOOL_CALL]
    assert calls == list(case.tool_calls), f"{label}: TOOL_CALL events {calls}"
    assert result.usage == case.usage, f"{label}: usage {result.usage} != {case.usage}"
    assert result.finish_reason == case.finish_reason, (
        f"{label}: finish reason {result.finish_reason!r} != {case.finish_reason!r}"
    )


async def check_fidelity(adapter: Adapter, case: AdapterCase) -> None:
    """Decoded text, tool calls, usage and finish reason are exact, detected or explicit."""
    for how, explicit in (("detected", None), ("adapter=", adapter)):
        with _context(case.context):
            async with stream(
                case.make, adapter=explicit, clock=FakeClock(), retry=_no_retry()
            ) as s:
                events = [ev async for ev in s]
            _assert_result(case, s.result, events, how)


def _no_retry() -> Retry:
    # A fixture must decode on the first try: a retry would hide a decoding failure.
    return Retry(attempts=0, max_retries=0)


def check_errors(adapter: Adapter, cases: Sequence[ErrorCase]) -> None:
    """Each exception maps to its l0 error class and category, with the cause attached."""
    for case in cases:
        exc = case.make()
        err = adapter.map_error(exc) or to_l0_error(exc)
        assert type(err) is case.error, f"{case.name}: mapped to {type(err).__name__}"
        assert err is not None
        assert err.category is case.category, f"{case.name}: category {err.category}"
        assert err.__cause__ is exc or err is exc, f"{case.name}: cause not attached"


async def check_cancel_closes(adapter: Adapter, case: CancelCase) -> None:
    """Leaving the stream after its first token closes the provider stream."""
    opened: list[Any] = []

    async def source() -> Any:
        obj = await _resolve(case.make)
        opened.append(obj)
        return obj

    with _context(case.context):
        async with stream(source, adapter=adapter, clock=FakeClock()) as s:
            async for ev in s:
                if ev.type is EventType.TOKEN:
                    break
        assert opened, "cancel case: the source was never called"
        assert case.closed(opened[0]), "cancel case: the provider stream is still open"


async def run_conformance(
    adapter: Adapter,
    cases: Sequence[AdapterCase],
    *,
    errors: Sequence[ErrorCase] = (),
    cancel: CancelCase | None = None,
) -> None:
    """Run every check; raises :class:`AssertionError` on the first failure."""
    for case in cases:
        await check_detection(adapter, case)
        await check_fidelity(adapter, case)
    check_errors(adapter, errors)
    if cancel is not None:
        await check_cancel_closes(adapter, cancel)
