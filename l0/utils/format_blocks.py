"""Prompt blocks for tools and output instructions (public as :mod:`l0.format`).

A tool is a mapping in any of the shapes providers use::

    {"name": ..., "description": ..., "parameters": {JSON Schema object}}        # OpenAI function
    {"type": "function", "function": {"name": ..., "parameters": ...}}            # OpenAI tool
    {"name": ..., "description": ..., "input_schema": {JSON Schema object}}      # Anthropic

and is written for a prompt in one of four styles (``json``, ``natural``, ``typescript``,
``xml``). Output blocks tell a model what shape of answer to write (JSON with a schema and an
example, markdown, plain text) and which limits hold.
"""

from __future__ import annotations

import difflib
import html
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

__all__ = [
    "format_json_output",
    "format_output_instructions",
    "format_tool",
    "format_tools",
    "normalize_tool",
]

ToolStyle = Literal["json", "natural", "typescript", "xml"]
OutputFormat = Literal["json", "markdown", "plain", "yaml", "xml"]
_STYLES = ("json", "natural", "typescript", "xml")
_FORMATS = ("json", "markdown", "plain", "yaml", "xml")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
_TS_TYPES = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean"}


def _choice(what: str, value: object, allowed: tuple[str, ...]) -> str:
    if isinstance(value, str) and value in allowed:
        return value
    close = difflib.get_close_matches(str(value), allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"unknown {what} {value!r}{hint} ({what}s: {', '.join(allowed)})")


def normalize_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    """``tool`` (any provider shape, see the module) as ``{"name", "description", "parameters"}``.

    Raises:
        TypeError: ``tool`` is not a mapping, or its parameters are not a JSON Schema object.
        ValueError: No name, a name providers reject (letters, digits, ``_``, ``-``; at most
            64), or a ``required`` parameter that is not among the properties.
    """
    if not isinstance(tool, Mapping):
        raise TypeError(f"a tool must be a mapping, got {type(tool).__name__}")
    spec = tool.get("function", tool) if tool.get("type") == "function" else tool
    if not isinstance(spec, Mapping):
        raise TypeError("a tool's 'function' must be a mapping")
    name = spec.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"tool name {name!r}: use 1-64 letters, digits, '_' or '-' "
            "(starting with a letter or '_')"
        )
    params = spec.get("parameters", spec.get("input_schema", {"type": "object", "properties": {}}))
    if not isinstance(params, Mapping) or params.get("type", "object") != "object":
        raise TypeError(
            f"tool {name!r}: parameters must be a JSON Schema object ({{'type': 'object', ...}})"
        )
    properties = params.get("properties", {})
    missing = [p for p in params.get("required", []) if p not in properties]
    if missing:
        raise ValueError(f"tool {name!r}: required parameters {missing} are not in its properties")
    return {
        "name": name,
        "description": str(spec.get("description", "")).strip(),
        "parameters": dict(params),
    }


