"""Adapters turn provider streams (OpenAI, Anthropic, LiteLLM, LangChain, plain text) into
l0 events. Detection is by type; ``adapter=`` on :func:`l0.run` overrides it."""

from l0.adapters._common import RefusalError
from l0.adapters.base import Adapter, AdapterStream
from l0.adapters.registry import (
    detect_adapter,
    get_adapter,
    register_adapter,
    registered_adapters,
)
from l0.adapters.text import TEXT_ADAPTER, TextAdapter

__all__ = [
    "TEXT_ADAPTER",
    "Adapter",
    "AdapterStream",
    "RefusalError",
    "TextAdapter",
    "detect_adapter",
    "get_adapter",
    "register_adapter",
    "registered_adapters",
]
