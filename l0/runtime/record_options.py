"""The header's option records: the options of a run that replay needs, as data.

:func:`options_record` turns a run's :class:`~l0.runtime.options.Options` into the header's
``options``: the retry, timeout, continuation and check-interval policies as plain fields
(cached per policy object in ``_POLICY_RECORDS``, since runs share them), and guardrail rules
and drift detectors by name and configuration (:func:`_identity`), which replay compares with
the ones it can rebuild.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from l0.runtime.record_schema import encode

if TYPE_CHECKING:
    from l0.runtime.options import Options

__all__ = ["options_record"]


def options_record(opts: Options) -> dict[str, Any]:
    """The options of a run that replay needs, as data."""
    continuation = opts.continuation
    out: dict[str, Any] = {
        "retry": _policy_record(opts.retry, _retry_record),
        "timeout": _policy_record(opts.timeout, dataclasses.asdict),
        "continuation": _policy_record(continuation, dataclasses.asdict) if continuation else None,
        "check_intervals": _policy_record(opts.check_intervals, dataclasses.asdict),
        "sources": len(opts.sources),
        "detect_zero_output": opts.detect_zero_output,
        "detect_truncation": opts.detect_truncation,
        "context": encode(dict(opts.context)),
        "guardrails": _identity(opts.guardrails),
        "drift": _identity(opts.drift),
    }
    return out


_POLICY_RECORDS: dict[int, tuple[Any, dict[str, Any]]] = {}
"""id(policy) -> (the policy, its record): runs usually share their policy objects (frozen
dataclasses), and a header is written per run. Bounded; never mutated by readers."""


def _policy_record(policy: Any, build: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    hit = _POLICY_RECORDS.get(id(policy))
    if hit is not None and hit[0] is policy:
        return hit[1]
    record = build(policy)
    if len(_POLICY_RECORDS) >= 256:
        _POLICY_RECORDS.clear()
    _POLICY_RECORDS[id(policy)] = (policy, record)  # (the policy kept: its id stays its own)
    return record


def _retry_record(retry: Any) -> dict[str, Any]:
    fields = {
        f.name: getattr(retry, f.name) for f in dataclasses.fields(retry) if f.name != "random"
    }
    retry_on = fields["retry_on"]
    fields["retry_on"] = (
        "callable" if callable(retry_on) else sorted(str(getattr(x, "value", x)) for x in retry_on)
    )
    fields["error_delays"] = {str(getattr(k, "value", k)): v for k, v in retry.error_delays.items()}
    return fields


def _identity(hook: Any) -> Any:
    """A guardrail engine's rules or a drift detector, by name and configuration."""
    if hook is None:
        return None
    rules = getattr(hook, "rules", None)
    if rules is not None:
        return [{"name": getattr(r, "name", "?"), "repr": repr(r)} for r in rules]
    return {"type": type(hook).__name__, "repr": _detector_repr(hook)}


def _detector_repr(hook: Any) -> str:
    fields = (
        {k: v for k, v in sorted(vars(hook).items()) if not k.startswith("_")}
        if hasattr(hook, "__dict__")
        else {}
    )
    simple = {k: v for k, v in fields.items() if isinstance(v, (int, float, str, bool))}
    return f"{type(hook).__name__}({simple})"
