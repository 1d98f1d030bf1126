"""One response under one fault: the record the server logs and the driver that plays it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import anyio
import orjson

from l0.chaos.answer import Continuation
from l0.chaos.http import ClientGoneError, ResponseWriter
from l0.chaos.plan import Fault
from l0.chaos.tools import ToolFragment
from l0.chaos.wire import Wire

__all__ = ["ChaosRequest", "credentials", "play", "redact"]

_REDACTED = frozenset({"authorization", "x-api-key", "api-key", "cookie"})


def redact(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` with credentials replaced (the log never holds a key)."""
    return {k: ("<redacted>" if k in _REDACTED else v) for k, v in headers.items()}


_CREDENTIAL = re.compile(r"auth|key|token|secret", re.IGNORECASE)
_SCHEME = re.compile(r"^(?:Bearer|Basic)\s+", re.IGNORECASE)


def credentials(headers: dict[str, str]) -> list[str]:
    """The credential values of ``headers`` (``Bearer`` stripped), for the ``echo_key`` fault."""
    return [_SCHEME.sub("", v) for k, v in headers.items() if _CREDENTIAL.search(k) and v.strip()]


@dataclass(slots=True)
class ChaosRequest:
    """One request the chaos server received, and what it did with it.

    Attributes:
        index: Position in the server's log (0-based, in order of arrival).
        method: The HTTP method.
        path: The request path.
        api: ``"openai.chat"``, ``"openai.responses"`` or ``"anthropic.messages"``
            (``None`` for other paths).
        headers: Request headers, lower-cased, credentials redacted.
        body: The parsed JSON body (``None`` when there was none).
        fault: The fault applied.
        stream: Whether the client asked for a stream.
        continuation: Where the response started within the answer (prefix, start, matched).
        tokens: Content tokens actually written, in order (grows while streaming).
        outcome: ``pending``, ``complete``, ``status``, ``dropped``, ``stalled``,
            ``malformed``, ``truncated``, ``inband_error``, ``empty`` or ``client_gone``
            (the client left first). A profile that keeps the body open after the end
            marker (or resets it there) still records ``complete``.
        profile: The provider quirk profile the response was written with.
        tool_fragments: Tool-call fragments written (for a request offering ``tools``).
        query: The request's query string (``""`` when it had none).
    """

    index: int
    method: str
    path: str
    api: str | None
    headers: dict[str, str]
    body: Any
    fault: Fault
    stream: bool = False
    continuation: Continuation = field(default_factory=Continuation)
    tokens: list[str] = field(default_factory=list)
    outcome: str = "pending"
    profile: str = "openai"
    tool_fragments: list[ToolFragment] = field(default_factory=list)
    query: str = ""

    @property
    def text(self) -> str:
        """The content text written so far."""
        return "".join(self.tokens)

    @property
    def messages(self) -> list[Any]:
        """The request's ``messages`` (or Responses ``input``) list, when it has one."""
        if not isinstance(self.body, dict):
            return []
        raw = self.body.get("messages", self.body.get("input"))
        return list(raw) if isinstance(raw, list) else []


