"""LangChain's own standard suites (``langchain-tests``) for ``L0ChatModel``.

``ChatModelUnitTests`` and ``ChatModelIntegrationTests`` run on ``L0ChatModel`` around
``ChatOpenAI`` and around ``ChatAnthropic`` (built by :meth:`L0ChatModel.for_class`, so the
suites construct them from keywords as they construct any chat model), and, side by side on
the same backend, on plain ``ChatOpenAI`` / ``ChatAnthropic``: whatever the plain model
passes, the wrapper must pass too.

Backend: :mod:`.standard_provider`, a deterministic OpenAI/Anthropic-compatible server on
127.0.0.1 driven through the real SDKs over real HTTP (no network).

Skips, all by the suites' own switches (``pytest -rs`` prints each reason), the same for the
wrapper and the plain model except ``test_serdes``:

- image, PDF, audio and video inputs (``supports_*_inputs`` off): those tests download their
  media from the internet, which the tests never reach;
- ``test_serdes`` for ``L0ChatModel``: it is not LangChain-serializable (it holds callables
  such as ``on_event`` and a clock), so the suite skips it (the plain models' serialization
  is checked against ``__snapshots__/``);
- ``test_stream_time``: a VCR benchmark (``enable_vcr_tests`` off; benchmarks live in
  ``benchmarks/``);
- ``test_json_mode`` for Anthropic (no JSON mode in the Anthropic API);
  ``test_anthropic_inputs`` for OpenAI (Anthropic-format content blocks are Anthropic's).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from l0.integrations.langchain import L0ChatModel

from .standard_provider import StandardProvider

pytestmark = [
    # The suites' async tests carry no marker of their own; run them with anyio (asyncio).
    pytest.mark.anyio,
    # Warnings the *plain* models emit on the suites' deliberate probes (library code):
    # pydantic serializing ChatOpenAI's `parsed` object, langchain-openai switching a
    # pydantic-v1 schema to function calling, langchain-anthropic mapping `json_mode`.
    pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning"),
    pytest.mark.filterwarnings("ignore:Received a Pydantic BaseModel V1 schema:UserWarning"),
    pytest.mark.filterwarnings("ignore:Unrecognized structured output method:UserWarning"),
]

L0ChatOpenAI = L0ChatModel.for_class(ChatOpenAI)
L0ChatAnthropic = L0ChatModel.for_class(ChatAnthropic)

_URL: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def provider() -> Iterator[StandardProvider]:
    with StandardProvider() as server:
        _URL["base"] = server.base_url
        yield server


def _base_url(test: object) -> str:
    """The provider's URL; the unit suites never connect, so theirs is fixed (it shows in
    the baseline's serialization snapshot)."""
    if isinstance(test, ChatModelUnitTests):
        return "http://127.0.0.1:9"
    return _URL["base"]


class _OpenAI:
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": "gpt-4o-mini",
            "base_url": f"{_base_url(self)}/v1",
            "api_key": "test",
            "stream_usage": True,  # default only for api.openai.com
        }

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"OPENAI_API_KEY": "api_key"},
            {"model": "gpt-4o-mini"},
            {"openai_api_key": "api_key"},
        )

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "gpt-4o-mini-override"


class _Anthropic:
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": "claude-test",
            "base_url": _base_url(self),
            "api_key": "test",
        }

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        env = {"ANTHROPIC_API_KEY": "api_key"}
        return env, {"model": "claude-test"}, {"anthropic_api_key": "api_key"}

    @property
    def supports_anthropic_inputs(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "claude-test-override"


# -- L0ChatModel ------------------------------------------------------------------------------


class TestL0ChatOpenAIUnit(_OpenAI, ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return L0ChatOpenAI


class TestL0ChatOpenAIIntegration(_OpenAI, ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return L0ChatOpenAI


class TestL0ChatAnthropicUnit(_Anthropic, ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return L0ChatAnthropic


class TestL0ChatAnthropicIntegration(_Anthropic, ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return L0ChatAnthropic


# -- the plain models on the same backend (the baseline) --------------------------------------


class TestPlainChatOpenAIUnit(_OpenAI, ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatOpenAI


class TestPlainChatOpenAIIntegration(_OpenAI, ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatOpenAI


class TestPlainChatAnthropicUnit(_Anthropic, ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatAnthropic


class TestPlainChatAnthropicIntegration(_Anthropic, ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatAnthropic
