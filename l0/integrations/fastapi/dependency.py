"""``Depends(l0_stream)``: the per-request :class:`L0Stream` callable, its factory and the
resume router."""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.encoders import ENCODERS_BY_TYPE
from fastapi.responses import Response
from fastapi.sse import EventSourceResponse

from l0.core import stream as l0_stream_run
from l0.integrations.fastapi.formats import make_encoder
from l0.integrations.fastapi.response import L0StreamResponse, _Producer, error_response
from l0.integrations.fastapi.resume import L0ResumeResponse
from l0.integrations.fastapi.settings import FORMATS, Format, L0Settings, Resume
from l0.integrations.fastapi.wire import NoticeRelay
from l0.runtime.events import EventHandler

__all__ = ["L0Stream", "l0_resume_router", "l0_stream", "l0_stream_dependency"]

_STREAM_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
_EVENT_ID = re.compile(r"[0-9]{1,18}")
MAX_EVENT_ID_DIGITS = 18
"""The longest ``Last-Event-ID`` accepted (ASCII digits only): larger ids are a 400."""
_DEFAULT_SETTINGS = L0Settings()
_DEFAULT_RESUME: Resume | None = None


def _default_resume() -> Resume:
    """The process-wide in-memory resume config used when a route asks for resume but the
    settings have none."""
    global _DEFAULT_RESUME
    if _DEFAULT_RESUME is None:
        _DEFAULT_RESUME = Resume()
    return _DEFAULT_RESUME


def _accept_format(accept: str) -> str | None:
    """``format`` parameter of a ``text/event-stream`` entry in an ``Accept`` header."""
    for entry in accept.split(","):
        media, *params = (p.strip() for p in entry.split(";"))
        if media.lower() != "text/event-stream":
            continue
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "format":
                return value.strip().strip('"')
    return None


