"""No cassette may hold an API key or an authentication header."""

from __future__ import annotations

import re

import pytest
import yaml

from .support import CASSETTES

FILES = sorted(CASSETTES.rglob("*.yaml"))
AUTH_HEADERS = {"authorization", "x-api-key", "api-key", "proxy-authorization", "cookie"}
KEY = re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{8,}")


def test_cassettes_exist_for_every_provider() -> None:
    assert {p.relative_to(CASSETTES).parts[0] for p in FILES} == {"openai", "anthropic", "litellm"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CASSETTES)))
def test_cassette_holds_no_secret(path) -> None:
    text = path.read_text()
    assert not KEY.search(text), "an API key-like string"
    for interaction in yaml.safe_load(text)["interactions"]:
        for side in ("request", "response"):
            headers = interaction[side].get("headers") or {}
            assert not AUTH_HEADERS & {h.lower() for h in headers}, f"auth header in {side}"
