"""``l0 demo``: a simulated flaky provider, handled live (no network, no keys).

Three scenes, each a real :func:`l0.stream` run over a built-in simulated model that
misbehaves on purpose:

1. the connection drops mid-answer; l0 resumes from the checkpoint and removes the words the
   model restates, so the text reads exactly once;
2. the model stalls between tokens; the inter-token timeout fires and l0 continues;
3. the primary model drops the connection, is then overloaded and then rejects the key; l0
   falls back to a second model, which continues the same answer.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TextIO

import anyio

import l0
from l0.errors import AuthenticationError, ServerError

__all__ = ["SimulatedModel", "main"]

ANSWER = (
    "TCP slow start begins with a small congestion window and doubles it every round trip "
    "until a loss or the slow-start threshold is reached; after that, congestion avoidance "
    "grows the window by one segment per round trip, so a new connection probes the path "
    "gently instead of flooding it."
)


@dataclass
class SimulatedModel:
    """A fake streaming model that follows a script of faults, one entry per call.

    Each entry: ``"ok"`` streams the rest of the answer; ``"drop@N"`` drops the connection
    after N words; ``"stall@N"`` stalls after N words; ``"overloaded"`` answers 529;
    ``"unauthorized"`` answers 401. A call that continues a checkpoint restates the last
    two words first, as real models often do.
    """

    name: str
    script: list[str]
    delay: float = 0.02
    restate_words: int = 2
    calls: int = field(default=0, init=False)

    def __call__(self, attempt: l0.Attempt) -> AsyncIterator[str]:
        step = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        return self._stream(step, attempt.checkpoint)

    async def _stream(self, step: str, checkpoint: str) -> AsyncIterator[str]:
        if step == "overloaded":
            raise ServerError(f"{self.name}: overloaded (529)", status_code=529)
        if step == "unauthorized":
            raise AuthenticationError(f"{self.name}: invalid API key (401)", status_code=401)
        start = len(checkpoint)
        if checkpoint:
            # Restate the last words of the checkpoint, like a model resuming its sentence.
            start = len(" ".join(checkpoint.split(" ")[: -self.restate_words - 1])) + 1
        words = _words(ANSWER[start:])
        limit = int(step.split("@")[1]) if "@" in step else len(words)
        for i, word in enumerate(words):
            if i == limit:
                if step.startswith("drop"):
                    raise ConnectionResetError("connection reset by peer")
                await anyio.sleep(3600)  # a stall: l0's watchdog cuts it
            await anyio.sleep(self.delay)
            yield word


def _words(text: str) -> list[str]:
    out, word = [], ""
    for ch in text:
        word += ch
        if ch == " ":
            out.append(word)
            word = ""
    return [*out, word] if word else out


@dataclass
class _Scene:
    title: str
    primary: SimulatedModel
    fallbacks: list[SimulatedModel]
    timeout: l0.Timeout


def _scenes(fast: bool) -> list[_Scene]:
    delay = 0.0 if fast else 0.02
    stall = 0.1 if fast else 0.6
    return [
        _Scene(
            "1. connection drops mid-answer -> resumed from the checkpoint",
            SimulatedModel("model-a", ["drop@18", "ok"], delay),
            [],
            l0.Timeout(inter_token=stall * 4),
        ),
        _Scene(
            "2. the model stalls between tokens -> inter-token timeout, then continued",
            SimulatedModel("model-a", ["stall@25", "ok"], delay),
            [],
            l0.Timeout(inter_token=stall),
        ),
        _Scene(
            "3. primary drops, is overloaded, rejects the key -> a fallback continues the answer",
            SimulatedModel("model-a", ["drop@10", "overloaded", "unauthorized"], delay),
            [SimulatedModel("model-b", ["ok"], delay)],
            l0.Timeout(inter_token=stall * 4),
        ),
    ]


class _Printer:
    """Tokens inline, l0's notices on their own lines (coloured on a terminal)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        # https://no-color.org: a non-empty NO_COLOR turns colour off even on a terminal.
        self.tty = out.isatty() and not os.environ.get("NO_COLOR")
        self.mid_line = False
        self.resumed_at: int | None = None

    def _style(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.tty else text

    def heading(self, text: str) -> None:
        self.resumed_at = None
        self.line(self._style(text, "1"), indent="\n")

    def token(self, text: str) -> None:
        if not self.mid_line:
            self.out.write("    ")
            self.mid_line = True
        self.out.write(text)
        self.out.flush()

    def line(self, text: str, indent: str = "    ") -> None:
        if self.mid_line:
            self.out.write("\n")
            self.mid_line = False
        self.out.write(f"{indent}{text}\n")
        self.out.flush()

    def on_event(self, event: l0.ObservabilityEvent) -> None:
        d = event.data
        if event.name == "RESUME_START":
            # Every attempt after a failure resumes; say so once per checkpoint, not per attempt.
            if d["checkpoint_length"] == self.resumed_at:
                return
            self.resumed_at = d["checkpoint_length"]
        text: Callable[[], str | None] | None = {
            "TIMEOUT_TRIGGERED": lambda: f"{d['kind']} timeout after {d['elapsed']:.2f}s",
            "NETWORK_ERROR": lambda: f"network error ({d['kind']})",
            "RETRY_ATTEMPT": lambda: f"retry {d['retry']} after a {d['category']} error",
            "FALLBACK_START": lambda: f"fallback to source {d['to_index']}: {d['reason']}",
            "RESUME_START": lambda: f"resuming after {d['checkpoint_length']} chars",
            # A provider's HTTP error (a drop is NETWORK_ERROR's): what it answered.
            "ERROR": lambda: f"{d['error']}" if getattr(d["error"], "status_code", None) else None,
        }.get(event.name)
        notice = text() if text is not None else None
        if notice is not None:
            self.line(self._style(f"[l0] {notice}", "33"))


async def _play(scene: _Scene, p: _Printer, record: object = None) -> l0.Result:
    p.heading(scene.title)
    async with l0.stream(
        scene.primary,
        fallbacks=scene.fallbacks,
        continuation=True,
        timeout=scene.timeout,
        retry=l0.Retry(backoff="fixed", base_delay=0.05),
        on_event=p.on_event,
        record=record,
    ) as s:
        async for event in s:
            if event.type is l0.EventType.TOKEN:
                p.token(event.text or "")
    return s.result


def _summary(result: l0.Result, p: _Printer) -> bool:
    t = result.telemetry
    exact = result.text == ANSWER
    p.line(
        f"-> {'exact text, no duplicate or lost span' if exact else 'TEXT MISMATCH'}; "
        f"{_plural(t.attempts, 'attempt')}, {_plural(t.retries, 'retry', 'retries')}, "
        f"fallback index {result.fallback_index}, "
        f"{len(result.text)} chars, first token {1000 * (t.time_to_first_token or 0):.0f} ms, "
        f"{t.duration or 0:.2f} s"
    )
    return exact


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def main(*, fast: bool = False, out: TextIO | None = None, record: str | None = None) -> int:
    """Run the demo; return the process exit code (1 if any text came out wrong).

    ``record``: a directory; each scene is recorded there (``l0 replay DIR/<id>.jsonl``).
    """
    p = _Printer(out or sys.stdout)
    p.line("l0 demo: a simulated flaky model, handled live (no network, no keys)", indent="")

    store = l0.FileStore(record) if record else None

    async def go() -> bool:
        ok = True
        for scene in _scenes(fast):
            ok &= _summary(await _play(scene, p, store), p)
        return ok

    ok = anyio.run(go)
    p.line("all scenes delivered the exact answer" if ok else "some scene failed", indent="\n")
    return 0 if ok else 1
