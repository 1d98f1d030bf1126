"""What l0 tests itself with, for your tests too: a fake clock, scripted fault streams,
and (in :mod:`l0.testing.conformance`) the adapter conformance suite."""

from l0.testing.clock import FakeClock
from l0.testing.faults import ScriptedSource, Step, drop, fail, malformed, stall, tokens

__all__ = [
    "FakeClock",
    "ScriptedSource",
    "Step",
    "drop",
    "fail",
    "malformed",
    "stall",
    "tokens",
]
