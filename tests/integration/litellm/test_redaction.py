"""A key echoed by the provider never leaves through the LiteLLM drop-in."""

from __future__ import annotations

import pytest

import l0
from l0.chaos import ChaosServer
from l0.integrations import litellm as l0_litellm
from l0.redaction import MASK, forget_secrets
from l0.testing import FakeClock

from .conftest import openai_kwargs

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "key", ["correct-horse-battery-staple-42", "3f2a9c1e-7b4d-4e21-9a0c-55d1e2f3a4b6"]
)
async def test_a_key_passed_as_an_argument_is_masked(key: str) -> None:
    forget_secrets()
    seen: list[l0.ObservabilityEvent] = []
    async with ChaosServer("status=401,echo_key=both") as server:
        with pytest.raises(l0.L0Error) as caught:
            await l0_litellm.acompletion(
                **{**openai_kwargs(server), "api_key": key},
                clock=FakeClock(),
                on_event=seen.append,
            )
    forget_secrets()
    cause = caught.value.__cause__
    assert cause is not None and key in str(cause)  # LiteLLM's own error carries it
    text = f"{caught.value} {caught.value!r} {caught.value.to_dict()}"
    assert key not in text and MASK in text
    assert key not in "\n".join(f"{e.name} {e.data!r}" for e in seen)
