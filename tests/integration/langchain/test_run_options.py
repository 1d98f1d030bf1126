"""Every applicable l0 run option reaches the l0 run behind ``L0Runnable``/``L0ChatModel``:
``record=`` (replayed identical), ``context=`` and the wrapped model's name on the spans.

Real ``ChatOpenAI`` over real HTTP to the ``l0.chaos`` server; real opentelemetry-sdk.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda

import l0
from l0.chaos import ChaosServer
from l0.integrations.langchain import L0ChatModel, L0Runnable
from l0.integrations.langchain._options import NOT_APPLICABLE, L0Options
from l0.runtime.options import OPTION_NAMES
from l0.testing import FakeClock
from tests.integration.observability.conftest import Otel, make_otel

from .chaos_models import chaos_openai

pytestmark = pytest.mark.anyio

PLAN = "drop_after_tokens=5"


def test_the_wrappers_take_every_core_option_that_applies() -> None:
    # Derived from the core's names: a new l0 option is either added here or excluded
    # with a reason.
    assert set(L0Options.model_fields) == OPTION_NAMES - set(NOT_APPLICABLE)
    for cls in (L0Runnable, L0ChatModel):
        assert set(L0Options.model_fields) <= set(cls.model_fields)
    assert set(L0ChatModel.L0_OPTIONS) == OPTION_NAMES - set(NOT_APPLICABLE)


def test_a_misspelt_option_still_names_the_closest() -> None:
    with pytest.raises(TypeError, match="did you mean 'record'"):
        L0Runnable(None, recrod=l0.MemoryStore())


@pytest.mark.parametrize(
    "wrapper", ["runnable", "chat_model", "configurable", "configurable_chat_model_step"]
)
async def test_a_recorded_langchain_run_replays_identical(wrapper: str) -> None:
    store = l0.MemoryStore()
    async with ChaosServer(PLAN) as server:
        config: Any = None
        if wrapper == "runnable":
            runnable: Any = L0Runnable(chaos_openai(server), record=store, clock=FakeClock())
        elif wrapper == "chat_model":
            runnable = L0ChatModel(chaos_openai(server), record=store, clock=FakeClock())
        elif wrapper == "configurable":
            runnable = L0Runnable(chaos_openai(server), clock=FakeClock())
            config = {"configurable": {"record": store}}
        else:  # a chat-model step reads the chain's configurable
            runnable = RunnableLambda(lambda x: x) | L0ChatModel(
                chaos_openai(server), clock=FakeClock()
            )
            config = {"configurable": {"record": store}}
        chunks = [c.content async for c in runnable.astream("Tell me", config)]
        assert len(server.requests) == 2  # the drop was continued
    (key,) = store.keys()
    replayed = await l0.replay(store, key)
    assert replayed.identical, replayed.first_difference
    assert replayed.result is not None and replayed.result.text == "".join(chunks)


async def test_an_l0_chat_model_run_span_names_the_wrapped_model() -> None:
    otel: Otel = make_otel()
    try:
        async with ChaosServer() as server:
            llm = L0ChatModel(chaos_openai(server, "gpt-4.1-nano"), on_event=otel.handler)
            await llm.ainvoke("Tell me")
        run = otel.span("chat gpt-4.1-nano")
        attrs = dict(run.attributes or {})
        assert attrs["gen_ai.request.model"] == "gpt-4.1-nano"
        assert attrs["gen_ai.provider.name"] == "openai"
    finally:
        otel.tracer_provider.shutdown()


async def test_the_model_of_a_wrapped_chain_names_the_span_and_context_wins() -> None:
    otel: Otel = make_otel()
    try:
        async with ChaosServer() as server:
            chain = (
                ChatPromptTemplate.from_template("{q}") | chaos_openai(server) | StrOutputParser()
            )
            await L0Runnable(chain, on_event=otel.handler).ainvoke({"q": "hi"})
            await L0Runnable(
                chaos_openai(server), on_event=otel.handler, context={"model": "mine", "team": "a"}
            ).ainvoke("hi")
        assert dict(otel.span("chat gpt-4o-mini").attributes or {})["gen_ai.provider.name"] == (
            "openai"
        )
        assert dict(otel.span("chat mine").attributes or {})["gen_ai.request.model"] == "mine"
    finally:
        otel.tracer_provider.shutdown()
