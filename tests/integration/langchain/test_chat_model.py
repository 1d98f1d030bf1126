"""``L0ChatModel`` beyond the standard suites: fallbacks under tools and structured output,
callbacks that see released tokens once, introspection, option checking."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableLambda
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

import l0
from l0.integrations.langchain import L0ChatModel, L0Runnable
from l0.testing import FakeClock

from .standard_provider import ANTHROPIC, OPENAI, TEXT, StandardProvider

pytestmark = pytest.mark.anyio


@pytest.fixture
def server() -> Iterator[StandardProvider]:
    with StandardProvider() as s:
        yield s


def _openai(server: StandardProvider, **kw: Any) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-4o-mini", base_url=f"{server.base_url}/v1", api_key="t", max_retries=0, **kw
    )


def _anthropic(server: StandardProvider) -> ChatAnthropic:
    return ChatAnthropic(model="claude-test", base_url=server.base_url, api_key="t", max_retries=0)


def _llm(server: StandardProvider, **kw: Any) -> L0ChatModel:
    return L0ChatModel(_openai(server), fallbacks=[_anthropic(server)], clock=FakeClock(), **kw)


class Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.starts: list[str] = []
        self.tokens: list[str] = []
        self.custom: list[str] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kw: Any) -> None:
        self.starts.append(kw.get("name") or (serialized or {}).get("name", ""))

    def on_llm_new_token(self, token: str, **kw: Any) -> None:
        self.tokens.append(token)

    def on_custom_event(self, name: str, data: Any, **kw: Any) -> None:
        self.custom.append(name)


class Weather(BaseModel):
    """The weather at a place."""

    city: str
    degrees: int


def test_is_a_chat_model_and_reports_the_primary(server: StandardProvider) -> None:
    llm = L0ChatModel(_openai(server, custom_get_token_ids=lambda text: list(range(len(text)))))
    assert isinstance(llm, BaseChatModel)
    assert llm.model_name == "gpt-4o-mini"
    assert llm._llm_type == "openai-chat"
    assert llm._get_ls_params()["ls_provider"] == "openai"
    assert llm.get_num_tokens("hello world") == 11  # the primary's own tokenizer
    assert llm.openai_api_base == f"{server.base_url}/v1"  # settings read through


def test_wrapping_a_non_chat_model_is_refused() -> None:
    with pytest.raises(ValueError, match="wraps chat models"):
        L0ChatModel(RunnableLambda(lambda x: x))  # type: ignore[arg-type]


async def test_callbacks_see_one_run_and_the_released_tokens_once(
    server: StandardProvider,
) -> None:
    server.faults[OPENAI].append("drop:4")  # a drop after a few words, then continued
    recorder = Recorder()
    chunks = [c async for c in _llm(server).astream("Hello", config={"callbacks": [recorder]})]
    assert "".join(c.text for c in chunks) == TEXT
    assert recorder.starts == ["L0ChatModel"]
    assert "".join(recorder.tokens) == TEXT
    assert [api for api, _ in server.requests] == [OPENAI, OPENAI]


async def test_invoke_reports_l0_events_under_the_chat_model_run(
    server: StandardProvider,
) -> None:
    server.faults[OPENAI].append("drop:4")
    recorder = Recorder()
    message = await _llm(server).ainvoke("Hello", config={"callbacks": [recorder]})
    assert message.content == TEXT
    assert recorder.starts == ["L0ChatModel"]
    assert recorder.custom == ["l0_retry", "l0_resume"]


def test_bind_tools_formats_tools_for_each_model_and_falls_back(
    server: StandardProvider,
) -> None:
    server.faults[OPENAI].append("status:401")
    llm = _llm(server).bind_tools([Weather], tool_choice="Weather")
    message = llm.invoke("Weather in 'Oslo' at 12 degrees?")
    assert message.tool_calls[0]["name"] == "Weather"
    assert message.tool_calls[0]["args"] == {"city": "Oslo", "degrees": 12}
    (_, oa), (_, an) = server.requests
    assert oa["tools"][0]["function"]["name"] == "Weather"  # OpenAI's format
    assert an["tools"][0]["name"] == "Weather"  # Anthropic's format
    assert an["tool_choice"] == {"type": "tool", "name": "Weather"}


@pytest.mark.parametrize("method", ["function_calling", "json_schema"])
@pytest.mark.parametrize("include_raw", [False, True])
async def test_structured_output_every_method_with_a_fallback(
    server: StandardProvider, method: str, include_raw: bool
) -> None:
    server.faults[OPENAI].append("status:401")
    chat = _llm(server).with_structured_output(Weather, method=method, include_raw=include_raw)
    out = await chat.ainvoke("Weather in 'Oslo' at 12 degrees?")
    parsed = out["parsed"] if include_raw else out
    assert parsed == Weather(city="Oslo", degrees=12)
    assert [api for api, _ in server.requests] == [OPENAI, ANTHROPIC]


def test_for_class_routes_keywords(server: StandardProvider) -> None:
    cls = L0ChatModel.for_class(ChatOpenAI, retry=l0.Retry(attempts=5))
    recorder = Recorder()
    llm = cls(
        model="gpt-4o-mini",
        base_url=f"{server.base_url}/v1",
        api_key="t",
        temperature=0.5,
        callbacks=[recorder],
    )
    assert isinstance(llm, L0ChatModel)
    assert cls.__name__ == "L0ChatOpenAI"
    assert llm.retry == l0.Retry(attempts=5)
    assert llm.primary.temperature == 0.5
    assert llm.primary.callbacks is None  # run-level fields configure the wrapper
    assert llm.invoke("Hello").content == TEXT
    assert recorder.starts == ["L0ChatOpenAI"]


# -- misspelt options -------------------------------------------------------------------------

MISSPELT = [("fallback", "fallbacks"), ("retires", "retry"), ("timeouts", "timeout")]


@pytest.mark.parametrize(("wrong", "right"), MISSPELT)
def test_misspelt_options_name_the_closest(wrong: str, right: str) -> None:
    llm = ChatOpenAI(model="gpt-4o-mini", api_key="t")
    for make in (
        lambda: L0ChatModel(llm, **{wrong: None}),
        lambda: L0Runnable(llm, **{wrong: None}),
        lambda: L0ChatModel.for_class(ChatOpenAI, **{wrong: None}),
    ):
        with pytest.raises(TypeError, match=f"unexpected option '{wrong}'; did you mean '{right}'"):
            make()


@pytest.mark.parametrize("name", sorted(L0ChatModel.L0_OPTIONS))
def test_every_option_cut_short_points_back_to_it(name: str) -> None:
    llm = ChatOpenAI(model="gpt-4o-mini", api_key="t")
    for make in (
        lambda: L0ChatModel(llm, **{name[:-1]: None}),
        lambda: L0Runnable(llm, **{name[:-1]: None}),
    ):
        with pytest.raises(TypeError, match=f"did you mean '{name}'"):
            make()