def _type_name(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        return " | ".join(str(k) for k in kind)
    if kind == "array":
        return f"{_type_name(schema.get('items', {}))}[]"
    return str(kind)


def _ts_type(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        return f"{_ts_type(schema.get('items', {}))}[]"
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        fields = [f"{k}{'' if k in required else '?'}: {_ts_type(v)}" for k, v in props.items()]
        return "{ " + "; ".join(fields) + " }" if fields else "object"
    if isinstance(kind, str):
        return _TS_TYPES.get(kind, "unknown" if kind != "null" else "null")
    return "unknown"


def format_tool(tool: Mapping[str, Any], *, style: ToolStyle = "natural") -> str:
    """One tool's definition for a prompt.

    Args:
        tool: A tool in any provider shape (see the module).
        style: ``"natural"`` (name, description, one line per parameter), ``"json"`` (the
            normalised definition, indented), ``"typescript"`` (a function signature, the
            description as a comment) or ``"xml"`` (a ``<tool>`` element, text escaped).

    Raises:
        ValueError, TypeError: As for :func:`normalize_tool`; an unknown style (the
            closest one is named).
    """
    style = _choice("style", style, _STYLES)  # type: ignore[assignment]
    spec = normalize_tool(tool)
    name, description, params = spec["name"], spec["description"], spec["parameters"]
    properties: Mapping[str, Any] = params.get("properties", {})
    required = set(params.get("required", []))
    if style == "json":
        return json.dumps(spec, indent=2, ensure_ascii=False)
    if style == "typescript":
        args = ", ".join(
            f"{k}{'' if k in required else '?'}: {_ts_type(v)}" for k, v in properties.items()
        )
        comment = "".join(f"// {line}\n" for line in description.splitlines())
        return f"{comment}function {name}({args}): void;"
    if style == "xml":
        lines = [f'<tool name="{name}">']
        if description:
            lines.append(f"  <description>{html.escape(description, quote=False)}</description>")
        for key, schema in properties.items():
            attrs = (
                f'name="{html.escape(key)}" type="{html.escape(_type_name(schema))}" '
                f'required="{str(key in required).lower()}"'
            )
            text = html.escape(str(schema.get("description", "")), quote=False)
            lines.append(f"  <parameter {attrs}>{text}</parameter>")
        lines.append("</tool>")
        return "\n".join(lines)
    lines = [f"Tool: {name}"]
    if description:
        lines.append(f"Description: {description}")
    if properties:
        lines.append("Parameters:")
        for key, schema in properties.items():
            need = "required" if key in required else "optional"
            about = schema.get("description")
            lines.append(
                f"- {key} ({_type_name(schema)}, {need})" + (f": {about}" if about else "")
            )
    else:
        lines.append("Parameters: none")
    return "\n".join(lines)


def format_tools(
    tools: Iterable[Mapping[str, Any]], *, style: ToolStyle = "natural", intro: str | None = None
) -> str:
    """Several tools for a prompt, separated by a blank line, after an optional ``intro``.

    Raises:
        ValueError: Two tools with the same name, or as for :func:`format_tool`.
    """
    if isinstance(tools, Mapping):
        raise TypeError("format_tools takes a list of tools (use format_tool for one)")
    items = list(tools)
    names = [normalize_tool(t)["name"] for t in items]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"format_tools: duplicate tool names {dupes}")
    body = "\n\n".join(format_tool(t, style=style) for t in items)
    return f"{intro}\n\n{body}" if intro else body


def _schema_of(schema: Any) -> Mapping[str, Any] | None:
    if schema is None or isinstance(schema, Mapping):
        return schema
    dump = getattr(schema, "model_json_schema", None)  # a Pydantic model class
    if callable(dump):
        result: Mapping[str, Any] = dump()
        return result
    raise TypeError(
        f"schema must be a JSON Schema dict or a Pydantic model class, got {type(schema).__name__}"
    )


def format_json_output(
    schema: Any = None, *, example: Any = None, strict: bool = True, wrap: bool = False
) -> str:
    """Instructions to answer in JSON, optionally matching ``schema``, with an ``example``.

    Args:
        schema: A JSON Schema dict or a Pydantic model class (its ``model_json_schema()``).
        example: A value shown as an example answer (serialised as JSON).
        strict: Ask for JSON only: no prose, no code fences, no comments.
        wrap: Put the whole instruction in an ``<output_format>`` block.
    """
    lines = ["Respond with valid JSON."]
    if strict:
        lines[0] = (
            "Respond with valid JSON only: no text before or after it, no code fences, no comments."
        )
    resolved = _schema_of(schema)
    if resolved is not None:
        lines += ["", "The JSON must match this JSON Schema:", json.dumps(resolved, indent=2)]
    if example is not None:
        lines += ["", "Example:", json.dumps(example, indent=2, ensure_ascii=False)]
    text = "\n".join(lines)
    return f"<output_format>\n{text}\n</output_format>" if wrap else text


def format_output_instructions(
    format: OutputFormat = "plain",
    *,
    schema: Any = None,
    example: Any = None,
    max_length: int | None = None,
    min_length: int | None = None,
    language: str | None = None,
    tone: str | None = None,
    no_code_fences: bool = False,
    wrap: bool = False,
) -> str:
    """Instructions on the answer's format and limits, one per line.

    Args:
        format: ``"json"`` (as :func:`format_json_output`, with ``schema``/``example``),
            ``"markdown"``, ``"plain"`` (no markdown), ``"yaml"`` or ``"xml"``.
        schema, example: For ``"json"`` only.
        max_length, min_length: Limits in characters.
        language: The language to answer in.
        tone: The tone to use (``"formal"``, ``"friendly"``, ...).
        no_code_fences: Ask for no fenced code blocks.
        wrap: Put the instructions in an ``<output_format>`` block.

    Raises:
        ValueError: An unknown format (the closest one is named), a negative or inverted
            length, or ``schema``/``example`` with a format other than ``"json"``.
    """
    format = _choice("format", format, _FORMATS)  # type: ignore[assignment]
    if (schema is not None or example is not None) and format != "json":
        raise ValueError("schema and example apply to format='json' only")
    for label, value in (("max_length", max_length), ("min_length", min_length)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ValueError(f"{label} must be an int >= 1 (characters), got {value!r}")
    if max_length is not None and min_length is not None and min_length > max_length:
        raise ValueError(f"min_length {min_length} is above max_length {max_length}")
    lines = {
        "json": [format_json_output(schema, example=example)],
        "markdown": ["Format the answer as Markdown."],
        "plain": ["Answer in plain text, without Markdown."],
        "yaml": ["Respond with valid YAML only, no text before or after it."],
        "xml": ["Respond with well-formed XML only, no text before or after it."],
    }[format]
    if max_length is not None:
        lines.append(f"Keep the answer under {max_length} characters.")
    if min_length is not None:
        lines.append(f"Write at least {min_length} characters.")
    if language:
        lines.append(f"Answer in {language}.")
    if tone:
        lines.append(f"Use a {tone} tone.")
    if no_code_fences and format != "json":  # the JSON instruction already says so
        lines.append("Do not use code fences.")
    text = "\n".join(lines)
    return f"<output_format>\n{text}\n</output_format>" if wrap else text
