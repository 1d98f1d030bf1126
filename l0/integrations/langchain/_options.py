"""Option-name checking for the LangChain wrappers: a misspelt option is an error.

LangChain's pydantic models ignore unknown keywords (``extra="ignore"``), so
``L0Runnable(llm, retires=3)`` would silently run with the default retry policy. The wrappers
check their keywords first and name the closest valid option.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["check_option_names"]


def check_option_names(owner: str, kwargs: Mapping[str, Any], valid: Iterable[str]) -> None:
    """Raise ``TypeError`` for a keyword of ``kwargs`` that is not in ``valid``.

    Args:
        owner: The class name, for the message.
        kwargs: The keywords given.
        valid: Every accepted keyword.

    Raises:
        TypeError: Naming the unknown keyword and the closest valid one, if any.
    """
    names = sorted(set(valid))
    known = set(names)
    for key in kwargs:
        if key in known:
            continue
        close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise TypeError(
            f"{owner} got an unexpected option {key!r}{hint} (valid options: {', '.join(names)})"
        )
