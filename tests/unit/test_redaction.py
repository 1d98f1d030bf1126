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
    _mask,  # the masks alone: what the pre-check must never miss
    collect_credentials,
    forget_secrets,
    may_hold_credential,
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


# Pieces of every key shape, in any case, beside what separates or hides them.
_SHAPE_PIECES = st.sampled_from(
    ["sk", "SK", "Sk", "-", "_", "bearer", "BEARER", "BeArEr", " ", "\t", "\n", "api", "API",
     "key", "KEY", "access", "token", "Token", "secret", "SECRET", "password", "=", "&", '"',
     "abc123", "XYZ789", "é", "İ", "/", ".", "~"]
)  # fmt: skip


# Whole key shapes, each letter in either case.
_KEY_SHAPES = st.builds(
    lambda shape, upper: "".join(c.upper() if u else c for c, u in zip(shape, upper, strict=False)),
    st.sampled_from(
        ["sk-abcdef123", "bearer abc.def", "bearer\tq", "api_key=zz9", "api-key=q",
         "access_token=t0k", "token=x", "secret=s", "password=p", "apikey=k"]
    ),
    st.lists(st.booleans(), min_size=16, max_size=16),
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(_SHAPE_PIECES | _KEY_SHAPES, max_size=14), secret=st.none() | _SECRET)
def test_property_the_pre_check_never_misses_what_redaction_would_mask(
    pieces: list[str], secret: str | None
) -> None:
    # ``may_hold_credential`` gates the costly masks (recordings scan every batch with it):
    # False must mean redaction leaves the text as it is.
    forget_secrets()
    if secret is not None:
        register_secret(secret)
        pieces = [*pieces[:3], secret, *pieces[3:]]
    text = "".join(pieces)
    if _mask(text) != text:
        assert may_hold_credential(text)


@pytest.mark.parametrize(
    "text",
    ["Authorization: bEaReR abc.def", "url?API-KEY=zz", "x sK-abcdefgh", "PASSWORD=hunter22"],
)
def test_the_pre_check_is_case_blind(text: str) -> None:
    assert _mask(text) != text and may_hold_credential(text)


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
