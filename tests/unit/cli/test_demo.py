"""`l0 demo` and `python -m l0` run offline and deliver exact text in every scene."""

from __future__ import annotations

import io
import os
import signal
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


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_demo_output_reads_cleanly() -> None:
    out = io.StringIO()
    assert demo_main(fast=True, out=out) == 0
    text = out.getvalue()
    scene3 = text[text.index("3. ") :]
    # The title names the faults in the order they happen.
    assert scene3.startswith("3. primary drops, is overloaded, rejects the key")
    assert scene3.index("network error") < scene3.index("fallback to source 1")
    # Each fault has its notice, in order: the drop, the overload, the rejected key.
    overload, rejected = scene3.index("overloaded (529)"), scene3.index("invalid API key (401)")
    assert scene3.index("network error") < overload < rejected < scene3.index("fallback to")
    # One resume notice per checkpoint, not one per attempt.
    assert scene3.count("resuming after") == 1
    assert "error error" not in text
    assert "fatal error (authentication_error)" in text
    assert "1 retries" not in text and "1 attempts" not in text
    assert "1 retry," in text


def test_demo_colours_a_terminal_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = _Tty()
    assert demo_main(fast=True, out=coloured) == 0
    assert "\x1b[" in coloured.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    plain = _Tty()
    assert demo_main(fast=True, out=plain) == 0
    assert "\x1b[" not in plain.getvalue()


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    import l0

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"l0 {l0.__version__}"


def test_ctrl_c_ends_the_demo_quietly() -> None:
    import signal

    proc = subprocess.Popen(
        [sys.executable, "-m", "l0", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("l0 demo")  # running, mid-scene soon after
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert err.strip() == "interrupted"


def test_a_reader_that_goes_away_ends_the_demo_quietly() -> None:
    """`NO_COLOR=1 l0 demo | head -3` printed two BrokenPipeError tracebacks and exited 1."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "l0", "demo"],  # paced: it writes after the reader left
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # the reader goes away
    err = proc.stderr.read().decode()
    proc.stderr.close()
    code = proc.wait(timeout=30)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code in (0, -signal.SIGPIPE)
