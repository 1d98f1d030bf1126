"""A reconnect to a stored stream: :class:`L0ResumeResponse`.

It replays the frames the client missed, then follows the stream live, holding it in the
store so that the producing run (on this worker or another) keeps going while someone reads.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
import orjson
from fastapi.responses import Response
from fastapi.sse import KEEPALIVE_COMMENT, format_sse_event
from starlette.types import Receive, Scope, Send

from l0.integrations.fastapi.response import (
    _Connection,
    _SSEResponse,
    _watch,
    error_response,
    store_unavailable,
)
from l0.integrations.fastapi.settings import Format
from l0.integrations.fastapi.store import (
    EventsExpiredError,
    ResumeStore,
    StoredFrame,
    StreamNotFoundError,
)

__all__ = ["STORE_FAILED", "L0ResumeResponse", "in_band_error"]

logger = logging.getLogger("l0.fastapi")

STORE_FAILED: dict[str, Any] = {
    "type": "ResumeStoreError",
    "message": "the resume store failed while this stream was being read; reconnect later",
    "code": "RESUME_STORE_UNAVAILABLE",
    "category": "transient",
    "retryable": True,
}
"""The in-band error a reader gets when the store fails after its response started."""


def in_band_error(fmt: Format, data: dict[str, Any]) -> bytes:
    """A terminal error frame in ``fmt``, without an id (a later reconnect resumes before it)."""
    if fmt == "openai":
        err = {"message": data["message"], "type": data["category"], "code": data["code"]}
        body = orjson.dumps({"error": err}).decode()
        return format_sse_event(data_str=body) + format_sse_event(data_str="[DONE]")
    if fmt == "vercel":
        part = orjson.dumps({"type": "error", "errorText": data["message"]}).decode()
        return format_sse_event(data_str=part) + format_sse_event(data_str="[DONE]")
    return format_sse_event(data_str=orjson.dumps(data).decode(), event="error")


class L0ResumeResponse(_SSEResponse):
    """A reconnect: replays the stored frames after ``last_id``, then follows live.

    Statuses: 404 (JSON) for an unknown or expired stream, 410 (JSON) when the events right
    after ``last_id`` were already dropped from the bounded log, 204 when the client already
    has the final event (or claims an id past the end of a finished stream), 416 (JSON) for an
    id past the current end of a running stream, 503 (JSON, ``Retry-After``) when the store
    fails before the response started. A store failure after it is an in-band error event.

    While it follows a running stream it holds the stream in the store (a lease lasting
    ``grace`` seconds past its last refresh), which keeps the producing run going.
    """

    def __init__(
        self,
        store: ResumeStore,
        stream_id: str,
        last_id: int,
        *,
        headers: dict[str, str],
        keepalive: float,
        reconnect_ms: int,
        grace: float = 60.0,
        format: Format = "l0",
    ) -> None:
        hint = format_sse_event(comment="l0 resume", retry=reconnect_ms)
        super().__init__(headers=headers, keepalive=keepalive, hint=hint)
        self.store = store
        self.stream_id = stream_id
        self.last_id = last_id
        self.grace = grace
        self.format = format

    async def _first(self) -> list[StoredFrame] | Response:
        """The frames to send first, or the error response."""
        last = self.last_id
        store, sid = self.store, self.stream_id
        try:
            try:
                frames = await store.read_after(sid, max(0, last - 1))
            except EventsExpiredError:
                frames = await store.read_after(sid, last)
            if not frames and last > 0:
                tail = await store.tail(sid)
                end = tail.id if tail is not None else 0
                if end < last:
                    if tail is not None and tail.final:
                        return Response(status_code=204)  # nothing more will ever come
                    return error_response(
                        416,
                        "last_event_id_ahead",
                        f"Last-Event-ID {last} is past the end of stream {sid!r} (its newest "
                        f"event is {end}); reconnect with the last id you received",
                        newest_id=end,
                    )
        except StreamNotFoundError as exc:
            return error_response(404, "stream_not_found", str(exc))
        except EventsExpiredError as exc:
            return error_response(410, "events_expired", str(exc))
        except Exception as exc:
            return store_unavailable(exc, sid)
        if frames and frames[0].id == last:
            if frames[0].final:
                return Response(status_code=204)
            frames = frames[1:]
        return frames

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the stream, then replay and follow it until its final frame."""
        first = await self._first()
        if isinstance(first, Response):
            await first(scope, receive, send)
            return
        async with anyio.create_task_group() as conn:
            conn.start_soon(_watch, receive, conn.cancel_scope.cancel)
            if not (first and first[-1].final):
                conn.start_soon(self._hold)
            await self._follow(first, _Connection(send, self.raw_headers, self.hint))
            conn.cancel_scope.cancel()

    async def _hold(self) -> None:
        """Keep the producing run alive while this reader follows (and ``grace`` after)."""
        period = max(self.grace / 4, 0.05)
        warned = False
        while True:
            try:
                await self.store.hold(self.stream_id, self.grace + period)
            except Exception:
                if not warned:
                    warned = True
                    logger.warning("l0: resume store hold failed", exc_info=True)
            await anyio.sleep(period)

    async def _follow(self, frames: list[StoredFrame], conn: _Connection) -> None:
        await conn.start(b"".join(f.data for f in frames))
        last = frames[-1] if frames else None
        last_id = last.id if last else self.last_id
        while last is None or not last.final:
            try:
                if not await self.store.wait(self.stream_id, last_id, self.keepalive):
                    await conn.body(KEEPALIVE_COMMENT)
                    continue
                frames = await self.store.read_after(self.stream_id, last_id)
            except (StreamNotFoundError, EventsExpiredError):
                break  # expired under us: end the response; a reconnect gets the status
            except Exception:
                logger.exception("l0: resume store failed; stream %s", self.stream_id)
                await conn.body(in_band_error(self.format, STORE_FAILED))
                break
            if frames:
                last = frames[-1]
                last_id = last.id
                await conn.body(b"".join(f.data for f in frames))
        await conn.end()
