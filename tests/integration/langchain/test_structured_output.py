"""``L0Runnable(...).with_structured_output`` behaves as LangChain's own, every method.

Real ``ChatOpenAI`` over real HTTP to the ``l0.chaos`` server; the baseline is the same model
without l0 (``streaming=True``, so both read the same streamed answer).
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.exceptions import OutputParserException
from pydantic import BaseModel

import l0
from l0.chaos import ChaosServer
from l0.integrations.langchain import L0ChatModel, L0Runnable
from l0.testing import FakeClock

from .chaos_models import chaos_openai

pytestmark = [
    pytest.mark.anyio,
    # langchain-openai's own streamed json_schema path warns (upstream, l0 or not).
    pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning"),
]

METHODS = ["json_mode", "function_calling", "json_schema"]


class City(BaseModel):
    """A city."""

    city: str


async def _outcome(runnable: Any) -> Any:
    """The value, or the exception's type and message."""
    try:
        out = await runnable.ainvoke("Which city?")
    except Exception as exc:
        return (type(exc), str(exc))
    if isinstance(out, dict):  # include_raw: the raw text, the parsed value, the error kind
        error = out["parsing_error"]
        return (out["raw"].content, out["parsed"], type(error), str(error))
    return out


@pytest.mark.parametrize("include_raw", [False, True])
@pytest.mark.parametrize("method", METHODS)
async def test_a_non_json_answer_fails_as_in_langchain(method: str, include_raw: bool) -> None:
    # The chaos answer is prose: LangChain raises (or reports the parsing error with
    # include_raw); l0 used to hand back None.
    async with ChaosServer() as server:
        plain = chaos_openai(server).with_structured_output(
            City, method=method, include_raw=include_raw
        )
        wrapped = L0Runnable(
            chaos_openai(server), retry=l0.Retry(attempts=1), clock=FakeClock()
        ).with_structured_output(City, method=method, include_raw=include_raw)
        expected, got = await _outcome(plain), await _outcome(wrapped)
    assert got == expected
    assert got is not None


async def test_json_mode_non_json_raises_output_parser_exception() -> None:
    async with ChaosServer() as server:
        runnable = L0Runnable(chaos_openai(server), clock=FakeClock()).with_structured_output(
            City, method="json_mode"
        )
        with pytest.raises(OutputParserException, match="Invalid json output"):
            await runnable.ainvoke("Which city?")


@pytest.mark.parametrize("include_raw", [False, True])
@pytest.mark.parametrize("method", METHODS)
async def test_a_dropped_json_answer_is_recovered_then_parsed(
    method: str, include_raw: bool
) -> None:
    # Only the model step is wrapped: l0 still retries under the parsers (json_schema
    # restarts: the OpenAI SDK parses each response whole, a continuation cannot parse).
    plan = "drop_after_tokens=2"
    async with ChaosServer(
        plan, answer='{"city": "Paris"}', tool_calls=[("City", {"city": "Paris"})]
    ) as server:
        runnable = L0Runnable(chaos_openai(server), clock=FakeClock()).with_structured_output(
            City, method=method, include_raw=include_raw
        )
        out = await runnable.ainvoke("Which city?")
        assert len(server.requests) == 2
    parsed = out["parsed"] if include_raw else out
    assert parsed == City(city="Paris")
    if include_raw:
        assert out["parsing_error"] is None


async def test_fallbacks_parse_with_each_models_parsers() -> None:
    async with ChaosServer("status=500", answer='{"city": "Oslo"}') as server:
        runnable = L0Runnable(
            chaos_openai(server),
            fallbacks=[chaos_openai(server)],
            retry=l0.Retry(attempts=1),
            clock=FakeClock(),
        ).with_structured_output(City, method="json_schema")
        assert await runnable.ainvoke("Which city?") == City(city="Oslo")


async def test_l0_chat_model_non_json_raises_as_langchain() -> None:
    async with ChaosServer() as server:
        runnable = L0ChatModel(chaos_openai(server), clock=FakeClock()).with_structured_output(
            City, method="json_mode"
        )
        with pytest.raises(OutputParserException, match="Invalid json output"):
            await runnable.ainvoke("Which city?")
