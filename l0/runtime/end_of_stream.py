"""The end-of-stream rule, the same for every adapter.

Once an adapter has seen its protocol's end marker (:attr:`AdapterStream.ended`: a finish
reason, ``message_stop``, ``response.completed``, LangChain's final chunk, an l0
``COMPLETE`` event), the attempt is complete. Servers disagree on what follows: ``[DONE]``
and a clean close (OpenAI), a usage chunk first (``include_usage``), nothing at all with the
body left open (vLLM, proxies), a connection reset (vLLM), a lingering body after
``message_stop``. So the loop stops reading the normal way and calls :func:`read_after_end`:
trailing chunks are read (and decoded, for usage) for a short grace period —
:attr:`l0.Timeout.after_end`, default 1 s, never more than ``inter_token`` nor what is left of
``total`` — then, or at the first error, silence or end of body, the stream is closed and
the result returned. Nothing that happens after the end marker fails or retries the
attempt; text arriving after it is ignored.
"""

from __future__ import annotations

import anyio

from l0.adapters.base import AdapterStream
from l0.runtime.watchdog import Watchdog
from l0.types import Timeout

__all__ = ["grace_period", "read_after_end"]


def grace_period(timeout: Timeout, remaining_total: float | None) -> float:
    """Seconds trailing chunks may take after the end marker (see the module docstring)."""
    grace = timeout.after_end
    if timeout.inter_token is not None:
        grace = min(grace, timeout.inter_token)
    if remaining_total is not None:
        grace = min(grace, remaining_total)
    return max(grace, 0.0)


async def read_after_end(src: AdapterStream, wd: Watchdog, limits: Timeout) -> None:
    """Read what follows the end marker for the grace period; never raises an error of the
    stream's (an outside cancellation still propagates)."""
    grace = grace_period(limits, wd.remaining_total())
    wd.end_attempt()  # the stall deadlines no longer apply: the answer is whole
    if grace <= 0:
        return
    anext = src.chunks.__anext__
    decode = src.decode
    with anyio.move_on_after(grace):
        while True:
            try:
                chunk = await anext()
                decode(chunk)  # events ignored: only usage matters after the end
            except Exception:  # end of body (StopAsyncIteration), a reset, a bad chunk
                return
