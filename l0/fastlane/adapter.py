"""The adapter that reads :class:`~l0.fastlane.base.FastRequest` objects."""

from __future__ import annotations

from l0.adapters.anthropic import map_anthropic_error
from l0.adapters.base import AdapterStream
from l0.adapters.openai import map_openai_error
from l0.adapters.registry import register_adapter
from l0.errors import L0Error
from l0.fastlane.base import FastRequest, FastStream

__all__ = ["FASTLANE_ADAPTER", "FastLaneAdapter"]


def _stream_class(protocol: str) -> type[FastStream]:
    if protocol == "openai.chat":
        from l0.fastlane.chat import OpenAIChatFastStream

        return OpenAIChatFastStream
    if protocol == "openai.responses":
        from l0.fastlane.responses import OpenAIResponsesFastStream

        return OpenAIResponsesFastStream
    from l0.fastlane.messages import AnthropicFastStream

    return AnthropicFastStream


class FastLaneAdapter:
    """Opens fast-lane requests; maps the SDK's exceptions exactly as the SDK adapters do."""

    name = "fastlane"

    def detect(self, obj: object) -> bool:
        """True for a :class:`FastRequest`."""
        return isinstance(obj, FastRequest)

    def open(self, obj: object, *, keep_raw: bool = False) -> AdapterStream:
        """A :class:`FastStream` of the request's protocol (sends it on the first read)."""
        assert isinstance(obj, FastRequest)
        return _stream_class(obj.protocol)(obj, keep_raw=keep_raw)

    def map_error(self, exc: BaseException) -> L0Error | None:
        """The openai or anthropic adapter's mapping (each maps only its own SDK's types)."""
        return map_openai_error(exc) or map_anthropic_error(exc)


FASTLANE_ADAPTER = FastLaneAdapter()
register_adapter(FASTLANE_ADAPTER)
