"""Integrations with the frameworks l0 plugs into: ``l0.integrations.langchain``,
``l0.integrations.litellm`` and ``l0.integrations.fastapi`` (each needs its extra)."""
