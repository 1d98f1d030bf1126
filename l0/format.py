"""Prompt-formatting helpers: context, memory, tool and output blocks; reasoning tags; text
normalisation (docs/format.md).

::

    from l0.format import format_context, format_tools, format_json_output, strip_reasoning

The implementations live in :mod:`l0.utils.format` and :mod:`l0.utils.format_blocks` (the
components layer); this is the public module (``l0.utils.format`` keeps working).
"""

from __future__ import annotations

from l0.utils.format import format_context, format_memory, normalize_text, strip_reasoning
from l0.utils.format_blocks import (
    format_json_output,
    format_output_instructions,
    format_tool,
    format_tools,
    normalize_tool,
)

__all__ = [
    "format_context",
    "format_json_output",
    "format_memory",
    "format_output_instructions",
    "format_tool",
    "format_tools",
    "normalize_text",
    "normalize_tool",
    "strip_reasoning",
]
