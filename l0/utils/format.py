"""Prompt-formatting helpers: context and memory blocks, reasoning tags, text normalisation.

Content placed inside a delimited block is escaped so it cannot close the block early (a
document containing ``</context>`` stays inside the ``<context>`` block).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Literal

__all__ = ["format_context", "format_memory", "normalize_text", "strip_reasoning"]

Delimiter = Literal["xml", "markdown", "brackets", "none"]
_DELIMITERS = ("xml", "markdown", "brackets", "none")
_REASONING = re.compile(
    r"<(think|thinking|reasoning)>.*?(?:</\1>|\Z)\s*", re.IGNORECASE | re.DOTALL
)


def strip_reasoning(text: str) -> str:
    """``text`` without its reasoning blocks (``<think>``, ``<thinking>``, ``<reasoning>``,
    any case); an unclosed block hides everything after it.

    Example:
        >>> strip_reasoning("<think>hmm</think>\\nThe answer is 4.")
        'The answer is 4.'
    """
    return _REASONING.sub("", text)


def normalize_text(text: str) -> str:
    """``text`` in NFC, with ``\\r\\n``/``\\r`` as ``\\n``, no trailing spaces on lines and at
    most one blank line in a row, stripped at both ends."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _tag(label: str) -> str:
    tag = re.sub(r"\W+", "_", label.strip().lower()).strip("_")
    if not tag:
        raise ValueError(f"format: label {label!r} gives no usable tag name")
    return tag


def format_context(
    content: str, *, label: str = "Context", delimiter: Delimiter = "xml", normalize: bool = True
) -> str:
    """``content`` as a labelled block for a prompt.

    Args:
        content: The text to include.
        label: The block's name (``"Context"`` -> ``<context>`` in xml).
        delimiter: ``"xml"`` (``<context>…</context>``, content escaped), ``"markdown"``
            (``## Context`` heading), ``"brackets"`` (``[CONTEXT]…[/CONTEXT]``, a
            ``[/CONTEXT]`` inside the content is escaped) or ``"none"``.
        normalize: Apply :func:`normalize_text` to ``content`` first.

    Raises:
        ValueError: An unknown delimiter (the closest one is named) or an empty label.
    """
    if delimiter not in _DELIMITERS:
        import difflib

        close = difflib.get_close_matches(str(delimiter), _DELIMITERS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"format_context: unknown delimiter {delimiter!r}{hint} "
            f"(delimiters: {', '.join(_DELIMITERS)})"
        )
    body = normalize_text(content) if normalize else content
    if delimiter == "xml":
        tag = _tag(label)
        return f"<{tag}>\n{html.escape(body, quote=False)}\n</{tag}>"
    if delimiter == "markdown":
        return f"## {label}\n\n{body}"
    if delimiter == "brackets":
        tag = _tag(label).upper()
        body = body.replace(f"[/{tag}]", f"[\\/{tag}]")
        return f"[{tag}]\n{body}\n[/{tag}]"
    return body


def format_memory(
    entries: Iterable[Mapping[str, str]] | str,
    *,
    max_entries: int | None = None,
    delimiter: Delimiter = "xml",
) -> str:
    """Conversation memory (``{"role": …, "content": …}`` entries, oldest first) as one
    ``Memory`` block, one ``role: content`` line per entry; ``max_entries`` keeps the most
    recent ones.

    Raises:
        ValueError: An entry without ``role`` or ``content`` (its index is named).
    """
    if isinstance(entries, str):
        return format_context(entries, label="Memory", delimiter=delimiter)
    items = list(entries)
    if max_entries is not None:
        items = items[-max_entries:] if max_entries > 0 else []
    lines = []
    for i, entry in enumerate(items):
        if "role" not in entry or "content" not in entry:
            raise ValueError(f"format_memory: entry {i} needs 'role' and 'content': {entry!r}")
        lines.append(f"{entry['role']}: {entry['content']}")
    return format_context("\n".join(lines), label="Memory", delimiter=delimiter)
