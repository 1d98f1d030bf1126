"""The fast lane's request object and the stream that reads it.

A :class:`FastRequest` is what the helpers in :mod:`l0.fastlane` return: the user's SDK client
and the create arguments, nothing sent yet. The fast-lane adapter opens it as a
:class:`FastStream`, which sends the request on its first read (inside the attempt's
deadlines) through the SDK's raw streaming-response API — the SDK's auth, base URL, headers,
timeouts, retries, proxies and HTTP client, and the SDK's own exceptions for an HTTP error
before the body — then frames the body's bytes itself (:class:`~l0.fastlane.sse.SSEFramer`)
and parses each event with orjson, with no per-chunk pydantic model.

The chunks a :class:`FastStream` hands the attempt loop are plain ``str`` for plain text
deltas (the loop's own fast path) and the parsed JSON for everything else (read by
:meth:`FastStream.decode`).
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx2

from l0.adapters.base import AdapterStream
from l0.fastlane.sse import SSEFramer, one_event
from l0.fastlane.template import TextTemplate, load_json

__all__ = ["DONE", "SKIP", "FastRequest", "FastStream", "load_json"]

DONE = object()
"""Returned by :meth:`FastStream.handle` for the protocol's ``[DONE]``: reading stops."""
SKIP = object()
"""Returned by :meth:`FastStream.handle` for an event the SDK would not hand over."""

_DRAIN = 1.0
"""Seconds spent reading the rest of a body after ``[DONE]`` (keeps the connection reusable,
as the SDK does)."""


class FastRequest:
    """A streamed request the fast lane sends through the user's own SDK client.

    Build one with :func:`l0.fastlane.openai_chat`, :func:`l0.fastlane.openai_responses` or
    :func:`l0.fastlane.anthropic_messages`; return it from an l0 source like an SDK stream,
    or pass it as the source itself: unlike a ready SDK stream it is not read once, each
    attempt sends it again as it is (a factory is what can continue from a checkpoint).

    Attributes:
        client: The user's async SDK client.
        kwargs: The create arguments (``stream=True`` is added).
        protocol: ``openai.chat``, ``openai.responses`` or ``anthropic.messages``.
    """

    __slots__ = ("client", "kwargs", "protocol")

    l0_resendable = True
    """Passed as the source itself (not from a factory), it is sent again on each attempt."""

    def __init__(self, client: Any, kwargs: dict[str, Any], protocol: str) -> None:
        self.client = client
        self.kwargs = kwargs
        self.protocol = protocol

    def __repr__(self) -> str:
        model = self.kwargs.get("model")
        return f"FastRequest({self.protocol}, model={model!r})"


def _transport_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(timeout errors, other request errors) of the transports an SDK client may use."""
    timeouts: tuple[type[BaseException], ...] = (httpx2.TimeoutException,)
    requests: tuple[type[BaseException], ...] = (
        httpx2.RequestError,
        ssl.SSLError,
        anyio.EndOfStream,
    )
    legacy = sys.modules.get("httpx")
    if legacy is not None:
        timeouts += (legacy.TimeoutException,)
        requests += (legacy.RequestError,)
    return timeouts, requests


class FastStream(AdapterStream):
    """Reads one :class:`FastRequest` (see the module docstring); a protocol subclass
    implements :meth:`start`, :meth:`handle` and :meth:`decode`."""

    expects_end = True
    text_path: tuple[str | int, ...] = ()
    """Where a text delta's text sits in its parsed event (:class:`TextTemplate`)."""
    wraps_transport_errors = False
    """True for an SDK whose stream wraps a mid-body transport error in its own connection
    or timeout exception (openai); the anthropic SDK lets the raw error through."""

    def __init__(self, request: FastRequest, *, keep_raw: bool = False) -> None:
        self.request = request
        self.response: Any = None
        self.template = TextTemplate(self.text_path)
        super().__init__(self._read(), source=request, keep_raw=keep_raw)

    def start(self) -> Any:
        """The SDK's raw streaming-response context manager for the request."""
        raise NotImplementedError

    def handle(self, event: str | None, data: bytes) -> Any:
        """One SSE event -> a chunk for the loop (``str`` text, parsed JSON), or
        :data:`SKIP`/:data:`DONE`. Raises the SDK's exception for an in-band error. Not
        called for an event :attr:`template` recognises as a plain text delta; a handler
        that returns a plain text delta's text calls ``self.template.learn``."""
        raise NotImplementedError

    def transport_error(self, exc: BaseException, timeout: bool) -> BaseException:
        """The SDK's exception for a transport error met while reading the body."""
        return exc

    async def _read(self) -> AsyncIterator[Any]:
        async with self.start() as api_response:
            http = api_response.http_response
            self.response = http
            body = _body(http)
            framer = SSEFramer()
            feed = framer.feed
            handle = self.handle
            match = self.template.match
            timeouts, requests = _transport_errors()
            wrap = self.wraps_transport_errors
            try:
                while True:
                    try:
                        raw = await body.__anext__()
                    except StopAsyncIteration:
                        return
                    except timeouts as exc:
                        _attach(exc, http)
                        if not wrap:
                            raise
                        raise self.transport_error(exc, True) from exc
                    except requests as exc:
                        _attach(exc, http)
                        if not wrap:
                            raise
                        raise self.transport_error(exc, False) from exc
                    events: Any = (framer.idle and one_event(raw)) or feed(raw)
                    for event, data in events:
                        item = match(event, data)
                        if item is None:
                            item = handle(event, data)
                            if item is SKIP:
                                continue
                            if item is DONE:
                                await _drain(body, requests)
                                return
                        yield item
            finally:
                close = getattr(body, "aclose", None)
                if close is not None:
                    await close()


def _body(http: Any) -> AsyncIterator[bytes]:
    """The body's bytes from the lowest-level iterator that gives them as they will be read:
    the transport's own stream (one async generator, no decoder or re-chunking layer) when
    the body has no content encoding, else ``aiter_bytes`` (which undoes gzip and the like)."""
    encoding = http.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("identity", "") and not http.is_stream_consumed:
        http.is_stream_consumed = True  # as ``aiter_raw`` marks it: a second read refuses
        stream: AsyncIterator[bytes] = http.stream.__aiter__()
        return stream
    return http.aiter_bytes().__aiter__()  # type: ignore[no-any-return]


def _attach(exc: BaseException, http: Any) -> None:
    """The request on an HTTP client's transport error, as ``aiter_raw`` attaches it."""
    if getattr(exc, "_request", False) is None:
        exc._request = http.request  # type: ignore[attr-defined]


async def _drain(body: AsyncIterator[bytes], errors: tuple[type[BaseException], ...]) -> None:
    """Read what is left of the body (briefly), so an HTTP/1.1 connection can be reused."""
    with anyio.move_on_after(_DRAIN):
        try:
            async for _ in body:
                pass
        except errors:
            pass


Handler = Callable[[Any, Any], Any]
