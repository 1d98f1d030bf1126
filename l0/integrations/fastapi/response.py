"""The streaming responses: a fresh l0 run (:class:`L0StreamResponse`) and a reconnect to a
stored one (:class:`L0ResumeResponse`).

Both subclass FastAPI's :class:`fastapi.sse.EventSourceResponse` (``text/event-stream``) and
drive the ASGI exchange themselves, because they decide the status only once the run has
produced its first event, and they watch for the client leaving on every ASGI version.

A fresh run works in two tasks: the *producer* iterates :func:`l0.stream`, encodes each
event, appends it to the resume store (when resume is on) and hands it to the *connection*,
which writes it to the client. When the client leaves, the producer is cancelled at once
(closing the provider stream), or, with resume on, keeps filling the store for
``Resume.grace`` more seconds.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from fastapi.responses import JSONResponse, Response
from fastapi.sse import KEEPALIVE_COMMENT, EventSourceResponse, format_sse_event
from starlette.types import Receive, Scope, Send

from l0.integrations.fastapi.formats import Encoder
from l0.integrations.fastapi.settings import Resume
from l0.integrations.fastapi.store import (
    EventsExpiredError,
    ResumeStore,
    StoredFrame,
    StreamExistsError,
    StreamNotFoundError,
)
from l0.integrations.fastapi.wire import (
    CONTENT_KINDS,
    NoticeRelay,
    http_status,
    retry_after,
    safe_error,
    to_wire,
)
from l0.runtime.stream import Stream

__all__ = ["L0ResumeResponse", "L0StreamResponse", "error_response"]

logger = logging.getLogger("l0.fastapi")

_ABANDONED = {
    "type": "AbortedError",
    "message": "the stream was abandoned: its client left and the resume grace period passed",
    "code": "STREAM_ABORTED",
    "category": "fatal",
    "retryable": False,
}


@dataclass(slots=True)
class Frame:
    """One encoded event on its way to the client."""

    id: int
    data: bytes
    kind: str
    final: bool
    error: BaseException | None = None


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    """A JSON error body ``{"error": {"code", "message", …}}``."""
    headers = {}
    after = extra.get("retry_after")
    if after is not None:
        headers["Retry-After"] = str(max(0, math.ceil(after)))
    return JSONResponse(
        {"error": {"code": code, "message": message, **extra}}, status_code=status, headers=headers
    )


async def _watch(receive: Receive, on_gone: Callable[[], None]) -> None:
    """Call ``on_gone`` when the client disconnects."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            on_gone()
            return


class _Connection:
    """Writes frames to one client: status line, ``retry:`` hint, frames, keepalives."""

    def __init__(self, send: Send, headers: list[tuple[bytes, bytes]], hint: bytes) -> None:
        self.send = send
        self.headers = headers
        self.hint = hint

    async def start(self, first: bytes) -> None:
        await self.send({"type": "http.response.start", "status": 200, "headers": self.headers})
        await self.body(self.hint + first)

    async def body(self, data: bytes) -> None:
        await self.send({"type": "http.response.body", "body": data, "more_body": True})

    async def end(self) -> None:
        await self.send({"type": "http.response.body", "body": b"", "more_body": False})


class _Producer:
    """Runs the l0 stream and publishes every wire event, in order, with increasing ids."""

    def __init__(
        self,
        stream: Stream,
        relay: NoticeRelay,
        encoder: Encoder,
        stream_id: str,
        store: ResumeStore | None,
    ) -> None:
        self.stream = stream
        self.encoder = encoder
        self.stream_id = stream_id
        self.store = store
        self.last_id = 0
        self.local: MemoryObjectSendStream[Frame] | None = None
        relay.publish = self.publish

    async def publish(
        self, kind: str, data: dict[str, Any], error: BaseException | None = None
    ) -> None:
        """Encode, store (resume on), then hand to the local connection if still there."""
        self.last_id = n = self.last_id + 1
        final = kind == "done" or kind == "error"
        frame = Frame(n, self.encoder.encode(kind, data, n), kind, final, error)
        if self.store is not None:
            try:
                await self.store.append(self.stream_id, (StoredFrame(n, frame.data, final),))
            except Exception:
                # A failing store must not break the live answer: keep streaming, unresumable.
                logger.exception("l0: resume store append failed; stream %s", self.stream_id)
                self.store = None
        local = self.local
        if local is not None:
            try:
                local.send_nowait(frame)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self.local = None

    async def run(self, scope: anyio.CancelScope) -> None:
        """Iterate the l0 stream to its end; a failure becomes a terminal ``error`` event."""
        try:
            with scope:
                try:
                    async with self.stream as s:
                        async for event in s:
                            wire = to_wire(event)
                            if wire is not None:
                                await self.publish(*wire)
                except Exception as exc:
                    await self.publish("error", safe_error(exc), exc)
            if scope.cancelled_caught and self.store is not None:
                with anyio.CancelScope(shield=True):
                    await self.publish("error", dict(_ABANDONED))
        finally:
            if self.local is not None:
                self.local.close()


class _SSEResponse(EventSourceResponse):
    """FastAPI's SSE response class, with the ASGI exchange driven by ``__call__``."""

    def __init__(self, *, headers: dict[str, str], keepalive: float, hint: bytes) -> None:
        super().__init__((), headers=headers)  # the body is written by __call__
        self.headers["Cache-Control"] = "no-cache"
        self.headers["X-Accel-Buffering"] = "no"
        self.keepalive = keepalive
        self.hint = hint


