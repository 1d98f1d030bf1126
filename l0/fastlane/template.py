"""Text deltas recognised by their bytes, without parsing their JSON.

A provider sends thousands of text-delta events per answer whose JSON differs only in the
text: the same id, model, indexes and keys in the same order. After one such event has been
parsed and judged a plain text delta, :class:`TextTemplate` keeps its bytes before and after
the text's string literal. A later event whose data is ``prefix + literal + suffix``, where the
literal needs no JSON unescaping (no ``"``, ``\\``, control character; valid UTF-8), parses to
the same object with that text, so the text is its bytes decoded, and the JSON parser is
skipped. Anything else (another shape, a changing field, an escape) is parsed as before.

A template is only kept once proved: the prefix and suffix around a probe literal must parse
to the learnt object with the probe in the text's place, and nothing else changed.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import orjson

__all__ = ["TextTemplate", "load_json"]

_PLAIN = re.compile(rb'[^"\\\x00-\x1f]+')
"""A string literal's body that JSON reads as its own bytes."""
_PROBE = b"\\u0001"
_PROBE_TEXT = "\x01"
_LEARN = 4
"""Learning attempts per stream: a provider whose text events carry a changing field
(a sequence number, an obfuscation pad) never matches, and stops paying for the attempts."""


def load_json(data: bytes) -> Any:
    """Parse one event's data as the SDK's ``json.loads`` would: orjson first; on its
    refusal, the standard library decides (so the value, or the exception, is the SDK's)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data.decode("utf-8"))


class TextTemplate:
    """The learnt bytes around one event's text (see the module docstring).

    Args:
        path: Where the text sits in the parsed object (keys and list indexes).
    """

    __slots__ = ("_budget", "_event", "_path", "_prefix", "_suffix", "_total")

    def __init__(self, path: tuple[str | int, ...]) -> None:
        self._path = path
        self._event: str | None = None
        self._prefix = b""
        self._suffix = b""
        self._total = sys.maxsize  # no data is longer: nothing matches before learning
        self._budget = _LEARN

    def match(self, event: str | None, data: bytes) -> str | None:
        """The text of ``data`` when it is the learnt event with a plain literal, else None."""
        if (
            len(data) > self._total
            and data.startswith(self._prefix)
            and data.endswith(self._suffix)
            and event == self._event
        ):
            body = data[len(self._prefix) : len(data) - len(self._suffix)]
            if _PLAIN.fullmatch(body) is not None:
                try:
                    return body.decode("utf-8")
                except UnicodeDecodeError:
                    return None
        return None

    def learn(self, event: str | None, data: bytes, obj: Any, text: str) -> None:
        """Keep ``data`` (parsed to ``obj``, a plain text delta of ``text``) as the template,
        when it proves to be one; a few attempts per stream at most."""
        if self._budget <= 0:
            return
        self._budget -= 1
        raw = text.encode("utf-8")
        if _PLAIN.fullmatch(raw) is None:
            return
        literal = b'"' + raw + b'"'
        at = data.find(literal)
        if at < 0 or data.find(literal, at + 1) >= 0:
            return
        prefix, suffix = data[: at + 1], data[at + len(literal) - 1 :]
        try:
            probe = load_json(prefix + _PROBE + suffix)
            if _read(probe, self._path) != _PROBE_TEXT:
                return
            _write(probe, self._path, text)
        except Exception:  # any failure only means: no template
            return
        if probe != obj:
            return
        self._event, self._prefix, self._suffix = event, prefix, suffix
        self._total = len(prefix) + len(suffix)


def _read(obj: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        obj = obj[key]
    return obj


def _write(obj: Any, path: tuple[str | int, ...], value: Any) -> None:
    _read(obj, path[:-1])[path[-1]] = value