class _Player:
    """Writes one streamed response, acting on its fault at the right token or byte."""

    def __init__(self, out: ResponseWriter, wire: Wire, fault: Fault, record: ChaosRequest):
        self.out = out
        self.wire = wire
        self.fault = fault
        self.record = record

    async def cut(self) -> None:
        self.record.outcome = "dropped"
        await self.out.cut(self.fault.close)

    async def stall(self) -> None:
        """Hold the connection: nothing but keepalives until ``stall_for`` or the client leaves."""
        self.record.outcome = "stalled"
        fault = self.fault
        if fault.keepalive is None:
            gone = await self.out.wait_gone(fault.stall_for)
        else:
            gone = await self._keepalive_stall(fault.keepalive, fault.stall_for)
        if gone:
            raise ClientGoneError()

    async def _keepalive_stall(self, every: float, total: float | None) -> bool:
        deadline = None if total is None else anyio.current_time() + total
        while True:
            step = every
            if deadline is not None:
                step = min(step, deadline - anyio.current_time())
                if step <= 0:
                    return False
            if await self.out.wait_gone(step):
                return True
            if deadline is not None and anyio.current_time() >= deadline:
                return False
            await self.out.raw(self.wire.keepalive())

    async def act(self) -> bool:
        """Carry out the token-counted fault; True when the response ends here."""
        kind = self.fault.kind
        if kind == "drop":
            await self.cut()
        elif kind == "stall":
            await self.stall()
        elif kind == "malformed":
            self.record.outcome = "malformed"
            await self.out.send(self.wire.malformed())
        elif kind == "truncate":
            self.record.outcome = "truncated"
            return True
        elif kind == "inband_error":
            self.record.outcome = "inband_error"
            await self.out.send(self.wire.inband_error(self.fault.error_type))
            return True
        return False

    async def play(self, tokens: list[Any], headers: dict[str, str]) -> None:
        fault, out, wire = self.fault, self.out, self.wire
        if fault.kind in ("drop", "stall") and fault.after_bytes is not None:
            out.at_bytes(fault.after_bytes, self.cut if fault.kind == "drop" else self.stall)
        await out.head(200, headers, chunked=True)
        for frame in wire.preamble():
            await out.send(frame)
        at = fault.after_tokens if fault.after_bytes is None else None
        if fault.kind == "empty":
            tokens = []
        for i, token in enumerate(tokens):
            if i == at and await self.act():
                return await out.end()
            if fault.slow:
                await anyio.sleep(fault.slow)
            if isinstance(token, ToolFragment):
                await out.send(wire.tool(token))
                self.record.tool_fragments.append(token)
            else:
                await out.send(wire.token(token))
                self.record.tokens.append(token)
        if at == len(tokens) and await self.act():
            return await out.end()
        for frame in wire.ending():
            await out.send(frame)
        if self.record.outcome in ("pending", "stalled"):
            self.record.outcome = "empty" if fault.kind == "empty" else "complete"
        after = wire.after_end()
        if after == "linger":  # the end marker was sent; the body stays open
            if await out.wait_gone(None):
                raise ClientGoneError()
        elif after == "reset":
            # Closed mid-body after the end marker. (A TCP reset here could make the client's
            # kernel drop the unread finish chunk: no client could tell that from a cut.)
            await out.cut("fin")
        await out.end()
        return None


async def play(
    out: ResponseWriter,
    wire: Wire,
    fault: Fault,
    record: ChaosRequest,
    tokens: list[Any],
    headers: dict[str, str],
) -> None:
    """Write the response for ``record`` (raises :class:`ClientGoneError` on a cut)."""
    if record.stream:
        headers = {**headers, "content-type": wire.media, "cache-control": "no-cache"}
        await _Player(out, wire, fault, record).play(tokens, headers)
    else:
        await _play_json(out, wire, fault, record, tokens, headers)


async def _play_json(
    out: ResponseWriter,
    wire: Wire,
    fault: Fault,
    record: ChaosRequest,
    tokens: list[str],
    headers: dict[str, str],
) -> None:
    """Write a non-streaming JSON response under ``fault``.

    Token-counted drops and stalls act before the body; ``malformed``/``truncate`` send
    the first half of the JSON body (with a matching ``Content-Length``); ``empty`` has no
    content; ``inband_error`` sends the provider's error body with status 200.
    """
    player = _Player(out, wire, fault, record)
    if fault.kind == "empty":
        tokens = []
    wire.sent.extend(tokens)
    payload: dict[str, Any] = wire.complete("".join(tokens))
    if fault.kind == "inband_error":
        payload = wire.error_body(529, fault.error_type or "overloaded_error")
    body = orjson.dumps(payload)
    if fault.kind in ("malformed", "truncate"):
        body = body[: len(body) // 2]
        record.outcome = "malformed" if fault.kind == "malformed" else "truncated"
    headers = {**headers, "content-type": "application/json", "content-length": str(len(body))}
    if fault.kind in ("drop", "stall"):
        offset = fault.after_bytes if fault.after_bytes is not None else 0
        out.at_bytes(offset, player.cut if fault.kind == "drop" else player.stall)
    await out.head(200, headers, chunked=False)
    await out.send(body)
    record.tokens.extend(tokens)
    if record.outcome in ("pending", "stalled"):
        record.outcome = fault.kind if fault.kind in ("inband_error", "empty") else "complete"
