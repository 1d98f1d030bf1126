"""Structured-output presets: named defaults for ``auto_correct``, ``strict`` and ``retry``.

``l0.structured(Model, source, preset="strict")``. Arguments given explicitly win over the
preset (``preset="strict", retry=l0.Retry(attempts=5)`` keeps the preset's other choices).

================  ============  ========  ==========================================
preset            auto_correct  strict    retry
================  ============  ========  ==========================================
``"lenient"``     yes           no        ``Retry(attempts=2)``: the default
                                          behaviour with fewer re-asks; types are
                                          coerced (``"3"`` -> ``3``)
``"strict"``      no            yes       ``Retry(attempts=3)``: nothing repaired or
                                          coerced; every bad answer is re-asked with
                                          its validation errors
``"fail_fast"``   yes           no        ``Retry(attempts=0)``: one answer, repaired
                                          if it can be, else an error at once
                                          (network errors are still retried)
================  ============  ========  ==========================================
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from l0.types import Retry

__all__ = ["PRESETS", "StructuredPreset", "apply_preset"]


@dataclass(frozen=True, slots=True)
class StructuredPreset:
    """Defaults for :func:`l0.structured` / :func:`l0.structured_stream`.

    Attributes:
        name: The preset's name (for messages).
        auto_correct: Repair malformed JSON before deciding to retry.
        strict: No repair, and no type coercion.
        retry: The retry policy, unless the call passes ``retry=``.
    """

    name: str
    auto_correct: bool
    strict: bool
    retry: Retry


PRESETS: dict[str, StructuredPreset] = {
    "lenient": StructuredPreset(
        "lenient", auto_correct=True, strict=False, retry=Retry(attempts=2)
    ),
    "strict": StructuredPreset("strict", auto_correct=False, strict=True, retry=Retry(attempts=3)),
    "fail_fast": StructuredPreset(
        "fail_fast", auto_correct=True, strict=False, retry=Retry(attempts=0)
    ),
}
"""The named presets (see the module docstring)."""


def _resolve(preset: str | StructuredPreset | None) -> StructuredPreset | None:
    if preset is None or isinstance(preset, StructuredPreset):
        return preset
    if not isinstance(preset, str):
        raise TypeError(
            f"structured: preset must be a name or a StructuredPreset, got {type(preset).__name__}"
        )
    found = PRESETS.get(preset)
    if found is None:
        close = difflib.get_close_matches(preset, sorted(PRESETS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"structured: unknown preset {preset!r}{hint} (presets: {', '.join(sorted(PRESETS))})"
        )
    return found


def apply_preset(
    preset: str | StructuredPreset | None,
    options: dict[str, Any],
    *,
    auto_correct: bool | None,
    strict: bool | None,
) -> tuple[bool, bool]:
    """The effective ``(auto_correct, strict)``; sets ``options["retry"]`` from the preset
    when the call gave none.

    Raises:
        ValueError: An unknown preset name (the closest one is named).
        TypeError: ``preset`` is neither a name nor a :class:`StructuredPreset`.
    """
    found = _resolve(preset)
    if found is None:
        return (True if auto_correct is None else auto_correct, bool(strict))
    if options.get("retry") is None:
        options["retry"] = found.retry
    return (
        found.auto_correct if auto_correct is None else auto_correct,
        found.strict if strict is None else strict,
    )
