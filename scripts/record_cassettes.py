"""Re-record the success cassettes from the live APIs (never run in CI).

    OPENAI_API_KEY=... ANTHROPIC_API_KEY=... python scripts/record_cassettes.py [--out DIR]

Only providers whose key is set are recorded. Authentication headers are filtered before
anything is written (``authorization``, ``x-api-key``, ``openai-organization``, ...), and every
written file is scanned for key material afterwards. The fault cassettes (429/5xx, in-band
errors, truncation, empty streams) cannot be provoked on demand and stay hand-authored.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import vcr

FILTER_HEADERS = [
    "authorization",
    "x-api-key",
    "api-key",
    "openai-organization",
    "openai-project",
    "anthropic-organization-id",
    "cookie",
    "set-cookie",
]
SECRET = re.compile(r"sk-[A-Za-z0-9_-]{8,}|sk-ant-[A-Za-z0-9_-]{8,}")
MESSAGES = [{"role": "user", "content": "Say hello in five words."}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def recorder(out: Path) -> vcr.VCR:
    return vcr.VCR(
        cassette_library_dir=str(out),
        record_mode="all",
        filter_headers=FILTER_HEADERS,
        decode_compressed_response=True,
    )


def record_openai(rec: vcr.VCR) -> None:
    import openai

    client = openai.OpenAI(max_retries=0)
    with rec.use_cassette("openai/chat_text.yaml"):
        for _ in client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            stream=True,  # type: ignore[arg-type]
            stream_options={"include_usage": True},
        ):
            pass
    with rec.use_cassette("openai/chat_tools_parallel.yaml"):
        for _ in client.chat.completions.create(
            model="gpt-4o-mini",
            stream=True,
            tools=TOOLS,  # type: ignore[arg-type]
            messages=[{"role": "user", "content": "Weather in Paris and Tokyo?"}],
            stream_options={"include_usage": True},
        ):
            pass
    with rec.use_cassette("openai/responses_text.yaml"):
        for _ in client.responses.create(model="gpt-4.1-mini", input="Say hello", stream=True):
            pass


def record_anthropic(rec: vcr.VCR) -> None:
    import anthropic

    client = anthropic.Anthropic(max_retries=0)
    with rec.use_cassette("anthropic/messages_text_tool_thinking.yaml"):
        for _ in client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=2048,
            stream=True,
            thinking={"type": "enabled", "budget_tokens": 1024},
            tools=[{"name": "get_weather", "input_schema": TOOLS[0]["function"]["parameters"]}],  # type: ignore[index]
            messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        ):
            pass


def check_clean(out: Path) -> None:
    for path in out.rglob("*.yaml"):
        text = path.read_text()
        if SECRET.search(text) or re.search(r"^\s*(authorization|x-api-key):", text, re.M | re.I):
            sys.exit(f"{path}: holds key material; not safe to commit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "cassettes")
    args = parser.parse_args()
    rec = recorder(args.out)
    if os.environ.get("OPENAI_API_KEY"):
        record_openai(rec)
    if os.environ.get("ANTHROPIC_API_KEY"):
        record_anthropic(rec)
    check_clean(args.out)


if __name__ == "__main__":
    main()
