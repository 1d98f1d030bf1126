"""Scripted fault streams: deterministic sources that stall, drop, corrupt or end early.

A :class:`ScriptedSource` is a source factory whose *n*-th call plays the *n*-th script (the
last script repeats). A script is a list of steps::

    from l0.testing import ScriptedSource, drop, stall, tokens

    source = ScriptedSource(
        [*tokens("Hello, wor"), drop()],            # attempt 1: 10 chars, then a reset
        [*tokens("Hello, world!")],                 # attempt 2: the full answer
    )
    result = await l0.run(source, retry=l0.Retry(base_delay=0), clock=FakeClock())
    assert source.calls == 2 and source.closed == 2

Steps: a ``str`` or :class:`~l0.types.Event` is yielded; :func:`stall` sleeps (real time:
keep it short, or make the stream time out); :func:`drop` raises a connection error;
:func:`malformed` raises a JSON decoding error, as an SDK does on a corrupt chunk;
:func:`fail` raises any exception. A script that simply ends is an early EOF.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import anyio

from l0.types import Attempt, Event

__all__ = ["ScriptedSource", "Step", "drop", "fail", "malformed", "stall", "tokens"]


@dataclass(frozen=True, slots=True)
class _Stall:
    seconds: float


@dataclass(frozen=True, slots=True)
class _Raise:
    error: BaseException


Step = str | Event | _Stall | _Raise
"""One step of a script."""


def tokens(text: str, size: int = 4) -> list[str]:
    """``text`` cut into ``size``-character tokens."""
    if size < 1:
        raise ValueError("size must be >= 1")
    return [text[i : i + size] for i in range(0, len(text), size)]


def stall(seconds: float) -> _Stall:
    """Wait ``seconds`` (real time) before the next step."""
    return _Stall(seconds)


def drop(message: str = "connection reset by peer") -> _Raise:
    """Raise ``ConnectionResetError`` (a network drop)."""
    return _Raise(ConnectionResetError(message))


def malformed(doc: str = '{"choices": [') -> _Raise:
    """Raise a JSON decoding error (a corrupt chunk)."""
    try:
        json.loads(doc)
    except json.JSONDecodeError as exc:
        return _Raise(exc)
    raise ValueError(f"{doc!r} is valid JSON")


def fail(error: BaseException) -> _Raise:
    """Raise ``error``."""
    return _Raise(error)


class ScriptedSource:
    """A source factory playing one script per call (the last script repeats).

    Attributes:
        calls: How many attempts called the factory.
        attempts: The :class:`~l0.types.Attempt` of each call.
        closed: How many of the streams were closed (finished, failed or cancelled).
        yielded: Items yielded per call.
    """

    def __init__(self, *scripts: Sequence[Step]) -> None:
        if not scripts:
            raise ValueError("ScriptedSource needs at least one script")
        self.scripts = [list(s) for s in scripts]
        self.calls = 0
        self.closed = 0
        self.attempts: list[Attempt] = []
        self.yielded: list[int] = []

    def __call__(self, attempt: Attempt) -> AsyncIterator[str | Event]:
        script = self.scripts[min(self.calls, len(self.scripts) - 1)]
        self.calls += 1
        self.attempts.append(attempt)
        self.yielded.append(0)
        return self._play(script, len(self.yielded) - 1)

    async def _play(self, script: list[Step], index: int) -> AsyncIterator[str | Event]:
        try:
            for step in script:
                if isinstance(step, _Stall):
                    await anyio.sleep(step.seconds)
                elif isinstance(step, _Raise):
                    raise step.error
                else:
                    self.yielded[index] += 1
                    yield step
        finally:
            self.closed += 1
