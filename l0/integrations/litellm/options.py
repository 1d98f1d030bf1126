"""Which keyword arguments are l0's, and a clear error for a misspelt one.

``acompletion(**kwargs)`` shares its keywords with LiteLLM, which accepts any provider
parameter, so a misspelt l0 option (``fallback=``, ``retries=``, ``timeouts=``) would be sent
to the provider. A keyword is refused when it is not an l0 option, not a parameter LiteLLM
knows, and close to an l0 option; the error names the closest one. ``L0Router`` and
``L0Handler`` take l0 options only, so any unknown name is refused.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Iterable, Mapping
from typing import Any

from l0.runtime.options import OPTION_NAMES

__all__ = [
    "HANDLER_OPTIONS",
    "INTEGRATION_OWNED",
    "L0_OPTIONS",
    "check_names",
    "reject_near_misses",
]

#: Run options the integration fills in itself: ``fallbacks`` here are LiteLLM models or
#: kwargs (not l0 sources), and the adapter is LiteLLM's (or the fast lane's).
INTEGRATION_OWNED = frozenset({"fallbacks", "adapter"})

#: Keyword arguments taken by l0 in ``acompletion``/``stream``/``L0Router`` (everything else:
#: LiteLLM): every :class:`l0.RunOptions` name the integration does not fill in itself, so a
#: new run option (``record``, ``release``, ``retry_budget``, ``hedge``, …) is l0's here too
#: and never reaches the provider.
L0_OPTIONS = OPTION_NAMES - INTEGRATION_OWNED

#: Run options that do not apply to the proxy streams of ``L0Handler``: ``on_event`` is its
#: own argument; each stream gets its own id and context; ``keys``/``retry_budget`` need one
#: key per source, which the proxy's router picks per request (the handler's ``breaker`` is
#: keyed by deployment id instead); a ``hedge`` twin would share the stream's chunk relay.
_NOT_IN_PROXY = frozenset(
    {"on_event", "stream_id", "context", "keys", "breaker_keys", "retry_budget", "hedge"}
)

#: The options of ``L0Handler`` (besides ``on_event``): how proxy streams are run
#: (``fallbacks``: further proxy model groups).
HANDLER_OPTIONS = (L0_OPTIONS - _NOT_IN_PROXY) | {"fallbacks"}


def _suggest(name: str, valid: Iterable[str], cutoff: float = 0.6) -> str | None:
    close = difflib.get_close_matches(name, sorted(valid), n=1, cutoff=cutoff)
    return close[0] if close else None


def check_names(owner: str, given: Iterable[str], valid: Iterable[str]) -> None:
    """Raise ``TypeError`` for the first name of ``given`` not in ``valid``.

    The message names the closest valid option (``did you mean 'retry'?``) and lists them all.
    """
    allowed = frozenset(valid)
    for name in given:
        if name in allowed:
            continue
        close = _suggest(name, allowed)
        hint = f"; did you mean {close!r}?" if close else ""
        raise TypeError(
            f"{owner} got an unknown option {name!r}{hint} (valid: {', '.join(sorted(allowed))})"
        )


@functools.cache
def _litellm_params() -> frozenset[str]:
    """Every keyword LiteLLM itself knows (its signature and its own parameter list)."""
    import litellm
    from litellm.types.utils import all_litellm_params

    names = set(inspect.signature(litellm.acompletion).parameters)
    names.update(all_litellm_params)
    names.update({"metadata", "num_retries", "disable_fallbacks", "request_timeout"})
    return frozenset(names)


def reject_near_misses(owner: str, kwargs: Mapping[str, Any]) -> None:
    """Refuse a keyword for LiteLLM that looks like a misspelt l0 option.

    Raises:
        TypeError: Naming the keyword and the l0 option it is closest to.
    """
    ours = L0_OPTIONS | {"fallbacks", "fast_lane"}
    known = _litellm_params()
    for name in kwargs:
        if name in ours or name in known:
            continue
        close = _suggest(name, ours)
        if close is not None:
            raise TypeError(
                f"{owner} got {name!r}, which is neither an l0 option nor a LiteLLM "
                f"parameter; did you mean {close!r}? (l0 options: {', '.join(sorted(ours))}; "
                "any other keyword goes to LiteLLM)"
            )
