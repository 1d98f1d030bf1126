"""`l0 demo` and `python -m l0` run offline and deliver exact text in every scene."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from l0.cli import main
from l0.demo import ANSWER
from l0.demo import main as demo_main


def test_demo_scenes_are_exact() -> None:
    out = io.StringIO()
    assert demo_main(fast=True, out=out) == 0
    text = out.getvalue()
    assert text.count("exact text, no duplicate or lost span") == 3
    assert "inter_token timeout" in text
    assert "fallback to source 1" in text
    assert "resuming after" in text
    assert "\x1b[" not in text  # no colour codes when not a terminal
    assert ANSWER.split()[-1] in text


def test_cli_demo_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--fast"]) == 0
    assert "all scenes delivered the exact answer" in capsys.readouterr().out


def test_python_dash_m_l0_help() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "l0", "--help"], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0
    assert "demo" in proc.stdout


def test_unknown_command_fails_clearly() -> None:
    with pytest.raises(SystemExit) as info:
        main(["nope"])
    assert info.value.code == 2
