"""``l0 chaos`` in the foreground: prints the base URLs, follows the plan, stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx2
import pytest

from l0.cli import main

from .helpers import chat_body, openai_text


def test_cli_serves_the_plan_and_stops_on_ctrl_c() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "l0",
            "chaos",
            "--port",
            "0",
            "--plan",
            "status=503,ok",
            "--answer",
            "Hello from the CLI.",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        banner = [proc.stdout.readline() for _ in range(5)]
        assert banner[0].startswith("l0 chaos: serving on http://127.0.0.1:")
        openai_url = banner[1].split("base_url=")[1].strip()
        assert openai_url.endswith("/v1")
        assert "plan: status=503; ok; then ok" in banner[3]
        with httpx2.Client(base_url=openai_url) as client:
            first = client.post("/chat/completions", json=chat_body(stream=False))
            second = client.post("/chat/completions", json=chat_body())
        assert first.status_code == 503
        assert openai_text(second.content) == "Hello from the CLI."
        assert "#0 POST /v1/chat/completions [status=503] -> status" in proc.stdout.readline()
        assert "[ok] -> complete, 4 tokens" in proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert "stopped" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def test_cli_rejects_a_bad_plan(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chaos", "--plan", "explode=1"]) == 2
    assert "unknown key 'explode'" in capsys.readouterr().err
    assert main(["chaos", "--host", "0.0.0.0"]) == 2
    assert "loopback" in capsys.readouterr().err
