"""Whether a source factory receives the :class:`~l0.types.Attempt`: one rule, two readers.

The rule: the factory is called with the ``Attempt`` when its first positional parameter is
**required**, or when that parameter (or ``*args``, when there is no positional parameter)
is **annotated** ``l0.Attempt`` (``Attempt | None`` counts). Otherwise it is called with no
argument. So ``lambda attempt: ...`` and ``def f(a: l0.Attempt = None)`` receive it, while the
late-binding idiom ``lambda p=p: gen(p)``, ``def f(x=1)``, ``lambda *a: ...`` and
``lambda **kw: ...`` do not.

A factory that needs more than one positional argument, or a keyword-only argument without
a default, cannot be called either way: :func:`takes_attempt` raises ``TypeError``.

Plain functions and lambdas (the common case) are read from their code object, without
``inspect.signature``; everything else (methods, partials, classes, objects with
``__call__``) through ``inspect.signature``. Both readers apply the same rule (a test checks
that they agree).
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Any

from l0.types import Attempt

__all__ = ["takes_attempt"]

_VARARGS = inspect.CO_VARARGS
_NAMED_ATTEMPT = re.compile(r"(?<![\w.])(?:[\w]+\.)*Attempt\b")


def is_attempt_annotation(annotation: object) -> bool:
    """True for ``Attempt``, a union containing it, or a string annotation naming it."""
    if annotation is Attempt:
        return True
    if isinstance(annotation, str):
        return _NAMED_ATTEMPT.search(annotation) is not None
    return Attempt in typing.get_args(annotation)


def _error(label: str, detail: str) -> TypeError:
    return TypeError(
        f"{label} must take no argument or one l0.Attempt (its first positional parameter); "
        f"{detail}"
    )


def _check_annotation(annotation: object, fn: object, label: str, name: str | None = None) -> None:
    """Raise when a required first parameter is annotated as something other than an Attempt.

    ``def gen(prompt: str)`` passed as the source would be called with the ``l0.Attempt``
    in place of the prompt; say so up front instead of failing on what it yields.
    """
    if annotation is None or annotation is inspect.Parameter.empty:
        return
    if annotation in (Any, object, "Any", "object", "typing.Any"):
        return
    if isinstance(annotation, str):
        if "Attempt" in annotation:
            return
    elif isinstance(annotation, type):
        if issubclass(annotation, Attempt):
            return
    elif any(isinstance(a, type) and issubclass(a, Attempt) for a in typing.get_args(annotation)):
        return
    if name is None:
        code = getattr(fn, "__code__", None)
        name = code.co_varnames[0] if code is not None else "?"
    shown = (
        annotation if isinstance(annotation, str) else getattr(annotation, "__name__", annotation)
    )
    fname = getattr(fn, "__name__", "source")
    raise _error(
        label,
        f"its first parameter {name!r} is annotated {shown}, and l0 would pass the l0.Attempt "
        f"there; pass a factory that supplies the argument (lambda: {fname}(...)) or annotate "
        f"it l0.Attempt",
    )


def _from_code(fn: types.FunctionType, label: str) -> bool:
    """The rule read from a plain function's code object (no ``inspect`` per run)."""
    code = fn.__code__
    argcount = code.co_argcount
    required = argcount - len(fn.__defaults__ or ())
    kwonly_required = code.co_kwonlyargcount - len(fn.__kwdefaults__ or ())
    if required > 1:
        raise _error(label, f"it requires {required} positional arguments")
    if kwonly_required > 0:
        raise _error(label, f"it requires {kwonly_required} keyword-only argument(s)")
    if required == 1:
        _check_annotation(fn.__annotations__.get(code.co_varnames[0]), fn, label)
        return True
    if argcount:
        name = code.co_varnames[0]
    elif code.co_flags & _VARARGS:
        name = code.co_varnames[code.co_kwonlyargcount]
    else:
        return False
    annotations = fn.__annotations__
    return bool(annotations) and is_attempt_annotation(annotations.get(name))


def _from_signature(sig: inspect.Signature, label: str, fn: object = None) -> bool:
    """The same rule read from an :class:`inspect.Signature`."""
    params = list(sig.parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(1 for p in positional if p.default is p.empty)
    kwonly_required = sum(1 for p in params if p.kind is p.KEYWORD_ONLY and p.default is p.empty)
    if required > 1:
        raise _error(label, f"it requires {required} positional arguments")
    if kwonly_required > 0:
        raise _error(label, f"it requires {kwonly_required} keyword-only argument(s)")
    if positional:
        first = positional[0]
        if first.default is first.empty:
            _check_annotation(first.annotation, fn, label, first.name)
            return True
        return is_attempt_annotation(first.annotation)
    star = next((p for p in params if p.kind is p.VAR_POSITIONAL), None)
    return star is not None and is_attempt_annotation(star.annotation)


def takes_attempt(fn: Callable[..., Any], label: str = "source") -> bool:
    """Whether ``fn`` is called with the :class:`~l0.types.Attempt` (the module's rule).

    Args:
        fn: The source factory.
        label: How errors name it (``"source"``, ``"fallbacks[1]"``).

    Raises:
        TypeError: When ``fn`` can be called neither with no argument nor with one.
    """
    if fn.__class__ is types.FunctionType:
        return _from_code(fn, label)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: call it bare
        return False
    return _from_signature(sig, label, fn)
