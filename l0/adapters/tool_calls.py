"""The one tool-call assembler every adapter shares, and the sentinel rules it relies on.

Providers stream a tool call as fragments ``(index, id, name, arguments)``, and they disagree
on how a fragment says which call it belongs to: OpenAI numbers calls by ``index``; Gemini's
OpenAI endpoint sends no ``index``; Ollama puts every call at ``index: 0`` with distinct ids;
some servers send ``""`` where they mean "absent". One set of rules reads them all:

1. Empty strings (and other falsy placeholders) for ids, names and indexes are absent
   (:func:`text_or_none`, :func:`index_or_none`).
2. A fragment whose non-empty id belongs to a call already open continues that call.
3. A fragment with a new non-empty id opens a new call, even at an index already open
   (unless the call open there has no id yet: then the id is that call's).
4. A fragment with a name but no id continues the call open at its index (or the last open
   call when it has no index) while that call is unnamed or has the same name and arguments
   that are not yet a whole JSON value; otherwise it opens a new call.
5. A fragment with neither id nor name continues the call open at its index, else the last
   open call.
6. Arguments may be split anywhere; calls may interleave (by index or by id).
7. Calls are released in index order (opening order where there is no index) when the
   provider's end marker arrives (:meth:`ToolCallAssembler.finish_all`); a stream cut before
   it releases nothing half-written (:meth:`ToolCallAssembler.salvage` keeps only calls whose
   arguments are whole JSON).
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any

import orjson

from l0.errors import MalformedChunkError
from l0.types import ToolCall

__all__ = [
    "ToolCallAssembler",
    "index_or_none",
    "json_text",
    "parse_arguments",
    "reason_or_none",
    "text_or_none",
]


def text_or_none(value: object) -> str | None:
    """``value`` as a non-empty string, or ``None`` for ``None``/``""``/whitespace.

    Raises:
        MalformedChunkError: For a value that is neither a string nor ``None``.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedChunkError(f"expected a string field, got {type(value).__name__}")
    return value if value.strip() else None


def reason_or_none(value: object) -> str | None:
    """A finish/stop reason: ``None`` and ``""`` are absent; an enum becomes its value.

    Raises:
        MalformedChunkError: For a value that is neither a string, an enum nor ``None``.
    """
    if value is None or value == "":
        return None
    raw = value.value if isinstance(value, Enum) else value
    if not isinstance(raw, str):
        raise MalformedChunkError(f"a finish reason must be a string, got {type(raw).__name__}")
    return raw if raw.strip() else None


