"""Credentials never leave through l0: redaction by value, plus pattern masks.

l0 knows the credentials in play and masks those exact values wherever it writes — lifecycle
events, error messages, OpenTelemetry attributes and events, Sentry payloads, its logs, SSE
error events — whatever their shape, plus a few patterns for keys it was never told about
(``sk-…``, ``Bearer …``, ``api_key=…``). The values come from:

- :func:`register_secret` (yours: keys, tokens, passwords in configured headers);
- the provider SDK objects l0 handles: the API key of an openai / anthropic client behind a
  stream, and credential headers (``Authorization``, ``x-api-key``, and any configured
  header whose name says key, token, secret, auth, signature, password or cookie) of the
  HTTP request behind a stream or an SDK error — collected by :func:`collect_credentials`.

:func:`redact` is the one function every writer calls (and a record/replay feature should
call before storing anything): it masks strings, and the strings inside mappings, sequences
and exceptions' messages. Values shorter than :data:`MIN_SECRET_LENGTH` are never treated as
secrets (too likely to match ordinary text). The registry is process-wide and bounded
(:data:`MAX_SECRETS`, oldest forgotten first).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import Any

__all__ = [
    "L0_LOGGERS",
    "MASK",
    "MAX_SECRETS",
    "MIN_SECRET_LENGTH",
    "RedactingFilter",
    "collect_credentials",
    "forget_secrets",
    "may_hold_credential",
    "redact",
    "redact_text",
    "register_secret",
]

MASK = "[redacted]"
"""What a masked value is replaced by."""

MIN_SECRET_LENGTH = 8
"""Shortest value treated as a secret."""

MAX_SECRETS = 256
"""Most values remembered at once."""

# Keys l0 was never told about, recognised by shape.
_PATTERNS = (
    r"sk-[A-Za-z0-9_\-*]{6,}",
    r"(?<![A-Za-z0-9])Bearer\s+[A-Za-z0-9._~+/=\-]+",
    r"(?:api[_-]?key|access[_-]?token|token|secret|password)=[^\s&\"',;]+",
)
_SHAPES = re.compile("|".join(_PATTERNS), re.IGNORECASE)

_lock = threading.Lock()
_secrets: dict[str, None] = {}  # insertion-ordered set
_matcher: re.Pattern[str] | None = None

_CREDENTIAL_HEADER = re.compile(
    r"auth|key|token|secret|signature|password|passwd|cookie|credential", re.IGNORECASE
)
_SCHEME = re.compile(r"^(?:Bearer|Basic|Token|Key|ApiKey)\s+", re.IGNORECASE)


def register_secret(value: str) -> None:
    """Mask ``value`` wherever l0 writes from now on (idempotent).

    Register what l0 cannot see for itself: a key sent in a custom header, a password in a
    base URL, a token in a LangChain model's config.

    Raises:
        TypeError: When ``value`` is not a ``str``.
        ValueError: When it is shorter than :data:`MIN_SECRET_LENGTH` characters (masking
            it would garble ordinary text).
    """
    if not isinstance(value, str):
        raise TypeError(f"register_secret takes a str, got {type(value).__name__}")
    value = value.strip()
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(
            f"register_secret: a secret must have at least {MIN_SECRET_LENGTH} characters "
            f"(got {len(value)}); shorter values would mask ordinary text"
        )
    if value in MASK:
        raise ValueError(f"register_secret: {value!r} is part of the mask {MASK!r}")
    _add(value)


def forget_secrets() -> None:
    """Forget every registered and collected value (the pattern masks stay); for tests."""
    global _matcher
    with _lock:
        _secrets.clear()
        _matcher = None


def _add(value: str) -> None:
    global _matcher
    if value in _secrets:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets[value] = None
        while len(_secrets) > MAX_SECRETS:
            del _secrets[next(iter(_secrets))]
        _matcher = None


def _secret_matcher() -> re.Pattern[str] | None:
    global _matcher
    matcher = _matcher
    if matcher is None and _secrets:
        with _lock:
            values = sorted(_secrets, key=len, reverse=True)  # longest first
            matcher = _matcher = re.compile("|".join(map(re.escape, values)))
    return matcher


def redact_text(text: str) -> str:
    """``text`` with every known credential masked (:func:`redact` for a ``str``, typed).

    The masks run only when :func:`may_hold_credential` says one may be there."""
    return _mask(text) if may_hold_credential(text) else text


def _mask(text: str) -> str:
    """The masks themselves: registered values, then key shapes."""
    matcher = _secret_matcher()
    if matcher is not None:
        # Masking can join a mask and its neighbours into another secret ("]abc…"): repeat
        # until nothing changes (each pass only shortens or keeps the unmasked text).
        for _ in range(4):
            masked = matcher.sub(MASK, text)
            if masked == text:
                break
            text = masked
    return _SHAPES.sub(MASK, text)


def redact(value: Any) -> Any:
    """``value`` with every known credential masked.

    Strings are masked; mappings, lists, tuples and sets are copied with their keys and
    values redacted; an exception becomes the masked text ``"Type: message"``; anything else
    is returned unchanged.
    """
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {redact(k): redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return {redact(v) for v in value}
    if isinstance(value, BaseException):
        return redact_text(f"{type(value).__name__}: {value}")
    return value


def _offer(value: Any) -> None:
    if hasattr(value, "get_secret_value"):  # pydantic SecretStr
        value = value.get_secret_value()
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if isinstance(value, str):
        value = _SCHEME.sub("", value.strip())
        if len(value) >= MIN_SECRET_LENGTH and value not in MASK:
            _add(value)


def _from_headers(headers: Any) -> None:
    items = getattr(headers, "items", None)
    if items is None:
        return
    try:
        pairs = list(items())
    except Exception:  # a foreign mapping that fails to iterate: nothing to learn
        return
    for name, value in pairs:
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if isinstance(name, str) and _CREDENTIAL_HEADER.search(name):
            _offer(value)


def _from_request(request: Any) -> None:
    if request is not None:
        _from_headers(getattr(request, "headers", None))


def collect_credentials(obj: Any) -> None:
    """Remember the credentials an SDK object carries (see the module docstring).

    Accepts a provider stream, an SDK client, an SDK exception, or a mapping of call
    arguments (LiteLLM's ``api_key``, ``headers``, ``extra_headers``); reads only plain
    attributes (``api_key``, ``_client``, ``request``, ``response.request``, their
    ``headers``), never calls the network, and ignores whatever it does not recognise.
    """
    if isinstance(obj, Mapping):
        for attr in ("api_key", "auth_token"):
            _offer(obj.get(attr))
        for attr in ("headers", "extra_headers", "default_headers"):
            _from_headers(obj.get(attr))
        return
    seen = 0
    while obj is not None and seen < 4:  # a stream -> its client / response, bounded
        seen += 1
        d = getattr(obj, "__dict__", None)
        if d is None:
            return
        for attr in ("api_key", "auth_token", "_api_key"):
            if attr in d:
                _offer(d[attr])
        if "_custom_headers" in d:
            _from_headers(d["_custom_headers"])
        _from_request(d.get("request") or d.get("_request"))
        response = d.get("response")
        if response is not None:
            _from_request(getattr(response, "_request", None))
        obj = d.get("_client") or d.get("client")


class RedactingFilter(logging.Filter):
    """A logging filter that masks credentials in a record's message and traceback.

    Attached to l0's loggers (``l0``, ``l0.fastapi``, ``l0.breaker``, ``l0.budget``) on import;
    add it to your own handlers to cover other loggers too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; never drops it."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave the record to logging's own report
            return True
        record.msg = redact_text(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact_text(text)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


_FILTER = RedactingFilter()
L0_LOGGERS = ("l0", "l0.fastapi", "l0.breaker", "l0.budget")
"""The loggers l0 writes to; each carries :class:`RedactingFilter`."""
for _name in L0_LOGGERS:
    logging.getLogger(_name).addFilter(_FILTER)


_EQ_HINTS = ("key=", "token=", "secret=", "password=")


def may_hold_credential(text: str) -> bool:
    """Whether :func:`redact_text` could change ``text`` (a fast pre-check, plain substring
    searches: well under a millisecond for 100 KB, where the masks cost tens of milliseconds).

    False means ``text`` holds no registered value and nothing key-shaped; True means
    :func:`redact_text` must run. The ``sk-`` and ``…=`` shapes are looked for only when the
    text has a ``-`` or an ``=`` at all (one ``memchr`` each); ``Bearer`` always.
    """
    low = text.lower()
    if "bearer" in low:
        return True
    if "-" in text and "sk-" in low:
        return True
    if "=" in text and any(hint in low for hint in _EQ_HINTS):
        return True
    return any(value in text for value in list(_secrets))
