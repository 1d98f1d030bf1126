"""Incremental Server-Sent Events framing over raw response bytes.

:class:`SSEFramer` takes the body as it arrives, split anywhere (inside a line, between
``\\r`` and ``\\n``, inside a UTF-8 sequence), and returns each dispatched event as
``(event, data)``: the ``event:`` field (``None`` when absent) and the ``data:`` lines joined
by ``\\n``, still as bytes (the JSON parser reads bytes directly). It follows the WHATWG
event-stream rules the provider SDKs' own decoders follow: lines end at CR, LF or CRLF; one
space after the colon is dropped; comments are skipped; an event is dispatched at a blank line
when it has an event name, data, a retry or (ever since one was set) an id; a last event with
no blank line after it is never dispatched.
"""

from __future__ import annotations

__all__ = ["SSEEvent", "SSEFramer", "one_event"]

SSEEvent = tuple[str | None, bytes]
"""One dispatched event: ``(event name or None, data)``."""


def one_event(chunk: bytes) -> tuple[SSEEvent] | None:
    """``chunk`` as its one event when it is exactly ``[event: NAME LF] data: DATA LF LF`` (the
    common read), else None (the framer decides). Only valid while :attr:`SSEFramer.idle`."""
    if chunk[-2:] != b"\n\n" or b"\r" in chunk:
        return None
    end = len(chunk) - 2
    if chunk[:6] == b"data: ":
        return ((None, chunk[6:end]),) if chunk.find(b"\n") == end else None
    if chunk[:7] == b"event: ":
        nl = chunk.find(b"\n")
        if nl > 7 and chunk[nl + 1 : nl + 7] == b"data: " and chunk.find(b"\n", nl + 1) == end:
            return ((chunk[7:nl].decode("utf-8"), chunk[nl + 7 : end]),)
    return None


class SSEFramer:
    """Splits an SSE byte stream into events (see the module docstring)."""

    __slots__ = ("_buf", "_cr", "_data", "_event", "_id", "_retry", "idle")

    def __init__(self) -> None:
        self.idle = True
        """Nothing pending: a read that is exactly one whole ``data: …`` line and a blank
        line is that one event (the reader's short path)."""
        self._buf = b""
        self._cr = False  # the last chunk ended with \r: a \n starting the next one is its LF
        self._event: str | None = None
        self._data: list[bytes] = []
        self._id = False
        self._retry = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events completed by ``chunk`` (possibly none)."""
        out = self._feed(chunk)
        self.idle = (
            not self._buf
            and not self._cr
            and not self._data
            and self._event is None
            and not self._retry
        )
        return out

    def _feed(self, chunk: bytes) -> list[SSEEvent]:
        if self._cr:
            self._cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if b"\r" in chunk:
            if chunk[-1:] == b"\r":
                self._cr = True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if self._buf:
            chunk = self._buf + chunk
        lines = chunk.split(b"\n")
        self._buf = lines.pop()
        out: list[SSEEvent] = []
        data = self._data
        for line in lines:
            if not line:
                if data or self._event is not None or self._id or self._retry:
                    out.append((self._event, data[0] if len(data) == 1 else b"\n".join(data)))
                    data = self._data = []
                    self._event = None
                    self._retry = False
            elif line[:5] == b"data:":
                value = line[5:]
                data.append(value[1:] if value[:1] == b" " else value)
            else:
                self._field(line.decode("utf-8"))
        return out

    def _field(self, line: str) -> None:
        """A line other than ``data:`` (decoded strictly, as the SDKs do)."""
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value or None
        elif name == "data":  # a bare ``data`` line: an empty data line
            self._data.append(value.encode())
        elif name == "id":
            if "\0" not in value:
                self._id = bool(value)
        elif name == "retry":
            try:
                int(value)
            except ValueError:
                return
            self._retry = True
