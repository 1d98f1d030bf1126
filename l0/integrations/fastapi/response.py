"""The streaming response of a fresh l0 run: :class:`L0StreamResponse`.

It subclasses FastAPI's :class:`fastapi.sse.EventSourceResponse` (``text/event-stream``) and
drives the ASGI exchange itself, because it decides the status only once the run has produced
its first event, and it watches for the client leaving on every ASGI version.

A run works in two tasks: the *producer* iterates :func:`l0.stream`, encodes each event,
appends it to the resume store (when resume is on) and hands it to the *connection*, which
writes it to the client. When the client leaves, the producer is cancelled at once (closing
the provider stream), or, with resume on, keeps filling the store while the grace period
lasts or a reader holds the stream (see :class:`~l0.integrations.fastapi.Resume`).

An OpenAI-format route asked without ``"stream": true`` (the OpenAI API's default) answers
one ``chat.completion`` JSON object instead, as the OpenAI API does.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import orjson
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from fastapi.responses import JSONResponse
from fastapi.sse import KEEPALIVE_COMMENT, EventSourceResponse, format_sse_event
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from l0.errors import OutputRetractedError
from l0.integrations.fastapi.formats import Encoder, OpenAIEncoder
from l0.integrations.fastapi.settings import Resume
from l0.integrations.fastapi.store import ResumeStore, StoredFrame, StreamExistsError
from l0.integrations.fastapi.wire import (
    CONTENT_KINDS,
    NoticeRelay,
    http_status,
    retry_after,
    safe_error,
    to_wire,
)
from l0.runtime.stream import Stream
from l0.types import EventType, Result

__all__ = ["L0StreamResponse", "error_response", "store_unavailable"]

logger = logging.getLogger("l0.fastapi")

_TOKEN = EventType.TOKEN

_ABANDONED = {
    "type": "AbortedError",
    "message": "the stream was abandoned: its client left and the resume grace period passed",
    "code": "STREAM_ABORTED",
    "category": "fatal",
    "retryable": False,
}

STORE_RETRY_AFTER = 1.0
"""The ``Retry-After`` (seconds) of a 503 caused by a failing resume store."""


@dataclass(slots=True)
class Frame:
    """One encoded event on its way to the client."""

    id: int
    data: bytes
    kind: str
    final: bool
    error: BaseException | None = None


_PING = Frame(0, KEEPALIVE_COMMENT, "ping", False)
"""A keepalive comment queued behind the frames (never stored, no id)."""


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    """A JSON error body ``{"error": {"code", "message", …}}``."""
    headers = {}
    after = extra.get("retry_after")
    if after is not None:
        headers["Retry-After"] = str(max(0, math.ceil(after)))
    return JSONResponse(
        {"error": {"code": code, "message": message, **extra}}, status_code=status, headers=headers
    )


def store_unavailable(exc: BaseException, stream_id: str) -> JSONResponse:
    """The 503 (with ``Retry-After``) for a resume store failing before a response started."""
    logger.error("l0: resume store failed; stream %s", stream_id, exc_info=exc)
    return error_response(
        503,
        "resume_store_unavailable",
        "the resume store is unavailable; retry shortly",
        retry_after=STORE_RETRY_AFTER,
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
        self.written = anyio.current_time()
        """When the last write was made (the event loop's clock)."""

    async def start(self, first: bytes) -> None:
        await self.send({"type": "http.response.start", "status": 200, "headers": self.headers})
        await self.body(self.hint + first)

    async def body(self, data: bytes) -> None:
        self.written = anyio.current_time()
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
        self.scope = anyio.CancelScope()
        self.finished = anyio.Event()
        relay.publish = self.publish

    async def publish(
        self, kind: str, data: dict[str, Any], error: BaseException | None = None
    ) -> None:
        """Encode, store (resume on), then hand to the local connection if still there."""
        self.last_id = n = self.last_id + 1
        final = kind == "done" or kind == "error"
        await self._deliver(Frame(n, self.encoder.encode(kind, data, n), kind, final, error))

    async def _deliver(self, frame: Frame) -> None:
        if self.store is not None:
            try:
                await self.store.append(
                    self.stream_id, (StoredFrame(frame.id, frame.data, frame.final),)
                )
            except Exception:
                # A failing store must not break the live answer: keep streaming, unresumable.
                logger.exception("l0: resume store append failed; stream %s", self.stream_id)
                self.store = None
        self._hand(frame)

    def _hand(self, frame: Frame) -> None:
        local = self.local
        if local is not None:
            try:
                local.send_nowait(frame)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self.local = None
        if self.local is None and self.store is None:
            self.scope.cancel()  # nobody can ever read what this run would produce

    async def run(self) -> None:
        """Iterate the l0 stream to its end; a failure becomes a terminal ``error`` event."""
        scope = self.scope
        try:
            with scope:
                try:
                    token = self.encoder.token
                    async with self.stream as s:
                        async for event in s:
                            if event.type is _TOKEN:  # the hot path: no wire dict
                                self.last_id = n = self.last_id + 1
                                frame = Frame(n, token(event.text, n), "token", False)
                                if self.store is None:
                                    self._hand(frame)
                                else:
                                    await self._deliver(frame)
                                continue
                            wire = to_wire(event)
                            if wire is not None:
                                if wire[0] == "reset" and not self.encoder.resets:
                                    # The client cannot take the sent text back: end here.
                                    errors = s.errors
                                    raise OutputRetractedError(
                                        errors[-1] if errors else None, wire[1]["discard"]
                                    )
                                await self.publish(*wire)
                except Exception as exc:
                    await self.publish("error", safe_error(exc), exc)
            if scope.cancelled_caught and self.store is not None:
                with anyio.CancelScope(shield=True):
                    await self.publish("error", dict(_ABANDONED))
        finally:
            self.finished.set()
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


async def _asks_for_stream(request: Request) -> bool:
    """Whether an OpenAI-style request wants SSE: a JSON object body with ``"stream": true``.

    Like the OpenAI API, a JSON object body without it asks for one ``chat.completion``; a
    request without a JSON object body (a ``GET``) streams.
    """
    body = await request.body()  # cached by FastAPI when the route reads the body
    if not body:
        return True
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return True
    return not isinstance(data, dict) or data.get("stream") is True


class L0StreamResponse(_SSEResponse):
    """The response ``l0s(source, …)`` returns: runs the stream when the server sends it.

    Until the run yields its first content event (a token, a tool call or the end) nothing is
    sent; if the run fails before that, the client gets a plain HTTP error (429 with
    ``Retry-After``, 400, 502, 503) with a JSON body instead of a stream. A resume store
    failing before then is a 503 with ``Retry-After``.
    """

    def __init__(
        self,
        producer: _Producer,
        *,
        headers: dict[str, str],
        keepalive: float,
        reconnect_ms: int,
        resume: Resume | None,
        openai_request: Request | None = None,
    ) -> None:
        # The retry: hint only where ids are written (a reconnect needs them to resume).
        ids = producer.encoder.ids
        hint = format_sse_event(comment="l0", retry=reconnect_ms) if ids else b""
        super().__init__(headers=headers, keepalive=keepalive, hint=hint)
        self.producer = producer
        self.resume = resume
        self.openai_request = openai_request
        self._frames_in: MemoryObjectSendStream[Frame] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Open the store entry, start the producer, serve the client."""
        if self.openai_request is not None and not await _asks_for_stream(self.openai_request):
            await self._complete(scope, receive, send)
            return
        resume = self.resume
        sid = self.producer.stream_id
        if resume is not None:
            try:
                await resume.store.open(sid)
            except StreamExistsError as exc:
                await error_response(409, "stream_exists", str(exc))(scope, receive, send)
                return
            except Exception as exc:
                await store_unavailable(exc, sid)(scope, receive, send)
                return
        send_frames, frames = anyio.create_memory_object_stream[Frame](math.inf)
        self.producer.local = self._frames_in = send_frames
        with frames:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.producer.run)
                async with anyio.create_task_group() as conn:

                    def gone() -> None:
                        conn.cancel_scope.cancel()
                        producer = self.producer
                        producer.local = None  # nobody reads the live frames any more
                        send_frames.close()
                        if resume is None or producer.store is None:
                            producer.scope.cancel()
                        else:
                            tg.start_soon(self._grace, resume)

                    conn.start_soon(_watch, receive, gone)
                    await self._serve(frames, scope, receive, send)
                    conn.cancel_scope.cancel()

    async def _grace(self, resume: Resume) -> None:
        """The client left: keep the run while the grace period lasts or a reader holds it.

        The grace period runs from this disconnect; a reader that reconnects holds the stream
        (a lease in the store, refreshed while it reads, lasting ``grace`` past its own
        disconnect), so the run stops only ``grace`` seconds after the *last* client left.
        """
        producer = self.producer
        end = anyio.current_time() + resume.grace
        while not producer.finished.is_set():
            left = end - anyio.current_time()
            if producer.store is not None:
                try:
                    left = max(left, await resume.store.held(producer.stream_id))
                except Exception:
                    logger.warning("l0: resume store hold check failed", exc_info=True)
            if left <= 0 or producer.store is None:
                producer.scope.cancel()
                return
            with anyio.move_on_after(left):
                await producer.finished.wait()

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
        if self.resume is not None and self.producer.store is not None:
            try:
                await self.resume.store.expire(self.producer.stream_id)
            except Exception:
                logger.warning("l0: resume store expire failed", exc_info=True)
        if exc is None:  # the producer stopped without a word: it was cancelled
            return
        info = safe_error(exc)
        code = str(info.pop("code"))
        message = str(info.pop("message"))
        info["retry_after"] = retry_after(exc)
        await error_response(http_status(exc), code, message, **info)(scope, receive, send)

    async def _pump(self, frames: MemoryObjectReceiveStream[Frame], conn: _Connection) -> None:
        """Forward frames as they come, one write per backlog; a ping when idle (see
        :meth:`_keepalive`)."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._keepalive, conn)
            receive_nowait = frames.receive_nowait
            while True:
                try:
                    frame = receive_nowait()
                except anyio.WouldBlock:
                    try:
                        frame = await frames.receive()
                    except anyio.EndOfStream:
                        break
                except anyio.EndOfStream:
                    break
                final = frame.final
                if final or frame is _PING:
                    await conn.body(frame.data)
                    if final:
                        break
                    continue
                batch = [frame.data]
                while True:
                    try:
                        more = receive_nowait()
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                    batch.append(more.data)
                    if more.final:
                        final = True
                        break
                await conn.body(b"".join(batch))
                if final:
                    break
            tg.cancel_scope.cancel()

    async def _keepalive(self, conn: _Connection) -> None:
        """Queue a ping behind the frames after ``keepalive`` seconds without a write (one
        timer per idle period, not a timeout per frame)."""
        period = self.keepalive
        while True:
            await anyio.sleep_until(conn.written + period)
            if anyio.current_time() - conn.written >= period:
                conn.written = anyio.current_time()
                if self._frames_in is None:
                    return
                try:
                    self._frames_in.send_nowait(_PING)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    return

    async def _complete(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A non-streaming OpenAI request: run to the end, answer one ``chat.completion``."""
        producer = self.producer
        producer.store = None  # nothing to resume: the answer is one JSON body
        encoder = producer.encoder
        assert isinstance(encoder, OpenAIEncoder)
        result: Result | None = None
        failure: BaseException | None = None
        left = False
        async with anyio.create_task_group() as tg:

            def gone() -> None:
                nonlocal left
                left = True
                tg.cancel_scope.cancel()

            tg.start_soon(_watch, receive, gone)
            try:
                async with producer.stream as s:
                    async for event in s:
                        if event.type is EventType.COMPLETE and isinstance(event.data, Result):
                            result = event.data
            except Exception as exc:
                failure = exc
            tg.cancel_scope.cancel()
        if left:
            return
        if failure is not None or result is None:
            await self._fail_early(failure or RuntimeError("no result"), scope, receive, send)
            return
        body = encoder.completion(result)
        await JSONResponse(body)(scope, receive, send)