class _BadRequestError(Exception):
    """A request input l0 cannot use: answered with a 400 JSON error body."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def response(self) -> Response:
        return error_response(400, self.code, self.message)


def _check_stream_id(stream_id: str) -> None:
    if not _STREAM_ID.match(stream_id):
        raise _BadRequestError(
            "invalid_stream_id", "stream_id must be 1-128 characters of [A-Za-z0-9_.:-]"
        )


def parse_event_id(raw: str) -> int:
    """A ``Last-Event-ID`` (or ``?last_event_id=``) value as an int.

    Only 1 to 18 ASCII digits are accepted: no sign, no spaces, no other scripts' digits.

    Raises:
        ValueError: For anything else (the caller answers 400).
    """
    if not _EVENT_ID.fullmatch(raw):
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise ValueError(
            f"Last-Event-ID must be 1-{MAX_EVENT_ID_DIGITS} ASCII digits (an id this server "
            f"sent), got {shown!r}"
        )
    return int(raw)


def _check_route(request: Request) -> None:
    """Fail loudly on a route FastAPI would run as its own SSE generator endpoint."""
    route = request.scope.get("route")
    response_class = getattr(route, "response_class", None)
    if not (isinstance(response_class, type) and issubclass(response_class, EventSourceResponse)):
        return
    endpoint = getattr(route, "endpoint", None)
    if inspect.isasyncgenfunction(endpoint) or inspect.isgeneratorfunction(endpoint):
        return
    name = getattr(endpoint, "__name__", "the endpoint")
    raise TypeError(
        f"route {getattr(route, 'path', '?')!r}: response_class={response_class.__name__} makes "
        f"FastAPI treat {name}() as a generator of events: it never awaits it and sends an "
        "empty stream. Remove response_class from the route decorator: l0s(...) already "
        "returns an EventSourceResponse."
    )


class L0Stream:
    """Turns an l0 source into a streaming response; what ``Depends(l0_stream)`` gives a route.

    Example::

        @app.post("/chat")
        async def chat(body: ChatIn, l0s: L0Stream = Depends(l0_stream)):
            return l0s(lambda attempt: client.chat.completions.create(..., stream=True))
    """

    def __init__(self, request: Request, settings: L0Settings) -> None:
        _check_route(request)
        self.request = request
        self.settings = settings

    def __call__(
        self,
        source: Any,
        /,
        *,
        format: Format | None = None,
        resume: bool | None = None,
        stream_id: str | None = None,
        model: str | None = None,
        on_event: EventHandler | None = None,
        **options: Any,
    ) -> Response:
        """Stream ``source`` through l0 as SSE.

        Args:
            source: An l0 source (see :func:`l0.stream`).
            format: Pin the wire format (``"l0"``, ``"openai"``, ``"vercel"``); ``None``
                lets the request choose (``?format=`` or ``Accept: text/event-stream;
                format=…``) among ``settings.formats``, else ``settings.format``.
            resume: Make this stream resumable (default: whether the settings have
                :class:`Resume`).
            stream_id: The stream's id (default: the request's ``?stream_id=``, else a new
                random id). Sent back in the ``X-L0-Stream-Id`` header.
            model: Model name for OpenAI-format chunks (default ``settings.model``).
            on_event: Your own ``on_event`` handler; it still sees every lifecycle event.
            **options: :func:`l0.stream` options, overriding the settings (``fallbacks``,
                ``retry``, ``timeout``, ``continuation``, ``guardrails``, …).

        Returns:
            The streaming response; or, when the request is a reconnect (a
            ``Last-Event-ID`` and a known ``stream_id``, resume on), the resumed stream.

            A bad ``?format=``, ``stream_id`` or ``Last-Event-ID`` gives a 400 response
            with a JSON body ``{"error": {"code", "message"}}``.

        Raises:
            TypeError, ValueError: For invalid l0 options (a bug in the route).
        """
        try:
            return self._start(source, format, resume, stream_id, model, on_event, options)
        except _BadRequestError as bad:
            return bad.response()

    def _start(
        self,
        source: Any,
        format: Format | None,
        resume: bool | None,
        stream_id: str | None,
        model: str | None,
        on_event: EventHandler | None,
        options: dict[str, Any],
    ) -> Response:
        settings = self.settings
        fmt = self._format(format)
        cfg = self._resume_config(resume)
        client_id = (
            stream_id if stream_id is not None else self.request.query_params.get("stream_id")
        )
        if client_id is not None:
            _check_stream_id(client_id)
        if cfg is not None and client_id is not None:
            last = self._last_event_id()
            if last is not None:
                return self._resume_response(cfg, client_id, last, fmt)
        sid = client_id or uuid.uuid4().hex
        relay = NoticeRelay(on_event)
        merged = {**settings.l0_options(), **options}
        run = l0_stream_run(source, on_event=relay, stream_id=sid, **merged)
        encoder = make_encoder(fmt, stream_id=sid, model=model or settings.model)
        producer = _Producer(run, relay, encoder, sid, cfg.store if cfg else None)
        return L0StreamResponse(
            producer,
            headers={"X-L0-Stream-Id": sid, **encoder.headers},
            keepalive=settings.keepalive,
            reconnect_ms=round(settings.reconnect * 1000),
            resume=cfg,
            openai_request=self.request if fmt == "openai" else None,
        )

    def resume(
        self, stream_id: str, last_event_id: int | None = None, *, format: Format | None = None
    ) -> Response:
        """Reconnect to a stored stream: replay after ``last_event_id`` and follow it live.

        Args:
            stream_id: The stream (its ``X-L0-Stream-Id``).
            last_event_id: The last id the client has; default the ``Last-Event-ID`` header or
                ``?last_event_id=``, else 0 (replay everything kept).
            format: The stream's format, for format-specific headers and in-band errors.

        Returns:
            The resumed stream, or a 400 JSON error for a bad ``stream_id`` or
            ``Last-Event-ID`` (see :class:`L0ResumeResponse` for the other statuses).
        """
        if last_event_id is not None and (
            isinstance(last_event_id, bool)
            or not isinstance(last_event_id, int)
            or last_event_id < 0
        ):
            raise ValueError(f"last_event_id must be an int >= 0, got {last_event_id!r}")
        try:
            _check_stream_id(stream_id)
            cfg = self.settings.resume or _default_resume()
            last = last_event_id if last_event_id is not None else self._last_event_id()
        except _BadRequestError as bad:
            return bad.response()
        return self._resume_response(cfg, stream_id, last or 0, format or self.settings.format)

    def _resume_response(self, cfg: Resume, stream_id: str, last: int, fmt: Format) -> Response:
        headers = {"X-L0-Stream-Id": stream_id}
        if fmt == "vercel":
            headers["x-vercel-ai-ui-message-stream"] = "v1"
        return L0ResumeResponse(
            cfg.store,
            stream_id,
            last,
            headers=headers,
            keepalive=self.settings.keepalive,
            reconnect_ms=round(self.settings.reconnect * 1000),
            grace=cfg.grace,
            format=fmt,
        )

    def _format(self, pinned: Format | None) -> Format:
        if pinned is not None:
            if pinned not in FORMATS:
                raise ValueError(f"format must be one of {FORMATS}, got {pinned!r}")
            return pinned
        request = self.request
        asked = request.query_params.get("format") or _accept_format(
            request.headers.get("accept", "")
        )
        if asked is None:
            return self.settings.format
        for fmt in self.settings.formats:
            if fmt == asked:
                return fmt
        allowed = ", ".join(self.settings.formats)
        raise _BadRequestError(
            "unsupported_format", f"unsupported format {asked!r}; this route serves {allowed}"
        )

    def _resume_config(self, resume: bool | None) -> Resume | None:
        if resume is None:
            return self.settings.resume
        if resume:
            return self.settings.resume or _default_resume()
        return None

    def _last_event_id(self) -> int | None:
        raw = self.request.headers.get("last-event-id") or self.request.query_params.get(
            "last_event_id"
        )
        if raw is None or raw == "":
            return None
        try:
            return parse_event_id(raw)
        except ValueError as exc:
            raise _BadRequestError("invalid_last_event_id", str(exc)) from None


def _not_a_response(value: L0Stream) -> Any:
    raise TypeError(
        "the route returned the l0s dependency itself: call it, "
        "return l0s(source, ...) (an L0Stream is not a response)"
    )


# FastAPI would JSON-encode a returned L0Stream by walking its attributes (the request, the
# app, ...) into a RecursionError; say what went wrong instead.
ENCODERS_BY_TYPE[L0Stream] = _not_a_response


def l0_stream_dependency(
    settings: L0Settings | None = None,
) -> Callable[[Request], Awaitable[L0Stream]]:
    """A dependency giving routes an :class:`L0Stream` with these app-wide ``settings``.

    Use it directly (``Depends(l0_stream_dependency(settings))``) or install it for every
    ``Depends(l0_stream)``: ``app.dependency_overrides[l0_stream] = l0_stream_dependency(s)``.
    """
    resolved = settings if settings is not None else L0Settings()
    if not isinstance(resolved, L0Settings):
        raise TypeError(f"settings must be an L0Settings, got {type(resolved).__name__}")

    async def dependency(request: Request) -> L0Stream:  # async: no worker-thread hop
        return L0Stream(request, resolved)

    return dependency


async def l0_stream(request: Request) -> L0Stream:
    """The default dependency: an :class:`L0Stream` with default :class:`L0Settings`.

    Override app-wide defaults with
    ``app.dependency_overrides[l0_stream] = l0_stream_dependency(settings)``.

    A coroutine function, so FastAPI calls it on the event loop (FastAPI runs a plain ``def``
    dependency in a worker thread: a thread hop per request).
    """
    return L0Stream(request, _DEFAULT_SETTINGS)


def l0_resume_router(
    settings: L0Settings | None = None,
    *,
    path: str = "/l0/streams/{stream_id}",
    tags: Sequence[str] = ("l0",),
) -> APIRouter:
    """A router with ``GET {path}``: reconnect to a resumable stream by id.

    The last id comes from the ``Last-Event-ID`` header (browsers' ``EventSource``) or
    ``?last_event_id=`` (``fetch`` clients); without either, everything kept is replayed.
    Responses: the stream (200), 204 when nothing is left, 404 unknown or expired stream,
    410 events already dropped. Use the same settings (the same store) as the streaming routes.
    """
    resolved = settings if settings is not None else _DEFAULT_SETTINGS
    router = APIRouter(tags=list(tags))

    @router.get(path, response_class=Response)
    async def resume_stream(stream_id: str, request: Request) -> Response:
        return L0Stream(request, resolved).resume(stream_id)

    return router
