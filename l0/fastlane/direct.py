"""The openai fast lane's request, sent without the SDK's per-request argument transform.

The openai SDK's typed ``create`` builds its JSON body by running every keyword argument
through a TypedDict-driven transform (aliases, date and file formats, pydantic models,
iterables to lists), then calls ``client.post`` with the path, that body, the request options
(``extra_headers``/``extra_query``/``extra_body``/``timeout`` and the endpoint's auth
``security``), the response class and the stream class. The transform walks the whole
argument tree against the params' unions: about 0.2 ms for one short message, about 3 ms for
a 20-message conversation with five tools, per request (openai 3.57, measured here).

For arguments that are already plain JSON (``dict`` with ``str`` keys, ``list``, ``str``,
``int``, ``float``, ``bool``, ``None``: exactly these types, no subclasses) the transform is the
identity as long as the params' TypedDicts declare no alias — formats only touch dates and
files, which plain JSON has none of. So for such arguments :func:`open_direct` makes the call
``create`` would make: ``client.post`` with the same path, body, options, response class and
stream class, through the user's client (its auth, base URL, headers, retries, timeouts, HTTP
client, and the SDK's own status errors). Anything else returns ``None`` and the caller uses
the typed ``with_streaming_response.create``: an argument that is not plain JSON or not a
``create`` parameter, a params type with an alias anywhere (checked once per process), an SDK
without the ``security`` request option, or a ``create`` replaced on the resource (an
instrumentation wrapper, a subclass) — so a wrapper still sees every request.

The body's keys are the caller's, in the caller's order, plus ``"stream": true`` (the typed
``create`` orders them its own way; JSON objects are unordered).
"""

from __future__ import annotations

import inspect
import os
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from typing_extensions import is_typeddict

__all__ = ["DirectRoute", "direct_body", "open_direct", "plain_json"]

_OPTIONS = ("extra_headers", "extra_query", "extra_body", "timeout")
"""``create`` arguments that become request options, passed to the SDK's own
``make_request_options`` untransformed (as ``create`` passes them)."""
_SCALARS = (str, int, float, bool, type(None))


def plain_json(value: Any) -> bool:
    """Whether ``value`` is plain JSON: exactly ``dict`` (``str`` keys), ``list``, ``str``,
    ``int``, ``float``, ``bool`` or ``None``, all the way down."""
    cls = value.__class__
    if cls is dict:
        return all(k.__class__ is str and plain_json(v) for k, v in value.items())
    if cls is list:
        return all(plain_json(v) for v in value)
    return cls in _SCALARS


@dataclass(frozen=True, slots=True)
class DirectRoute:
    """What an endpoint's typed ``create`` passes to ``client.post``.

    Attributes:
        resource: The client attributes leading to the resource (``("chat", "completions")``).
        path: The request path.
        imports: Returns (the async resource class, the streaming params TypedDict, the
            response class and the stream class ``create`` passes).
    """

    resource: tuple[str, ...]
    path: str
    imports: Callable[[], tuple[type, Any, Any, Any]]


@dataclass(frozen=True, slots=True)
class _Ready:
    cast_to: Any
    stream_cls: Any
    names: frozenset[str]
    """``create``'s body parameters."""
    required: frozenset[str]
    """Those without a default."""
    creates: set[Any]
    """``create`` functions seen and found to be the SDK's own."""


_READY: dict[DirectRoute, _Ready | None] = {}
"""Per route, once: what the direct call needs, or None when it is not known to equal the
typed call on this SDK."""


def open_direct(client: Any, route: DirectRoute, kwargs: dict[str, Any]) -> Any:
    """The SDK's streamed response context for ``kwargs``, posted directly (see the module
    docstring), or ``None`` when the typed ``create`` must build it."""
    ready = _ready(route)
    body = direct_body(client, route, kwargs)
    if ready is None or body is None:
        return None
    from openai import NOT_GIVEN
    from openai._base_client import make_request_options
    from openai._constants import RAW_RESPONSE_HEADER

    headers = {**(kwargs.get("extra_headers") or {}), RAW_RESPONSE_HEADER: "stream"}
    options = make_request_options(
        extra_headers=headers,
        extra_query=kwargs.get("extra_query"),
        extra_body=kwargs.get("extra_body"),
        timeout=kwargs.get("timeout", NOT_GIVEN),
        security={"bearer_auth": True},
    )
    request = client.post(
        route.path,
        cast_to=ready.cast_to,
        body=body,
        options=options,
        stream=True,
        stream_cls=ready.stream_cls,
    )
    return _Opened(request)


