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


def test_cli_server_outlives_a_client_that_hangs_up_mid_answer() -> None:
    # `l0 chaos` died silently (SIGPIPE, exit 141) when a client closed the connection while
    # tokens were still being written: the CLI reset SIGPIPE for every command.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "l0", "chaos", "--port", "0", "--quiet", "--plan", "slow=0.02"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        banner = [proc.stdout.readline() for _ in range(2)]
        openai_url = banner[1].split("base_url=")[1].strip()
        for _ in range(3):  # hang up after the first bytes, three times
            with (
                httpx2.Client(base_url=openai_url) as client,
                client.stream("POST", "/chat/completions", json=chat_body()) as response,
            ):
                assert response.status_code == 200
                next(response.iter_raw())
        with httpx2.Client(base_url=openai_url, timeout=30) as client:
            after = client.post("/chat/completions", json=chat_body())
        assert proc.poll() is None, f"the server died: exit {proc.returncode}"
        assert openai_text(after.content)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
