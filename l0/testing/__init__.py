"""What l0 tests itself with, for your tests too: a fake clock, scripted fault streams, the
chaos server's test helpers (real SDK clients pointed at :mod:`l0.chaos` on loopback), and
(in :mod:`l0.testing.conformance`) the adapter conformance suite."""

from l0.testing.chaos import anthropic_client, chaos_server, openai_client
from l0.testing.clock import FakeClock
from l0.testing.faults import ScriptedSource, Step, drop, fail, malformed, stall, tokens
from l0.testing.recorded import RecordedSource, recorded_source

__all__ = [
    "FakeClock",
    "RecordedSource",
    "ScriptedSource",
    "Step",
    "anthropic_client",
    "chaos_server",
    "drop",
    "fail",
    "malformed",
    "openai_client",
    "recorded_source",
    "stall",
    "tokens",
]
