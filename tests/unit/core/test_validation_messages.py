"""Every validation message names the option, what was given, and the fix (issue 12, item 4)."""

from __future__ import annotations

import pytest

import l0


@pytest.mark.parametrize(
    ("retry_on", "kind", "says"),
    [
        ("network", TypeError, "got the string 'network'; pass a collection"),
        ("network", TypeError, "retry_on={'network'}"),
        (..., TypeError, "got Ellipsis"),
        (3, TypeError, 'e.g. retry_on={"network", "transient"}'),
        (["netwrok"], ValueError, "unknown entry 'netwrok'"),
        (["netwrok"], ValueError, "did you mean 'network'?"),
        ({"transent", "model"}, ValueError, "did you mean 'transient'?"),
        (["xyzzy"], ValueError, 'e.g. retry_on={"network", "transient"}'),
    ],
)
def test_retry_on_names_what_was_given_and_the_fix(
    retry_on: object, kind: type[Exception], says: str
) -> None:
    with pytest.raises(kind, match="^Retry.retry_on") as caught:
        l0.Retry(retry_on=retry_on)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    "retry_on",
    [{"network"}, ["network", "transient"], (l0.ErrorCategory.MODEL,), frozenset(), lambda e: True],
)
def test_retry_on_accepts_collections_and_predicates(retry_on: object) -> None:
    assert l0.Retry(retry_on=retry_on).retry_on == retry_on
