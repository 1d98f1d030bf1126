"""Run the real LiteLLM proxy (``litellm --config ...``) as a child process, for tests.

:class:`LiteLLMProxy` writes a ``config.yaml`` (and, optionally, a Python module beside it
that defines the callbacks), starts ``litellm`` on a free loopback port with a master key and
no database, waits until it answers, and stops it (process group) on exit::

    with LiteLLMProxy(model_list, callbacks_module=HANDLER_SOURCE, callbacks="l0_cb.handler")
        as proxy:
        client = openai.OpenAI(base_url=proxy.base_url, api_key=proxy.master_key)

The proxy imports slowly (tens of seconds on a busy machine): start one per test module, and
call :meth:`start` early (it returns at once) so it boots while other work runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["LiteLLMProxy"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiteLLMProxy:
    """The LiteLLM proxy in a child process (see the module docstring).

    Args:
        model_list: The ``model_list`` of ``config.yaml``.
        callbacks: ``litellm_settings.callbacks`` (e.g. ``"l0_cb.handler"``), or ``None``.
        callbacks_module: Source of ``l0_cb.py``, written beside the config.
        router_settings: ``router_settings`` of ``config.yaml``.
        env: Extra environment for the process.
        master_key: ``LITELLM_MASTER_KEY`` (the client's API key).
    """

    def __init__(
        self,
        model_list: list[dict[str, Any]],
        *,
        callbacks: str | None = None,
        callbacks_module: str | None = None,
        router_settings: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        master_key: str = "sk-l0-test",
    ) -> None:
        self.model_list = model_list
        self.callbacks = callbacks
        self.callbacks_module = callbacks_module
        self.router_settings = router_settings or {}
        self.env = env or {}
        self.master_key = master_key
        self.port = _free_port()
        self.dir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (``http://127.0.0.1:<port>/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        """Write the config and start the process; returns at once (see :meth:`wait`)."""
        self.dir = Path(tempfile.mkdtemp(prefix="l0-litellm-proxy-"))
        config: dict[str, Any] = {
            "model_list": self.model_list,
            "general_settings": {"master_key": self.master_key},
            "router_settings": self.router_settings,
        }
        if self.callbacks is not None:
            config["litellm_settings"] = {"callbacks": self.callbacks}
        if self.callbacks_module is not None:
            (self.dir / "l0_cb.py").write_text(self.callbacks_module)
        # JSON is YAML: no YAML writer needed.
        (self.dir / "config.yaml").write_text(json.dumps(config, indent=2))
        env = {
            **os.environ,
            "LITELLM_MASTER_KEY": self.master_key,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "DISABLE_AIOHTTP_TRANSPORT": "True",
            **self.env,
        }
        env.pop("DATABASE_URL", None)
        exe = shutil.which("litellm", path=str(Path(sys.executable).parent)) or "litellm"
        self._log = open(self.dir / "proxy.log", "wb")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(
            [
                exe,
                *("--config", str(self.dir / "config.yaml")),
                *("--host", "127.0.0.1", "--port", str(self.port)),
            ],
            cwd=self.dir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait(self, timeout: float = 240.0) -> None:
        """Block until the proxy answers its liveness probe.

        Raises:
            RuntimeError: The process exited, or did not answer within ``timeout`` (with the
                end of its log).
        """
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/health/liveliness"
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"the LiteLLM proxy exited:\n{self.log()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=1.0) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the LiteLLM proxy did not start in {timeout} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        """The process's output so far."""
        if self.dir is None:
            return ""
        return (self.dir / "proxy.log").read_text(errors="replace")

    def stop(self) -> None:
        """Stop the process (its whole group) and remove the temporary directory."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self.dir is not None:
            self._log.close()
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> LiteLLMProxy:
        self.start()
        try:
            self.wait()
        except BaseException:
            self.stop()  # __exit__ does not run when __enter__ raises: close log, end process
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
