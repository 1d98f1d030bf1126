"""Run a :class:`~l0.chaos.server.ChaosServer` on an event loop of its own, in a thread.

This is what ``with ChaosServer(...)`` (sync tests, :func:`l0.run_sync`, sync SDK clients)
and ``async with`` under a backend other than asyncio use.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from anyio.from_thread import BlockingPortal, start_blocking_portal

if TYPE_CHECKING:
    from l0.chaos.server import ChaosServer

__all__ = ["ServerThread"]


class ServerThread:
    """Serves ``server`` from a thread running an asyncio loop (via an anyio portal)."""

    def __init__(self, server: ChaosServer) -> None:
        self.server = server
        self._cm: AbstractContextManager[BlockingPortal] | None = None

    def start(self) -> None:
        """Start the loop thread and bind the server; returns once it accepts connections."""
        cm = start_blocking_portal("asyncio")
        portal = cm.__enter__()
        try:
            portal.call(self.server.start)
        except BaseException as exc:
            cm.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._cm = cm
        self._portal = portal

    def close(self) -> None:
        """Stop the server, then the loop thread."""
        cm, self._cm = self._cm, None
        if cm is None:
            return
        try:
            self._portal.call(self.server.aclose)
        finally:
            cm.__exit__(None, None, None)
