"""What structured output validates against: a Pydantic type or a JSON Schema.

:func:`output_schema` turns what the caller gave :func:`l0.structured` into an
:class:`OutputSchema`:

- a Pydantic model, any type a :class:`pydantic.TypeAdapter` accepts, or a ``TypeAdapter``:
  validated by pydantic (the data is an instance of the type);
- a JSON Schema ``dict`` (or a ``jsonschema`` validator instance): validated by the
  ``jsonschema`` package (``pip install 'l0[all]'``) with the draft the schema's ``$schema``
  names (2020-12 by default) and format checking on (``"format": "email"`` is enforced where
  ``jsonschema`` can check it); the data is the parsed JSON (``dict``, ``list``, …).

Both report failures the same way, as pydantic-style error dicts (``type``, ``loc``,
``msg``), so the retry feedback (:attr:`l0.StructuredAttempt.feedback`) and
:class:`l0.StructuredOutputError` look the same whichever schema was used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

__all__ = ["JsonSchema", "OutputSchema", "PydanticSchema", "SchemaMismatchError", "output_schema"]

_INSTALL = "pip install 'l0[all]'"

# JSON Schema keywords whose failure more text can still fix (a partial object misses fields,
# a string is still growing); any other failure hides the partial object until it is fixed.
_GROWING = frozenset(
    {
        "required",
        "minItems",
        "minProperties",
        "minLength",
        "minContains",
        "contains",
        "enum",
        "const",
        "pattern",
        "format",
        "dependentRequired",
        "dependencies",
    }
)


class SchemaMismatchError(Exception):
    """The text is not valid for the schema.

    Attributes:
        errors: Pydantic-style error dicts (``type``, ``loc``, ``msg``).
        syntax: The text is not JSON at all (repair may help), as opposed to JSON that
            breaks the schema.
    """

    def __init__(self, errors: tuple[dict[str, Any], ...], *, syntax: bool) -> None:
        super().__init__(errors[0]["msg"] if errors else "invalid")
        self.errors = errors
        self.syntax = syntax


class OutputSchema(Protocol):
    """A schema structured output is validated against."""

    @property
    def label(self) -> str:
        """A short name for messages (the model's name, the schema's ``title``)."""

    def validate_json(self, text: str, *, strict: bool) -> Any:
        """The validated value of ``text``.

        Raises:
            SchemaMismatchError: ``text`` is not JSON, or breaks the schema.
        """

    def validate_partial(self, text: str) -> Any:
        """The value of ``text`` (complete JSON closed from a partial answer) as far as it
        goes, or ``None`` while nothing valid can be shown yet."""


class PydanticSchema:
    """A Pydantic type (through a :class:`pydantic.TypeAdapter`)."""

    def __init__(self, adapter: TypeAdapter[Any]) -> None:
        self.adapter = adapter

    @property
    def label(self) -> str:
        """The type's name."""
        typ = getattr(self.adapter, "_type", None)
        return getattr(typ, "__name__", None) or repr(typ)

    def validate_json(self, text: str, *, strict: bool) -> Any:
        """Pydantic's ``validate_json`` (``strict``: no type coercion)."""
        try:
            return self.adapter.validate_json(text, strict=strict or None)
        except ValidationError as exc:
            errors = _pydantic_errors(exc)
            syntax = any(e["type"] in ("json_invalid", "json_type") for e in errors)
            raise SchemaMismatchError(errors, syntax=syntax) from exc

    def validate_partial(self, text: str) -> Any:
        """Pydantic's partial mode: the last item of a list or dict may be unfinished."""
        try:
            return self.adapter.validate_json(text, experimental_allow_partial="trailing-strings")
        except ValidationError:
            return None


class JsonSchema:
    """A JSON Schema, validated by ``jsonschema``."""

    def __init__(self, schema: Any) -> None:
        try:
            import jsonschema
            from jsonschema import validators
        except ImportError as exc:  # pragma: no cover - the extra is installed in CI
            raise ImportError(
                f"structured output with a JSON Schema needs the jsonschema package: {_INSTALL}"
            ) from exc
        if hasattr(schema, "iter_errors") and hasattr(schema, "schema"):
            self.validator: Any = schema  # a ready jsonschema validator instance
        elif isinstance(schema, Mapping):
            cls = validators.validator_for(schema)
            try:
                cls.check_schema(schema)
            except jsonschema.SchemaError as exc:
                where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
                raise TypeError(
                    f"structured: not a valid JSON Schema at {where}: {exc.message}"
                ) from exc
            self.validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
        else:
            raise TypeError(f"structured: not a JSON Schema: {type(schema).__name__}")

    @property
    def label(self) -> str:
        """The schema's ``title``, or ``"JSON Schema"``."""
        schema = self.validator.schema
        title = schema.get("title") if isinstance(schema, Mapping) else None
        return str(title or "JSON Schema")

    def validate_json(self, text: str, *, strict: bool) -> Any:
        """Parse ``text`` and check it against the schema (``strict`` changes nothing:
        JSON Schema never coerces)."""
        value = _load(text)
        errors = self._errors(value)
        if errors:
            raise SchemaMismatchError(tuple(_jsonschema_error(e) for e in errors), syntax=False)
        return value

    def validate_partial(self, text: str) -> Any:
        """The parsed value when its only failures are ones more text can fix (missing
        required fields, strings still short of a pattern or enum value, …)."""
        try:
            value = _load(text)
        except SchemaMismatchError:
            return None
        if any(e.validator not in _GROWING for e in self._errors(value)):
            return None
        return value

    def _errors(self, value: Any) -> list[Any]:
        return sorted(self.validator.iter_errors(value), key=lambda e: list(e.absolute_path))


def _load(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise SchemaMismatchError(
            ({"type": "json_invalid", "loc": (), "msg": f"Invalid JSON: {exc}"},), syntax=True
        ) from exc


def _jsonschema_error(error: Any) -> dict[str, Any]:
    return {"type": str(error.validator), "loc": tuple(error.absolute_path), "msg": error.message}


def _pydantic_errors(exc: ValidationError) -> tuple[dict[str, Any], ...]:
    return tuple(
        dict(e) for e in exc.errors(include_url=False, include_context=False, include_input=False)
    )


def output_schema(model: Any) -> OutputSchema:
    """The :class:`OutputSchema` for what was given to :func:`l0.structured`.

    Raises:
        TypeError: ``model`` is neither a type pydantic can validate nor a valid JSON Schema.
        ImportError: A JSON Schema was given and ``jsonschema`` is not installed.
    """
    if isinstance(model, Mapping) or (hasattr(model, "iter_errors") and hasattr(model, "schema")):
        return JsonSchema(model)
    try:
        adapter: TypeAdapter[Any] = model if isinstance(model, TypeAdapter) else TypeAdapter(model)
    except Exception as exc:
        raise TypeError(
            f"structured: cannot validate against {model!r}: {exc} (give a Pydantic model, "
            "a type such as list[Model], a TypeAdapter, or a JSON Schema dict)"
        ) from exc
    return PydanticSchema(adapter)
