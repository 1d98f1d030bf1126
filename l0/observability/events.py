"""The lifecycle event catalog: defined in :mod:`l0.events` (the core vocabulary), kept
importable here."""

from __future__ import annotations

from l0.events import PAYLOADS, EventName

__all__ = ["PAYLOADS", "EventName"]
