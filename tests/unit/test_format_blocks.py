"""l0.format: tool and output prompt blocks (and the public module's names)."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest

import l0
import l0.utils.format
from l0.format import (
    format_json_output,
    format_output_instructions,
    format_tool,
    format_tools,
    normalize_tool,
)

PARAMS = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"enum": ["c", "f"]},
        "days": {"type": "array", "items": {"type": "integer"}},
    },
    "required": ["city"],
}
OPENAI_FUNCTION = {"name": "get_weather", "description": "Weather now.", "parameters": PARAMS}
SHAPES = [
    OPENAI_FUNCTION,
    {"type": "function", "function": OPENAI_FUNCTION},
    {"name": "get_weather", "description": "Weather now.", "input_schema": PARAMS},
]


def test_l0_format_is_the_public_module_and_the_old_path_still_works() -> None:
    assert l0.format.strip_reasoning is l0.utils.format.strip_reasoning
    assert l0.format.format_tool is format_tool
    assert "format" not in l0.__all__  # a star import must not shadow the builtin


@pytest.mark.parametrize("tool", SHAPES)
def test_every_provider_shape_normalises_to_one_definition(tool: dict[str, Any]) -> None:
    assert normalize_tool(tool) == OPENAI_FUNCTION


def test_natural_style() -> None:
    assert format_tool(OPENAI_FUNCTION) == (
        "Tool: get_weather\n"
        "Description: Weather now.\n"
        "Parameters:\n"
        "- city (string, required): City name\n"
        '- unit ("c" | "f", optional)\n'
        "- days (integer[], optional)"
    )
    assert format_tool({"name": "now"}) == "Tool: now\nParameters: none"


def test_typescript_style() -> None:
    assert format_tool(SHAPES[1], style="typescript") == (
        "// Weather now.\n"
        'function get_weather(city: string, unit?: "c" | "f", days?: number[]): void;'
    )


def test_xml_style_escapes_descriptions() -> None:
    tool = {**OPENAI_FUNCTION, "description": "Weather </tool> now & later"}
    text = format_tool(tool, style="xml")
    assert text.splitlines()[:3] == [
        '<tool name="get_weather">',
        "  <description>Weather &lt;/tool&gt; now &amp; later</description>",
        '  <parameter name="city" type="string" required="true">City name</parameter>',
    ]
    assert text.count("</tool>") == 1 and text.endswith("</tool>")


def test_json_style_round_trips() -> None:
    assert json.loads(format_tool(SHAPES[2], style="json")) == OPENAI_FUNCTION


def test_format_tools_joins_after_an_intro_and_rejects_duplicates() -> None:
    text = format_tools([OPENAI_FUNCTION, {"name": "now"}], intro="You can call:")
    assert text.startswith("You can call:\n\nTool: get_weather\n")
    assert text.endswith("\n\nTool: now\nParameters: none")
    with pytest.raises(ValueError, match=r"duplicate tool names \['get_weather'\]"):
        format_tools(SHAPES[:2])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: format_tool(OPENAI_FUNCTION, style="typescrpt"), ValueError, "'typescript'"),
        (lambda: format_tool({"name": "get weather"}), ValueError, "letters, digits"),
        (lambda: format_tool({"description": "x"}), ValueError, "tool name None"),
        (lambda: format_tool("get_weather"), TypeError, "must be a mapping"),
        (lambda: format_tool({"name": "a", "parameters": {"type": "string"}}), TypeError, "object"),
        (
            lambda: format_tool({"name": "a", "parameters": {"type": "object", "required": ["x"]}}),
            ValueError,
            r"\['x'\] are not in its properties",
        ),
        (lambda: format_tools(OPENAI_FUNCTION), TypeError, "list of tools"),
        (lambda: format_output_instructions("markdwn"), ValueError, "'markdown'"),
        (lambda: format_output_instructions("plain", schema={}), ValueError, "json"),
        (lambda: format_output_instructions(max_length=0), ValueError, "max_length"),
        (lambda: format_output_instructions(min_length=9, max_length=5), ValueError, "above"),
        (lambda: format_json_output(schema=42), TypeError, "JSON Schema dict or a Pydantic"),
    ],
)
def test_bad_input_names_the_fix(call: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


class Answer(pydantic.BaseModel):
    answer: str
    confidence: float


def test_json_output_block_with_a_pydantic_schema_and_an_example() -> None:
    text = format_json_output(Answer, example={"answer": "4", "confidence": 0.9}, wrap=True)
    lines = text.splitlines()
    assert lines[0] == "<output_format>" and lines[-1] == "</output_format>"
    assert lines[1].startswith("Respond with valid JSON only: no text before or after it")
    start = lines.index("The JSON must match this JSON Schema:") + 1
    end = lines.index("Example:") - 1
    assert json.loads("\n".join(lines[start:end])) == Answer.model_json_schema()
    assert json.loads("\n".join(lines[end + 2 : -1])) == {"answer": "4", "confidence": 0.9}
    assert format_json_output(strict=False) == "Respond with valid JSON."


def test_output_instructions_list_each_limit() -> None:
    assert format_output_instructions(
        "markdown", max_length=500, min_length=20, language="French", tone="formal",
        no_code_fences=True,
    ).splitlines() == [
        "Format the answer as Markdown.",
        "Keep the answer under 500 characters.",
        "Write at least 20 characters.",
        "Answer in French.",
        "Use a formal tone.",
        "Do not use code fences.",
    ]  # fmt: skip
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert format_output_instructions("json", schema=schema) == format_json_output(schema)
    assert format_output_instructions() == "Answer in plain text, without Markdown."