def direct_body(client: Any, route: DirectRoute, kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON body the typed ``create`` would build from ``kwargs`` when it can be sent
    directly (see the module docstring), else ``None``."""
    ready = _ready(route)
    if ready is None or not ready.required <= kwargs.keys():
        return None  # missing arguments: the typed call raises the SDK's TypeError
    resource = client
    for name in route.resource:
        resource = getattr(resource, name)
    create = getattr(type(resource), "create", None)
    if "create" in vars(resource) or not _sdk_own(create, ready.creates):
        return None  # create is wrapped or overridden: let it see the request
    body: dict[str, Any] = {}
    names = ready.names
    for key, value in kwargs.items():
        if key in names:
            if not plain_json(value):
                return None
            body[key] = value
        elif key not in _OPTIONS:
            return None  # not a create argument: the typed call raises the SDK's TypeError
    body["stream"] = True
    return body


def _ready(route: DirectRoute) -> _Ready | None:
    try:
        return _READY[route]
    except KeyError:
        ready = _READY[route] = _prepare(route)
        return ready


def _prepare(route: DirectRoute) -> _Ready | None:
    """What the direct call needs, or None when this SDK's typed call may differ from it."""
    try:
        from openai._base_client import make_request_options
        from openai._constants import RAW_RESPONSE_HEADER  # noqa: F401 - must exist
        from openai._utils._transform import PropertyInfo

        if "security" not in inspect.signature(make_request_options).parameters:
            return None
        resource_cls, params, cast_to, stream_cls = route.imports()
        if _has_alias(params, PropertyInfo, set()):
            return None
        create = vars(resource_cls)["create"]
        if not _sdk_own(create, set()):
            return None  # already replaced (an instrumentation wrapper): stay typed
        signature = inspect.signature(create).parameters
        names = frozenset(signature) - {"self", "stream", *_OPTIONS}
        required = frozenset(n for n in names if signature[n].default is inspect.Parameter.empty)
        return _Ready(cast_to, stream_cls, names, required, {create})
    except Exception:  # an SDK generation this module does not know: the typed call
        return None


def _sdk_own(create: Any, known: set[Any]) -> bool:
    """Whether ``create`` is the SDK's own method: plain functions defined in the openai
    package all the way down its ``__wrapped__`` chain (the SDK's ``required_args``), ending
    in a ``create``."""
    if create in known:
        return True
    import openai

    home = os.path.dirname(openai.__file__) + os.sep
    layer = create
    while True:
        if type(layer) is not types.FunctionType or not layer.__code__.co_filename.startswith(home):
            return False
        inner = getattr(layer, "__wrapped__", None)
        if inner is None:
            break
        layer = inner
    if not layer.__qualname__.endswith(".create"):
        return False
    known.add(create)
    return True


def _has_alias(tp: Any, info: type, seen: set[int]) -> bool:
    """Whether a ``PropertyInfo(alias=…)`` annotates anything reachable from ``tp``."""
    if id(tp) in seen:
        return False
    seen.add(id(tp))
    if is_typeddict(tp):
        hints = typing.get_type_hints(tp, include_extras=True)
        return any(_has_alias(hint, info, seen) for hint in hints.values())
    if typing.get_origin(tp) is typing.Annotated:
        if any(
            isinstance(m, info) and getattr(m, "alias", None) is not None for m in tp.__metadata__
        ):
            return True
        return _has_alias(typing.get_args(tp)[0], info, seen)
    return any(_has_alias(arg, info, seen) for arg in typing.get_args(tp))


class _Opened:
    """``async with``: await the SDK's response on entry, close it on exit (as the SDK's
    ``AsyncResponseContextManager`` does)."""

    __slots__ = ("_request", "_response")

    def __init__(self, request: Any) -> None:
        self._request = request
        self._response: Any = None

    async def __aenter__(self) -> Any:
        self._response = await self._request
        return self._response

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._response is not None:
            await self._response.close()
