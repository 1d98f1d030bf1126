"""What the docs' placeholder names stand for when their blocks run.

A block uses names it does not define (``source``, ``client``, ``prompt``…): a reader brings
their own. Here each is a real thing pointed at the chaos server, built only when a block
uses the name and the file has not defined it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

import l0
from l0.chaos import DEFAULT_ANSWER, ChaosRequest, ChaosServer

CITY = {"name": "Oslo", "population": 709000}
CITIES = [CITY, {"name": "Bergen", "population": 291000}]


def answer(request: ChaosRequest) -> str:
    """The server's answer: JSON when the prompt asks for it, else the default story."""
    body = request.body if isinstance(request.body, dict) else {}
    prompt = json.dumps(body.get("messages") or body.get("input") or "")
    if "JSON list" in prompt:
        return json.dumps(CITIES)
    if "JSON" in prompt:
        return json.dumps(CITY)
    if "Say Hello" in prompt:
        return "Hello"
    return DEFAULT_ANSWER


def environment(server: ChaosServer) -> dict[str, str]:
    """Environment variables that point every SDK's default client at ``server``."""
    return {
        "OPENAI_BASE_URL": server.openai_base_url,
        "OPENAI_API_BASE": server.openai_base_url,
        "OPENAI_API_KEY": "sk-docs-test",
        "ANTHROPIC_BASE_URL": server.anthropic_base_url,
        "ANTHROPIC_API_URL": server.anthropic_base_url,
        "ANTHROPIC_API_BASE": server.anthropic_base_url,
        "ANTHROPIC_API_KEY": "sk-ant-docs-test",
    }


class _Names:
    """The placeholders, built lazily against one server."""

    def __init__(self, server: ChaosServer, opened: list[Any]) -> None:
        self.server = server
        self.opened = opened

    def _openai(self) -> Any:
        from openai import AsyncOpenAI

        client = AsyncOpenAI(base_url=self.server.openai_base_url, api_key="test", max_retries=0)
        self.opened.append(client)
        return client

    def _anthropic(self) -> Any:
        from anthropic import AsyncAnthropic

        client = AsyncAnthropic(
            base_url=self.server.anthropic_base_url, api_key="test", max_retries=0
        )
        self.opened.append(client)
        return client

    def ask(self, prompt: str) -> Callable[[l0.Attempt], Any]:
        client = self._openai()
        messages = [{"role": "user", "content": prompt}]
        return lambda attempt: client.chat.completions.create(
            model="m", messages=attempt.continuation_messages(messages), stream=True
        )

    def structured_source(self, prompt: str) -> Callable[[l0.StructuredAttempt], Any]:
        client = self._openai()
        messages = [{"role": "user", "content": prompt}]
        return lambda attempt: client.chat.completions.create(
            model="m", messages=attempt.retry_messages(messages), stream=True
        )

    def chat_model(self) -> Any:
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            model="chaos", base_url=self.server.openai_base_url, api_key="test", max_retries=0
        )

    def build(self, name: str) -> Any:
        """The placeholder called ``name``; KeyError when there is none."""
        return _BUILDERS[name](self)


def _step(names: _Names) -> Callable[..., Any]:
    return lambda text, ctx: names.ask(f"Continue: {text}")


async def _call_the_provider() -> str:
    return "an answer"


def _prompt(names: _Names) -> Any:
    from langchain_core.prompts import ChatPromptTemplate

    return ChatPromptTemplate.from_messages([("user", "{question}")])


async def _hello_stream() -> Any:
    for token in ("Hel", "lo"):
        yield token


class _ChatIn(BaseModel):
    messages: list[dict[str, Any]]


class _Weather(BaseModel):
    location: str
    forecast: str


_BUILDERS: dict[str, Callable[[_Names], Any]] = {
    "source": lambda n: n.ask("Tell me a story"),
    "backup_source": lambda n: n.ask("Tell me a story"),
    "primary": lambda n: n.ask("Tell me a story"),
    "backup": lambda n: n.ask("Tell me a story"),
    **{name: (lambda n: n.ask("Tell me a story")) for name in ("src_a", "src_b", "src_c")},
    **{name: (lambda n: n.ask("Tell me a story")) for name in ("m1", "m2", "m3")},
    "ask_fast_model": lambda n: n.ask("Tell me a story"),
    "ask_big_model": lambda n: n.ask("Tell me a story"),
    "ask": lambda n: n.ask,
    "ask_other_model": lambda n: n.ask,
    "outline_step": _step,
    "draft_step": _step,
    "city_source": lambda n: n.structured_source("Oslo as JSON"),
    "cities_source": lambda n: n.structured_source("Norway's cities as a JSON list"),
    "client": lambda n: n._openai(),
    "openai_client": lambda n: n._openai(),
    "anthropic_client": lambda n: n._anthropic(),
    "messages": lambda n: [{"role": "user", "content": "Tell me a story"}],
    "msgs": lambda n: [{"role": "user", "content": "Tell me a story"}],
    "questions": lambda n: ["What is TCP?", "What is UDP?"],
    "q": lambda n: "What is TCP?",
    "article": lambda n: "TCP slow start doubles the window every round trip.",
    "other_article": lambda n: "UDP has no congestion control.",
    "long_document": lambda n: "A paragraph of a long document. " * 2000,
    "use": lambda n: print,
    "render": lambda n: lambda value: None,
    "clear_screen": lambda n: lambda discard: None,
    "my_handler": lambda n: lambda event: None,
    "log": lambda n: lambda event: None,
    "call_the_provider": lambda n: _call_the_provider,
    "ChatIn": lambda n: _ChatIn,
    "Weather": lambda n: _Weather,
    "prompt": _prompt,
    "gpt": lambda n: n.chat_model(),
    "claude": lambda n: n.chat_model(),
    "my_adapter": lambda n: l0.adapters.TEXT_ADAPTER,
    "make_stream": lambda n: _hello_stream,
}

# In README.md `race([gpt, claude])` races two sources; in docs/langchain.md they are models.
_PER_FILE: dict[str, dict[str, Callable[[_Names], Any]]] = {
    "README.md": {
        "gpt": lambda n: n.ask("Tell me a story"),
        "claude": lambda n: n.ask("Tell me a story"),
    },
}


def placeholder(server: ChaosServer, doc: str, name: str, opened: list[Any]) -> Any:
    """The value of placeholder ``name`` in document ``doc``; KeyError when there is none.

    SDK clients it creates are appended to ``opened`` (the caller closes them).
    """
    names = _Names(server, opened)
    builder = _PER_FILE.get(doc, {}).get(name) or _BUILDERS[name]
    return builder(names)
