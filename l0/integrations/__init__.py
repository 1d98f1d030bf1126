"""Integrations with the frameworks l0 plugs into: ``l0.integrations.langchain``
(``L0Runnable``) and ``l0.integrations.fastapi`` (``l0_stream``).

Each sub-package imports its framework only when imported itself, and names the extra to
install (``pip install 'l0[langchain]'``) when it is missing.
"""
