"""Attribute access over parsed JSON, so the SDK adapters' decoders read fast-lane events."""

from __future__ import annotations

from typing import Any

__all__ = ["AttrDict", "attr"]


class AttrDict(dict[str, Any]):
    """A parsed JSON object whose keys read as attributes (a missing key is a missing
    attribute, as on an SDK model built from the same JSON); nested objects are wrapped on
    access. ``model_dump`` gives the plain dict, as the SDK model's would."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return attr(self[name])
        except KeyError:
            raise AttributeError(name) from None

    def model_dump(self) -> dict[str, Any]:
        """The object as a plain dict."""
        return dict(self)


def attr(value: Any) -> Any:
    """``value`` with a dict wrapped as an :class:`AttrDict`, lists' dicts too."""
    if value.__class__ is dict:
        return AttrDict(value)
    if value.__class__ is list:
        return [attr(v) for v in value]
    return value
