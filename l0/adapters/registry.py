"""Find the adapter for a stream: an explicit ``adapter=`` wins, else detection by type."""

from __future__ import annotations

import importlib
import threading

from l0.adapters.base import Adapter
from l0.adapters.text import TEXT_ADAPTER, use_registry
from l0.errors import ErrorCode, InvalidStreamError, L0Error

__all__ = [
    "detect_adapter",
    "get_adapter",
    "map_provider_error",
    "register_adapter",
    "registered_adapters",
]

# Built-in provider adapters, loaded on first lookup. Their modules import no SDK: detection
# checks ``sys.modules``, since an object of an SDK that was never imported cannot exist.
_BUILTINS = (
    "l0.adapters.openai",
    "l0.adapters.anthropic",
    "l0.adapters.litellm",
    "l0.adapters.langchain",
)

_lock = threading.Lock()
_adapters: list[tuple[int, int, Adapter]] = []  # (priority, insertion order, adapter)
_builtins_loaded = False
_order: tuple[Adapter, ...] | None = None  # detection order, rebuilt after each change


def register_adapter(adapter: Adapter, *, priority: int = 0, replace: bool = False) -> None:
    """Add ``adapter`` to the registry; higher ``priority`` is tried first.

    Raises:
        TypeError: When ``adapter`` does not implement :class:`~l0.adapters.Adapter`.
        ValueError: When an adapter of that name exists and ``replace`` is False.
    """
    if not isinstance(adapter, Adapter):
        raise TypeError(f"{adapter!r} is not an l0 adapter (needs name, detect, open, map_error)")
    with _lock:
        existing = [a for a in _adapters if a[2].name == adapter.name]
        if existing and not replace:
            raise ValueError(f"an adapter named {adapter.name!r} is already registered")
        for item in existing:
            _adapters.remove(item)
        _adapters.append((priority, len(_adapters), adapter))
        _adapters.sort(key=lambda a: (-a[0], a[1]))
        global _order
        _order = None


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    for name in _BUILTINS:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def _ordered() -> tuple[Adapter, ...]:
    global _order
    order = _order
    if order is None:
        _load_builtins()
        order = _order = (*(a for _, _, a in _adapters), TEXT_ADAPTER)
    return order


def registered_adapters() -> list[Adapter]:
    """Every registered adapter, in detection order (the text adapter comes last)."""
    return list(_ordered())


use_registry(_ordered)


def map_provider_error(exc: BaseException) -> L0Error | None:
    """Ask every provider adapter to map ``exc`` (each maps only its own SDK's types); for an
    error met before any adapter was detected (the factory's own request failed).
    ``None`` when none does (the generic classifier decides then)."""
    for adapter in _ordered():
        if adapter is not TEXT_ADAPTER:
            mapped = adapter.map_error(exc)
            if mapped is not None:
                return mapped
    return None


def get_adapter(name: str) -> Adapter:
    """The registered adapter called ``name``.

    Raises:
        InvalidStreamError: (code ``ADAPTER_NOT_FOUND``) when there is none.
    """
    for adapter in registered_adapters():
        if adapter.name == name:
            return adapter
    known = ", ".join(a.name for a in registered_adapters())
    raise InvalidStreamError(
        f"no adapter named {name!r} (registered: {known})", code=ErrorCode.ADAPTER_NOT_FOUND
    )


def _refuse_complete_response(obj: object) -> None:
    """Raise when ``obj`` is a finished response (a pydantic model), not a stream.

    Iterating a pydantic model yields ``(field, value)`` tuples, so without this check the
    call that forgot ``stream=True`` would fail later with a puzzling "yielded tuple".
    """
    cls = type(obj)
    if getattr(cls, "model_fields", None) is None or hasattr(cls, "__next__"):
        return
    raise InvalidStreamError(
        f"the source returned a complete, non-streaming response ({cls.__qualname__}), not a "
        "stream: pass stream=True to the SDK call (LangChain: .astream() / .stream(), not "
        ".ainvoke()), or return an iterable of str",
        code=ErrorCode.INVALID_STREAM,
    )


def detect_adapter(obj: object) -> Adapter:
    """The first registered adapter whose ``detect`` accepts ``obj``.

    Raises:
        InvalidStreamError: (code ``INVALID_STREAM``) when none does: ``obj`` is not a
            stream l0 can read (``ADAPTER_NOT_FOUND`` is for an unknown adapter *name*).
    """
    for adapter in _ordered():
        if adapter is TEXT_ADAPTER:
            _refuse_complete_response(obj)
        if adapter.detect(obj):
            return adapter
    raise InvalidStreamError(
        f"no adapter can read a {type(obj).__module__}.{type(obj).__qualname__}: "
        "return an async iterable of str/l0.Event or a provider SDK stream, or pass adapter=",
        code=ErrorCode.INVALID_STREAM,
    )
