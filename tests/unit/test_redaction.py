"""Redaction by value: the registry, masking of any structure, the log filter (pure)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from l0.redaction import (
    MASK,
    RedactingFilter,
    collect_credentials,
    forget_secrets,
    redact,
    redact_text,
    register_secret,
)


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


_SECRET = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=" \t\n\r\x0b\x0c"),
    min_size=8,
    max_size=40,
).filter(lambda s: s.strip() == s and s not in MASK)


@settings(max_examples=200, deadline=None)
@given(secrets=st.lists(_SECRET, min_size=1, max_size=4), filler=st.lists(st.text(), max_size=5))
def test_property_no_registered_secret_survives_in_any_text(
    secrets: list[str], filler: list[str]
) -> None:
    forget_secrets()
    for s in secrets:
        register_secret(s)
    pieces = [x for pair in zip(filler + [""] * len(secrets), secrets, strict=False) for x in pair]
    text = "".join(pieces) + "".join(filler)
    out = redact_text(text)
    assert not [s for s in secrets if s in out]
    assert redact_text("nothing secret here") == "nothing secret here"


def test_overlapping_secrets_never_leave_a_joined_one() -> None:
    register_secret("abcdefgh")
    register_secret("]1234567")
    assert "]1234567" not in redact_text("abcdefgh1234567")


def test_a_value_inside_the_mask_is_refused() -> None:
    with pytest.raises(ValueError, match="mask"):
        register_secret("redacted]")


def test_litellm_style_arguments_are_collected() -> None:
    collect_credentials(
        {"model": "x", "api_key": "lk-0123456789", "extra_headers": {"X-Api-Token": "tkn-abcdefgh"}}
    )
    assert redact_text("lk-0123456789 tkn-abcdefgh") == f"{MASK} {MASK}"


def test_headers_of_an_sdk_request_are_collected() -> None:
    import httpx

    request = httpx.Request(
        "POST",
        "http://x/v1",
        headers={"Authorization": "Bearer abc-DEF-123-ghi", "X-Trace": "not-a-secret-1"},
    )
    exc = httpx.HTTPStatusError("401", request=request, response=httpx.Response(401))
    collect_credentials(exc)
    assert redact_text("abc-DEF-123-ghi not-a-secret-1") == f"{MASK} not-a-secret-1"


def test_the_log_filter_masks_message_args_and_traceback() -> None:
    register_secret("pw-0123456789")
    try:
        raise RuntimeError("boom pw-0123456789")
    except RuntimeError as exc:
        record = logging.LogRecord(
            "l0", logging.ERROR, __file__, 1, "saw %s", ("pw-0123456789",), (type(exc), exc, None)
        )
    assert RedactingFilter().filter(record)
    assert record.getMessage() == f"saw {MASK}"
    assert record.exc_text is not None and "pw-0123456789" not in record.exc_text
    assert "RuntimeError" in record.exc_text


def test_redact_keeps_the_shape_of_data() -> None:
    register_secret("s3cr3t-value")
    data = {"a": ["x", ("s3cr3t-value", 1)], "b": {"s3cr3t-value"}, "c": None}
    assert redact(data) == {"a": ["x", (MASK, 1)], "b": {MASK}, "c": None}
