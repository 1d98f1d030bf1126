"""``OutputRetractedError``'s advice follows what made l0 restart."""

from __future__ import annotations

import pytest

import l0

SURFACES = "reset-aware surface (invoke/ainvoke, l0.run, the l0 SSE format)"


def test_a_guardrail_rejection_advises_checked_release_not_continuation() -> None:
    exc = l0.OutputRetractedError(l0.GuardrailViolationError("no secrets"), shown=12)
    message = str(exc)
    assert "after 12 character(s)" in message and "(after GuardrailViolationError)" in message
    assert "release='checked'" in message and SURFACES in message
    assert "continuation" not in message


def test_a_drift_rejection_says_checked_release_does_not_hold_it() -> None:
    message = str(l0.OutputRetractedError(l0.DriftError("drifted"), shown=3))
    assert "only for guardrail rules" in message and SURFACES in message
    assert "continuation" not in message


@pytest.mark.parametrize(
    "cause",
    [
        l0.NetworkError("peer closed connection"),
        l0.ServerError("overloaded", status_code=529),
        l0.StreamTimeoutError("inter_token", 1.0, 1.25),
        RuntimeError("boom"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_failure_advises_continuation_where_the_source_can_continue(
    cause: BaseException,
) -> None:
    message = str(l0.OutputRetractedError(cause, shown=5))
    assert "continuation=True" in message and "not a whole chain" in message
    assert SURFACES in message
    assert "release='checked'" not in message


def test_an_unknown_cause_names_both_remedies_by_their_condition() -> None:
    message = str(l0.OutputRetractedError(None, shown=5))
    assert "release='checked' avoids it for guardrail rejections" in message
    assert "continuation for failures of a source that can continue" in message
    assert SURFACES in message
