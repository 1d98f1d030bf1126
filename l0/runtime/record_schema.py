"""The recording format: versioned JSON Lines, and the values inside it.

A recording is a sequence of lines (docs/replay.md documents every field)::

    {"kind": "header", "format": "l0.recording", "version": 1, ...}   one, first
    {"kind": "batch", "seq": 0, "items": [...], "c": "<base64>", "r": [...]} any number
    {"kind": "end", "status": "completed", "result": {...}, ...}          one, last

``items`` are the run's happenings in order: a JSON string is a token as the source sent it
(a JSON integer, its length, in metadata-only recordings); an object with ``"k"`` is anything
else (an attempt, the source's decoded events, a fault, a lifecycle event, …). ``c`` holds
the run's clock readings (base64 of little-endian float64, :func:`pack_floats`) and ``r`` its
jitter draws since the previous line, in order: replay plays them back, which is what makes
a replay equal to the recording byte for byte.

This module turns l0's values (events, errors, results, state) into JSON-safe data and back.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import dataclasses
import importlib
import json
import sys
from array import array
from collections.abc import Mapping
from enum import Enum
from typing import Any

import orjson

from l0.errors import ErrorCategory, ErrorCode, L0Error, NetworkError, NetworkErrorKind
from l0.guardrails.hooks import Severity, Violation
from l0.types import Event, EventType, Result, State, Telemetry, ToolCall, Usage

__all__ = [
    "CONTENT_REF",
    "FORMAT",
    "RESULT_REF",
    "TEXT_REF",
    "VERSION",
    "decode_error",
    "decode_event",
    "decode_value",
    "dumps",
    "encode",
    "encode_error",
    "encode_event",
    "encode_result",
    "encode_state",
    "pack_floats",
    "resolve_end",
    "share_answer",
    "unpack_floats",
]

FORMAT = "l0.recording"
"""The ``format`` field of every recording's header."""

VERSION = 1
"""The schema version this l0 writes (and the newest it reads)."""

_ERROR_ATTRS = (
    "code",
    "category",
    "retry_after",
    "status_code",
    "request_id",
    "kind",
    "timeout",
    "elapsed",
    "violations",
    "types",
    "key",
    "retry_in",
    "refusal",
)
_DATACLASSES: dict[str, type] = {
    "ToolCall": ToolCall,
    "Usage": Usage,
    "Violation": Violation,
    "Telemetry": Telemetry,
}
# A COMPLETE event's result in a recording: the end line's (the answer is written once).
RESULT_REF = {"__": "ref", "to": "end.result"}
# On the end line, a state's ``content``/``checkpoint`` equal to the result's text (or, with no
# result, a checkpoint equal to the state's content): the answer is written once.
TEXT_REF = {"__": "ref", "to": "end.result.text"}
CONTENT_REF = {"__": "ref", "to": "end.state.content"}
_ORJSON_OPTS = orjson.OPT_NON_STR_KEYS
_orjson_dumps = orjson.dumps
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=True).encode


def dumps(obj: Any) -> str:
    """Compact JSON of an already encoded value (one recording line)."""
    return _dumps(obj)


def dumps_batch(obj: Any) -> str:
    """:func:`dumps` for recording lines, on orjson (several times faster; the same values
    for what recordings hold). Values orjson refuses (an int past 64 bits, say) and
    non-finite floats (orjson writes ``null``) go through :func:`dumps`."""
    try:
        text = _orjson_dumps(obj, option=_ORJSON_OPTS).decode()
    except (TypeError, ValueError):
        return _dumps(obj)
    if "null" in text and _has_nonfinite(obj):
        return _dumps(obj)
    return text


def _has_nonfinite(obj: Any) -> bool:
    """Whether ``obj`` holds a NaN or an infinity: one loop over a stack of containers (no
    call per value; strings, the bulk of a batch, cost a class test each)."""
    stack = [obj]
    pop, push = stack.pop, stack.append
    while stack:
        value = pop()
        cls = value.__class__
        if cls is dict:
            values: Any = value.values()
        elif cls is list or cls is tuple:
            values = value
        elif cls is float:
            if value - value != 0.0:  # inf - inf and nan - nan are nan
                return True
            continue
        elif isinstance(value, (dict, list, tuple)):  # a subclass
            values = value.values() if isinstance(value, dict) else value
        else:
            continue
        for item in values:
            c = item.__class__
            if c is str or c is int or c is bool or item is None:
                continue
            if c is float:
                if item - item != 0.0:
                    return True
            else:
                push(item)
    return False


