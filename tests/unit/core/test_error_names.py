"""The error classes go by their public module: tracebacks, reprs, pickles, recordings."""

from __future__ import annotations

import pickle
import traceback

import pytest

import l0
import l0.errors
from l0.runtime.record_schema import decode_error, encode_error

ERRORS = [
    getattr(l0.errors, name)
    for name in l0.errors.__all__
    if isinstance(getattr(l0.errors, name), type)
    and issubclass(getattr(l0.errors, name), BaseException)
]


def test_every_error_class_is_public_under_l0_errors() -> None:
    assert len(ERRORS) == 22
    assert {cls.__module__ for cls in ERRORS} == {"l0.errors"}
    assert {cls.__module__ for cls in (l0.ErrorCategory, l0.ErrorCode)} == {"l0.errors"}


def test_a_traceback_names_the_public_class() -> None:
    try:
        raise l0.RetriesExhaustedError("all failed", errors=[l0.RateLimitError("429")])
    except l0.L0Error:
        last = traceback.format_exc().splitlines()[-1]
    assert last == "l0.errors.RetriesExhaustedError: all failed"


def _plain(value: object) -> object:
    """Exceptions compare by identity: by class and message here."""
    if isinstance(value, BaseException):
        return (type(value), str(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@pytest.mark.parametrize(
    "exc",
    [
        l0.RateLimitError("slow down", status_code=429, retry_after=2.5),
        l0.StreamTimeoutError("inter_token", 1.0, 1.25),
        l0.RetriesExhaustedError("all failed", errors=[l0.RateLimitError("429")]),
        l0.OutputRetractedError(l0.ServerError("boom"), shown=12),
        l0.CircuitOpenError("openai", 3.0),
        l0.ServerError("overloaded", status_code=529),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_pickle_whatever_their_init_takes_and_record_by_their_public_name(
    exc: l0.L0Error,
) -> None:
    back = pickle.loads(pickle.dumps(exc))
    assert (type(back), str(back), repr(back)) == (type(exc), str(exc), repr(exc))
    assert _plain(vars(back)) == _plain(vars(exc))
    data = encode_error(exc)
    assert data["module"] == "l0.errors"
    assert type(decode_error(data)) is type(exc)
    # Recordings written before carry the private module's name: they read the same.
    older = dict(data, module="l0.errors._tree")
    assert type(decode_error(older)) is type(exc) and str(decode_error(older)) == str(exc)