class L0StreamResponse(_SSEResponse):
    """The response ``l0s(source, …)`` returns: runs the stream when the server sends it.

    Until the run yields its first content event (a token, a tool call or the end) nothing is
    sent; if the run fails before that, the client gets a plain HTTP error (429 with
    ``Retry-After``, 400, 502, 503) with a JSON body instead of a stream.
    """

    def __init__(
        self,
        producer: _Producer,
        *,
        headers: dict[str, str],
        keepalive: float,
        reconnect_ms: int,
        resume: Resume | None,
    ) -> None:
        # The retry: hint only where ids are written (a reconnect needs them to resume).
        ids = producer.encoder.ids
        hint = format_sse_event(comment="l0", retry=reconnect_ms) if ids else b""
        super().__init__(headers=headers, keepalive=keepalive, hint=hint)
        self.producer = producer
        self.resume = resume

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Open the store entry, start the producer, serve the client."""
        resume = self.resume
        if resume is not None:
            try:
                await resume.store.open(self.producer.stream_id)
            except StreamExistsError as exc:
                await error_response(409, "stream_exists", str(exc))(scope, receive, send)
                return
        send_frames, frames = anyio.create_memory_object_stream[Frame](math.inf)
        self.producer.local = send_frames
        producer_scope = anyio.CancelScope()
        with frames:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.producer.run, producer_scope)
                async with anyio.create_task_group() as conn:

                    def gone() -> None:
                        conn.cancel_scope.cancel()
                        if resume is None:
                            producer_scope.cancel()
                        else:
                            deadline = anyio.current_time() + resume.grace
                            producer_scope.deadline = min(producer_scope.deadline, deadline)

                    conn.start_soon(_watch, receive, gone)
                    await self._serve(frames, scope, receive, send)
                    conn.cancel_scope.cancel()

    async def _serve(
        self, frames: MemoryObjectReceiveStream[Frame], scope: Scope, receive: Receive, send: Send
    ) -> None:
        pending: list[Frame] = []
        async for frame in frames:
            pending.append(frame)
            if frame.kind in CONTENT_KINDS or frame.final:
                break
        # Only a terminal error can come before the first content event: fail with a status.
        if not pending or pending[-1].error is not None:
            await self._fail_early(pending[-1].error if pending else None, scope, receive, send)
            return
        conn = _Connection(send, self.raw_headers, self.hint)
        await conn.start(b"".join(f.data for f in pending))
        if not pending[-1].final:
            await self._pump(frames, conn)
        await conn.end()

    async def _fail_early(
        self, exc: BaseException | None, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if self.resume is not None:
            await self.resume.store.expire(self.producer.stream_id)
        if exc is None:  # the producer stopped without a word: it was cancelled
            return
        info = safe_error(exc)
        code = str(info.pop("code"))
        message = str(info.pop("message"))
        info["retry_after"] = retry_after(exc)
        await error_response(http_status(exc), code, message, **info)(scope, receive, send)

    async def _pump(self, frames: MemoryObjectReceiveStream[Frame], conn: _Connection) -> None:
        """Forward frames as they come (coalescing a backlog), pinging when idle."""
        while True:
            with anyio.move_on_after(self.keepalive) as idle:
                try:
                    frame = await frames.receive()
                except anyio.EndOfStream:
                    return
            if idle.cancelled_caught:
                await conn.body(KEEPALIVE_COMMENT)
                continue
            batch = [frame.data]
            final = frame.final
            while not final:
                try:
                    more = frames.receive_nowait()
                except (anyio.WouldBlock, anyio.EndOfStream):
                    break
                batch.append(more.data)
                final = more.final
            await conn.body(b"".join(batch))
            if final:
                return


class L0ResumeResponse(_SSEResponse):
    """A reconnect: replays the stored frames after ``last_id``, then follows live.

    Statuses: 404 (JSON) for an unknown or expired stream, 410 (JSON) when the events right
    after ``last_id`` were already dropped from the bounded log, 204 when the client already
    has the final event (which also tells a browser ``EventSource`` to stop reconnecting).
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
    ) -> None:
        hint = format_sse_event(comment="l0 resume", retry=reconnect_ms)
        super().__init__(headers=headers, keepalive=keepalive, hint=hint)
        self.store = store
        self.stream_id = stream_id
        self.last_id = last_id

    async def _first(self) -> list[StoredFrame] | Response:
        """The frames to send first, or the error response."""
        last = self.last_id
        try:
            try:
                frames = await self.store.read_after(self.stream_id, max(0, last - 1))
            except EventsExpiredError:
                frames = await self.store.read_after(self.stream_id, last)
        except StreamNotFoundError as exc:
            return error_response(404, "stream_not_found", str(exc))
        except EventsExpiredError as exc:
            return error_response(410, "events_expired", str(exc))
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
            await self._follow(first, _Connection(send, self.raw_headers, self.hint))
            conn.cancel_scope.cancel()

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
            if frames:
                last = frames[-1]
                last_id = last.id
                await conn.body(b"".join(f.data for f in frames))
        await conn.end()
