"""Adapters turn provider streams (OpenAI, Anthropic, LiteLLM, LangChain, plain text) into
l0 events. Detection is by type; ``adapter=`` on :func:`l0.run` overrides it.

The provider adapters (``l0.adapters.openai``, ``.anthropic``, ``.litellm``) load on first
detection and never import their SDK themselves.
"""

from l0.adapters._common import RefusalError
from l0.adapters.base import Adapter, AdapterStream, ChunkAdapter
from l0.adapters.registry import (
    chunk_adapter,
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
    "ChunkAdapter",
    "RefusalError",
    "TextAdapter",
    "chunk_adapter",
    "detect_adapter",
    "get_adapter",
    "register_adapter",
    "registered_adapters",
]