def index_or_none(value: object) -> int | None:
    """A fragment index: an int >= 0 (or its decimal string); anything else is absent."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def parse_arguments(raw: str) -> Any:
    """Parse streamed tool arguments: ``{}`` for empty text, ``None`` for invalid JSON."""
    if not raw.strip():
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _whole(parts: list[str]) -> bool:
    """True when the argument text so far is one whole JSON value."""
    if not parts:
        return False
    try:
        orjson.loads("".join(parts))
    except orjson.JSONDecodeError:
        return False
    return True


def _arguments_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, (dict, list)):  # a server that sends arguments already parsed
        return json_text(value)
    raise MalformedChunkError(f"tool-call arguments must be a string, got {type(value).__name__}")


def json_text(value: object) -> str:
    """``value`` (already-parsed arguments) as JSON text.

    Raises:
        MalformedChunkError: When it has no JSON form (an integer past 64 bits, a non-string
            key).
    """
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError as exc:
        raise MalformedChunkError(f"tool-call arguments have no JSON form: {exc}") from exc


class _Call:
    __slots__ = ("id", "index", "name", "parts", "seq")

    def __init__(self, seq: int, index: int | None, call_id: str | None, name: str | None):
        self.seq = seq
        self.index = index
        self.id = call_id
        self.name = name
        self.parts: list[str] = []


class ToolCallAssembler:
    """Assembles streamed tool-call fragments into :class:`~l0.types.ToolCall` objects by the
    rules in the module docstring.

    Released calls are numbered in release order (:attr:`ToolCall.index`).
    """

    __slots__ = ("_by_id", "_by_index", "_last", "_open", "_seq", "completed")

    def __init__(self) -> None:
        self._open: list[_Call] = []
        self._by_index: dict[int, _Call] = {}
        self._by_id: dict[str, _Call] = {}
        self._last: _Call | None = None
        self._seq = 0
        self.completed = 0

    def __bool__(self) -> bool:
        return bool(self._open)

    def __contains__(self, index: object) -> bool:
        key = index_or_none(index)
        return key is not None and key in self._by_index

    def add(self, index: object, call_id: object, name: object, arguments: object) -> None:
        """Add one fragment (any of its fields may be absent, ``None`` or ``""``).

        Raises:
            MalformedChunkError: When a field has a type no provider sends.
        """
        idx = index_or_none(index)
        cid = text_or_none(call_id)
        nm = text_or_none(name)
        args = _arguments_text(arguments)
        call = self._target(idx, cid, nm)
        if call is None:
            call = self._new(idx, cid, nm)
        else:
            if cid is not None and call.id is None:
                call.id = cid
                self._by_id[cid] = call
            if nm is not None and call.name is None:
                call.name = nm
            if idx is not None and call.index is None:
                call.index = idx
                self._by_index[idx] = call
        if args is not None:
            call.parts.append(args)
        self._last = call

    def _target(self, idx: int | None, cid: str | None, nm: str | None) -> _Call | None:
        """The open call this fragment continues (``None``: it opens a new one)."""
        if cid is not None:
            known = self._by_id.get(cid)
            if known is not None:
                return known
        here = self._by_index.get(idx) if idx is not None else self._last
        if here is None:
            return None
        if cid is not None:
            # A new id opens a new call, unless the open call is still waiting for its id.
            fresh = here.id is None and (idx is not None or not here.parts)
            return here if fresh else None
        if nm is not None:
            if here.name is None:
                return here
            return here if here.name == nm and not _whole(here.parts) else None
        return here

    def _new(self, idx: int | None, cid: str | None, nm: str | None) -> _Call:
        call = _Call(self._seq, idx, cid, nm)
        self._seq += 1
        self._open.append(call)
        if idx is not None:
            self._by_index[idx] = call
        if cid is not None:
            self._by_id[cid] = call
        return call

    def _release(self, call: _Call, arguments: str | None = None) -> ToolCall:
        self._open.remove(call)
        if call.index is not None and self._by_index.get(call.index) is call:
            del self._by_index[call.index]
        if call.id is not None and self._by_id.get(call.id) is call:
            del self._by_id[call.id]
        if self._last is call:
            self._last = self._open[-1] if self._open else None
        raw = arguments if arguments is not None else "".join(call.parts)
        index = self.completed
        self.completed += 1
        return ToolCall(
            id=call.id or "",
            name=call.name or "",
            arguments=parse_arguments(raw),
            raw_arguments=raw,
            index=index,
        )

    def finish(self, index: object, arguments: str | None = None) -> ToolCall | None:
        """Release the call open at ``index`` (a content block or output item that ended).

        Args:
            index: The call's index.
            arguments: The provider's authoritative full argument text, when it sends one.
        """
        key = index_or_none(index)
        call = self._by_index.get(key) if key is not None else None
        return self._release(call, arguments) if call is not None else None

    def finish_all(self) -> list[ToolCall]:
        """Release every open call (the provider's end marker arrived), in index order."""
        ordered = sorted(
            self._open, key=lambda c: (c.index if c.index is not None else math.inf, c.seq)
        )
        return [self._release(call) for call in ordered]

    def salvage(self) -> list[ToolCall]:
        """The stream ended without an end marker: release only calls whose arguments are
        whole JSON, drop the rest (a call cut mid-arguments is never emitted)."""
        whole = [c for c in self._open if _whole(c.parts)]
        self._open = [c for c in self._open if c in whole]
        calls = self.finish_all()
        self._by_index.clear()
        self._by_id.clear()
        self._last = None
        return calls
