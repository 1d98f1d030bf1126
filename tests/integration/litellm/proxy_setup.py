"""The proxy-under-test of ``test_proxy.py``: a chaos upstream and a LiteLLM proxy process.

The proxy imports for tens of seconds, so ``conftest.pytest_collection_finish`` starts it
(and its upstream) as soon as the run knows it will need it; it boots while the tests before
``test_proxy.py`` run, and ``test_proxy.py``'s fixture only waits for it.
"""

from __future__ import annotations

from typing import Any

from l0.chaos import DEFAULT_ANSWER, ChaosServer, split_tokens
from l0.testing.litellm_proxy import LiteLLMProxy

HANDLER = """
from l0 import Retry, Timeout
from l0.guardrails.patterns import CustomPatternRule
from l0.integrations.litellm import L0Handler

handler = L0Handler(
    retry=Retry(attempts=3, max_retries=6, backoff="fixed", base_delay=0.05, max_delay=0.2),
    timeout=Timeout(initial_token=5.0, inter_token=0.5),
    guardrails=[CustomPatternRule(["FORBIDDEN"])],
)
"""

TOKENS = split_tokens(DEFAULT_ANSWER)
CUT = len("".join(TOKENS[:12]))
POISONED = DEFAULT_ANSWER[:CUT] + " FORBIDDEN" + DEFAULT_ANSWER[CUT:]


class Answers:
    """The chaos server's answer: poisoned for the next ``poison`` requests, then the texts
    in ``after`` (one per request), then the default answer."""

    def __init__(self) -> None:
        self.poison = 0
        self.after: list[str] = []

    def __call__(self, request: Any) -> str:
        if self.poison > 0:
            self.poison -= 1
            return POISONED
        if self.after:
            return self.after.pop(0)
        return DEFAULT_ANSWER


ANSWERS = Answers()
_started: dict[str, Any] = {}


def start() -> tuple[ChaosServer, LiteLLMProxy]:
    """Start the upstream and the proxy process (once); returns without waiting for it."""
    if not _started:
        upstream = ChaosServer(answer=ANSWERS)
        upstream.__enter__()

        def deployment(name: str) -> dict[str, Any]:
            return {
                "model_name": "chat",
                "litellm_params": {
                    "model": f"openai/{name}",
                    "api_base": upstream.openai_base_url,
                    "api_key": "test",
                },
            }

        proxy = LiteLLMProxy(
            [deployment("a"), deployment("b")],
            callbacks="l0_cb.handler",
            callbacks_module=HANDLER,
            # l0 owns retries once the stream is open; no cooldown carried between tests.
            router_settings={"num_retries": 0, "disable_cooldowns": True},
        )
        proxy.start()
        _started.update(upstream=upstream, proxy=proxy)
    return _started["upstream"], _started["proxy"]


def stop() -> None:
    """Stop the proxy and the upstream, if started."""
    if _started:
        _started.pop("proxy").stop()
        _started.pop("upstream").__exit__(None, None, None)