def pack_floats(values: list[float] | array[float]) -> str:
    """Clock readings as base64 of little-endian IEEE 754 doubles: exact, and far cheaper
    than decimal text (one reading per token when a stall timeout is set)."""
    if sys.byteorder == "little" and values.__class__ is array:
        return base64.b64encode(values.tobytes()).decode("ascii")  # (no copy)
    packed = array("d", values)
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def unpack_floats(text: str | list[float]) -> list[float]:
    """The readings :func:`pack_floats` packed (a JSON list is accepted too)."""
    if isinstance(text, list):
        return [float(v) for v in text]
    packed = array("d", base64.b64decode(text))
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tolist()


def encode(value: Any, content: bool = True) -> Any:
    """``value`` as JSON-safe data (tagged with ``"__"`` where it must be rebuilt).

    With ``content=False`` answer text (event text, result text, checkpoints) is replaced by
    its length.
    """
    cls = value.__class__
    if value is None or cls is str or cls is int or cls is float or cls is bool:
        return value
    if cls is dict:  # (the common containers first: telemetry, event payloads)
        return {k if k.__class__ is str else str(k): encode(v, content) for k, v in value.items()}
    if cls is list or cls is tuple:
        return [encode(v, content) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseException):
        return encode_error(value, content)
    if isinstance(value, Event):
        return encode_event(value, content)
    if isinstance(value, State):
        return encode_state(value, content)
    if isinstance(value, Result):
        return encode_result(value, content)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"__": type(value).__name__}
        for f in dataclasses.fields(value):
            out[f.name] = encode(getattr(value, f.name), content)
        return out
    if isinstance(value, Mapping):
        return {str(k): encode(v, content) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [encode(v, content) for v in value]
    if isinstance(value, bytes):
        return {"__": "bytes", "len": len(value)}
    return {"__": "repr", "r": type(value).__name__}


def _text(text: str | None, content: bool) -> Any:
    return text if content or text is None else len(text)


def encode_event(ev: Event, content: bool = True) -> dict[str, Any]:
    """An :class:`~l0.types.Event` as data."""
    out: dict[str, Any] = {"type": ev.type.value}
    if ev.text is not None:
        out["text"] = _text(ev.text, content)
    if ev.data is not None:
        out["data"] = encode(ev.data, content) if not isinstance(ev.data, Result) else "result"
    if ev.error is not None:
        out["error"] = encode_error(ev.error, content)
    if ev.ts:
        out["ts"] = ev.ts
    return out


def decode_event(data: Mapping[str, Any]) -> Event:
    """Rebuild an :class:`~l0.types.Event` (metadata-only text becomes placeholder dots)."""
    text = data.get("text")
    if isinstance(text, int):
        text = "·" * text
    error = data.get("error")
    return Event(
        EventType(data["type"]),
        text,
        decode_value(data.get("data")),
        decode_error(error) if error is not None else None,
        data.get("ts", 0.0),
    )


def encode_error(exc: BaseException, content: bool = True) -> dict[str, Any]:
    """An exception as data: its class, message and l0 attributes (never a traceback)."""
    cls = type(exc)
    out: dict[str, Any] = {"__": "error", "type": cls.__name__, "module": cls.__module__}
    out["message"] = str(exc)
    attrs: dict[str, Any] = {}
    for name in _ERROR_ATTRS:
        if name in getattr(exc, "__dict__", {}):
            attrs[name] = encode(exc.__dict__[name], content)
    checkpoint = getattr(exc, "checkpoint", None)
    if checkpoint:
        attrs["checkpoint"] = _text(checkpoint, content)
    errors = getattr(exc, "errors", None)
    if isinstance(errors, list):
        attrs["errors"] = [encode_error(e, content) for e in errors]
    if attrs:
        out["attrs"] = attrs
    return out


def _error_class(name: str, module: str) -> type[BaseException]:
    if module == "builtins":
        cls = getattr(builtins, name, None)
    elif module.startswith("l0.") or module in ("openai", "anthropic", "httpx"):
        try:
            cls = getattr(importlib.import_module(module), name, None)
        except ImportError:
            cls = None
    else:
        cls = None
    if isinstance(cls, type) and issubclass(cls, BaseException):
        return cls
    # A class replay cannot import: a stand-in with the same name (the same text in events).
    return type(name, (Exception,), {"__module__": module})


def decode_error(data: Mapping[str, Any]) -> BaseException:
    """Rebuild an exception recorded by :func:`encode_error` (same class, message and l0
    attributes; the message is the recorded, redacted one)."""
    cls = _error_class(str(data.get("type")), str(data.get("module")))
    message = str(data.get("message", ""))
    exc = cls.__new__(cls)
    BaseException.__init__(exc, message)
    attrs = dict(data.get("attrs") or {})
    if isinstance(exc, L0Error):
        exc.message = message
        exc.code = ErrorCode(attrs.pop("code", exc.default_code.value))
        exc.category = ErrorCategory(attrs.pop("category", exc.default_category.value))
        exc.retry_after = attrs.pop("retry_after", None)
        exc.status_code = attrs.pop("status_code", None)
        exc.request_id = attrs.pop("request_id", None)
        checkpoint = attrs.pop("checkpoint", "")
        exc.checkpoint = checkpoint if isinstance(checkpoint, str) else "·" * int(checkpoint)
        if isinstance(exc, NetworkError):
            exc.kind = NetworkErrorKind(attrs.pop("kind", NetworkErrorKind.UNKNOWN.value))
    if "errors" in attrs:
        attrs["errors"] = [decode_error(e) for e in attrs["errors"]]
    for name, value in attrs.items():
        value = decode_value(value)
        if name == "types" and isinstance(value, list):
            value = tuple(value)
        with contextlib.suppress(AttributeError):  # a read-only attribute: leave it
            setattr(exc, name, value)
    return exc


def decode_value(value: Any) -> Any:
    """Rebuild tagged values (tool calls, usage, violations, errors); plain data as is."""
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    if not isinstance(value, dict):
        return value
    tag = value.get("__")
    if tag is None:
        return {k: decode_value(v) for k, v in value.items()}
    if tag == "error":
        return decode_error(value)
    cls = _DATACLASSES.get(tag)
    if cls is None:
        return value
    fields = {k: decode_value(v) for k, v in value.items() if k != "__"}
    if cls is Violation:
        fields["severity"] = Severity(fields.get("severity", "error"))
    return cls(**fields)


def encode_state(state: State, content: bool = True) -> dict[str, Any]:
    """The public fields of a :class:`~l0.types.State`."""
    return {
        "content": _text(state.content, content),
        "checkpoint": _text(state.checkpoint, content),
        "token_count": state.token_count,
        "model_retry_count": state.model_retry_count,
        "network_retry_count": state.network_retry_count,
        "fallback_index": state.fallback_index,
        "violations": encode(state.violations, content),
        "drift_detected": state.drift_detected,
        "completed": state.completed,
        "started_at": state.started_at,
        "first_token_at": state.first_token_at,
        "last_token_at": state.last_token_at,
        "duration": state.duration,
        "resumed": state.resumed,
        "resume_point": state.resume_point,
    }


def share_answer(end: dict[str, Any]) -> dict[str, Any]:
    """The end line ``end`` with the answer written once: a state's ``content`` or
    ``checkpoint`` equal to the result's ``text`` (or, with no result, a ``checkpoint``
    equal to the state's ``content``) becomes :data:`TEXT_REF` / :data:`CONTENT_REF`
    (:func:`resolve_end` puts the text back). Changes ``end`` in place; returns it."""
    result = end.get("result")
    if isinstance(result, dict):
        text, state, ref = result.get("text"), result.get("state"), TEXT_REF
        fields: tuple[str, ...] = ("content", "checkpoint")
    else:
        state = end.get("state")
        text = state.get("content") if isinstance(state, dict) else None
        ref, fields = CONTENT_REF, ("checkpoint",)
    if text.__class__ is str and text and isinstance(state, dict):
        for name in fields:
            if state.get(name) == text:
                state[name] = ref
    return end


def resolve_end(end: dict[str, Any]) -> dict[str, Any]:
    """An end line read back: the references :func:`share_answer` wrote replaced by the
    text (an end line written without them is returned as it is). In place; returns it."""
    result = end.get("result")
    if isinstance(result, dict):
        text, state = result.get("text"), result.get("state")
    else:
        state = end.get("state")
        text = state.get("content") if isinstance(state, dict) else None
    if isinstance(state, dict):
        for name in ("content", "checkpoint"):
            value = state.get(name)
            if value in (TEXT_REF, CONTENT_REF):
                state[name] = text
    return end


def encode_result(result: Result, content: bool = True) -> dict[str, Any]:
    """A :class:`~l0.types.Result` (its state and telemetry included)."""
    return {
        "__": "Result",
        "text": _text(result.text, content),
        "state": encode_state(result.state, content),
        "telemetry": encode(result.telemetry, content),
        "tool_calls": encode(result.tool_calls, content),
        "usage": encode(result.usage, content),
        "finish_reason": result.finish_reason,
        "errors": [encode_error(e, content) for e in result.errors],
        "fallback_index": result.fallback_index,
    }
