"""Shape-checked reading of provider chunks: every byte from outside is hostile.

SDKs build their chunk objects without validation (``model_construct``), plain iterables
may yield dicts, and OpenAI-compatible servers send whatever they like: a field may be
missing, ``None``, or of any JSON type. Adapters read chunk fields only through these
helpers, so an unexpected shape is either tolerated where its meaning is clear (an absent
field, a usage count that is not a number) or a
:class:`~l0.errors.MalformedChunkError` carrying the chunk (network category: retried and
continued like a dropped connection) — never a bare ``AttributeError``/``TypeError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from l0.errors import L0Error, MalformedChunkError
from l0.errors._tree import chunk_text

__all__ = [
    "count_or_none",
    "field",
    "is_record",
    "malformed",
    "record_or_none",
    "seq_or_none",
    "str_or_none",
    "undecodable",
]

_SCALARS = (str, bytes, int, float, bool, list, tuple)


def field(obj: object, name: str) -> Any:
    """``obj.name`` (an SDK object) or ``obj[name]`` (a mapping); ``None`` when absent.

    Never raises: a missing attribute, a scalar ``obj`` or a failing property read as absent.
    """
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        try:
            return obj.get(name)
        except Exception:  # a hostile mapping
            return None
    if isinstance(obj, _SCALARS):
        return None
    try:
        return getattr(obj, name, None)
    except Exception:  # a property that raises
        return None


def is_record(obj: object) -> bool:
    """True for an object with fields: a mapping or an SDK object (not a JSON scalar/array)."""
    return obj is not None and not isinstance(obj, _SCALARS)


def malformed(what: str, chunk: object) -> MalformedChunkError:
    """The error for ``chunk`` whose ``what`` has a shape the protocol does not allow."""
    return MalformedChunkError(f"malformed chunk: {what}", chunk=chunk)


def record_or_none(value: object, what: str, chunk: object) -> Any:
    """``value`` when it is a record or ``None``.

    Raises:
        MalformedChunkError: For a scalar or an array where a record belongs.
    """
    if value is None or is_record(value):
        return value
    raise malformed(f"{what} must be an object, got {type(value).__name__}", chunk)


def seq_or_none(value: object, what: str, chunk: object) -> list[Any] | tuple[Any, ...] | None:
    """``value`` when it is a list/tuple or ``None``.

    Raises:
        MalformedChunkError: For anything else.
    """
    if value is None or isinstance(value, (list, tuple)):
        return value
    raise malformed(f"{what} must be an array, got {type(value).__name__}", chunk)


def str_or_none(value: object, what: str, chunk: object) -> str | None:
    """``value`` when it is a string or ``None``.

    Raises:
        MalformedChunkError: For anything else (text is never guessed from a number).
    """
    if value is None or isinstance(value, str):
        return value
    raise malformed(f"{what} must be a string, got {type(value).__name__}", chunk)


def count_or_none(value: object) -> int | None:
    """A token count: an int >= 0; anything else (a string, a float, a bool) is unknown.

    Usage is informational: an odd count is dropped rather than failing the stream.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def undecodable(chunk: object, exc: Exception) -> L0Error:
    """The error for an exception raised while decoding ``chunk``: an :class:`L0Error`
    passes unchanged; anything else becomes a :class:`MalformedChunkError` caused by it
    (the safety net under the shape checks: the loop never sees a bare exception)."""
    if isinstance(exc, L0Error):
        if isinstance(exc, MalformedChunkError) and not exc.chunk:
            exc.chunk = chunk_text(chunk)  # raised by a helper that did not see the chunk
        return exc
    err = MalformedChunkError(
        f"malformed chunk: decoding raised {type(exc).__name__}: {exc}", chunk=chunk
    )
    err.__cause__ = exc
    return err
