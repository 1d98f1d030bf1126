"""A minimal HTTP/1.1 layer over asyncio streams, with the faults a framework cannot do.

Reads requests (``Content-Length`` or chunked bodies, keep-alive), writes responses with a
fixed length or chunked, and can misbehave on the wire: cut the connection with a reset
(``SO_LINGER`` 0) or an early FIN after exactly ``n`` body bytes, and notice a client that
left while nothing is being written.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import anyio

__all__ = ["ClientGoneError", "HttpError", "Request", "ResponseWriter", "read_request"]

MAX_HEAD = 64 * 1024
MAX_BODY = 32 * 1024 * 1024

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Payload Too Large",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    529: "Overloaded",
}


class HttpError(Exception):
    """A request the server cannot read; answered with ``status`` and the connection closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ClientGoneError(Exception):
    """The client closed or reset the connection (or the server cut it on purpose)."""


@dataclass(slots=True)
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    keep_alive: bool = True
    query: str = field(default="")


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """Read one request; ``None`` when the client closed the connection between requests.

    Raises:
        HttpError: For a request that is not valid HTTP/1.1 (or too large).
    """
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise HttpError(400, "incomplete request head") from None
    except asyncio.LimitOverrunError:
        raise HttpError(431, "request head too large") from None
    except (ConnectionError, OSError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ")
    except ValueError:
        raise HttpError(400, f"bad request line {lines[0]!r}") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise HttpError(400, f"bad header line {line!r}")
        headers[name.strip().lower()] = value.strip()
    path, _, query = target.partition("?")
    connection = headers.get("connection", "").lower()
    keep_alive = version == "HTTP/1.1" and connection != "close"
    body = await _read_body(reader, headers)
    return Request(method.upper(), path, headers, body, keep_alive, query)


async def _read_body(reader: asyncio.StreamReader, headers: Mapping[str, str]) -> bytes:
    try:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return await _read_chunked(reader)
        length = int(headers.get("content-length", "0"))
        if not 0 <= length <= MAX_BODY:
            raise HttpError(413, "request body too large")
        return await reader.readexactly(length) if length else b""
    except ValueError:
        raise HttpError(400, "bad Content-Length or chunk size") from None
    except (asyncio.IncompleteReadError, ConnectionError):
        raise ClientGoneError() from None


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # trailers
            return b"".join(parts)
        total += size
        if total > MAX_BODY:
            raise HttpError(413, "request body too large")
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


class ResponseWriter:
    """Writes one response; counts body bytes so a fault can act at an exact offset.

    Args:
        reader: The connection's reader (to notice a client that leaves during a stall).
        writer: The connection's writer.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # With no write buffer allowance, drain() returns only once every byte reached the
        # kernel: a cut then loses nothing that was "sent", and slow sends are really slow.
        writer.transport.set_write_buffer_limits(high=0)
        self.reader = reader
        self.writer = writer
        self.chunked = False
        self.body_bytes = 0
        self.closed = False
        self._trigger_at: int | None = None
        self._on_trigger: Callable[[], Awaitable[None]] | None = None

    def at_bytes(self, offset: int, action: Callable[[], Awaitable[None]]) -> None:
        """Run ``action`` once exactly ``offset`` body bytes have been written."""
        self._trigger_at = offset
        self._on_trigger = action

    async def head(self, status: int, headers: Mapping[str, str], *, chunked: bool) -> None:
        """Send the status line and headers (``chunked``: a streamed body follows)."""
        self.chunked = chunked
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if chunked:
            lines.append("transfer-encoding: chunked")
        await self._write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if self._trigger_at == 0:
            await self._fire()

    async def send(self, data: bytes) -> None:
        """Write body bytes (one chunk when chunked), firing the byte trigger on the way."""
        trigger = self._trigger_at
        if trigger is not None and self.body_bytes + len(data) >= trigger:
            cut = trigger - self.body_bytes
            if cut:
                await self.raw(data[:cut])
            await self._fire()
            data = data[cut:]
        if data:
            await self.raw(data)

    async def raw(self, data: bytes) -> None:
        """Write body bytes without checking the trigger (keepalives)."""
        self.body_bytes += len(data)
        await self._write(b"%x\r\n%b\r\n" % (len(data), data) if self.chunked else data)

    async def end(self) -> None:
        """Finish a chunked body cleanly."""
        if self.chunked:
            await self._write(b"0\r\n\r\n")

    async def _fire(self) -> None:
        action = self._on_trigger
        self._trigger_at = self._on_trigger = None
        if action is not None:
            await action()

    async def _write(self, data: bytes) -> None:
        if self.closed or self.writer.is_closing():
            raise ClientGoneError()
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, OSError):
            raise ClientGoneError() from None

    async def cut(self, how: str) -> None:
        """Close the connection now, mid-response: ``rst`` (reset) or ``fin`` (early EOF).

        Bytes already written are flushed to the kernel first, so the client receives
        exactly what was sent before the cut.
        """
        self.closed = True
        transport = self.writer.transport
        if how == "rst":
            sock = self.writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            self.writer.close()
        raise ClientGoneError()

    async def wait_gone(self, seconds: float | None) -> bool:
        """Wait up to ``seconds`` (``None``: forever) for the client to leave.

        Returns:
            True when the client closed the connection, False when the time ran out.
        """
        with anyio.move_on_after(seconds if seconds is not None else float("inf")):
            while True:
                try:
                    data = await self.reader.read(65536)
                except (ConnectionError, OSError):
                    return True
                if not data:
                    return True
        return False
