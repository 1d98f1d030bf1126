"""Integrations of l0 with other stacks: ``langchain``, ``litellm`` and ``fastapi``.

Each sub-package imports its framework only when imported itself.
"""
