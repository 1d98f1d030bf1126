"""The example page in headless Chromium: the server cuts the SSE connection mid-answer, the
browser's own EventSource reconnects with Last-Event-ID, and the answer shows exactly once."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .helpers import load_example, serve

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed"),
]


class Recorder:
    """ASGI wrapper counting the requests that carried Last-Event-ID."""

    def __init__(self, app: object) -> None:
        self.app = app
        self.last_event_ids: list[str] = []

    async def __call__(self, scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        if scope["type"] == "http":
            for key, value in scope["headers"]:
                if key == b"last-event-id":
                    self.last_event_ids.append(value.decode())
        await self.app(scope, receive, send)  # type: ignore[operator]


@pytest.fixture
def page_url() -> Iterator[tuple[str, Recorder]]:
    example = load_example()
    recorder = Recorder(example.create_app(reconnect=0.05, token_delay=0.005))
    with serve(recorder) as base:
        yield base, recorder


def test_browser_resumes_after_a_cut_and_shows_the_answer_once(
    page_url: tuple[str, Recorder],
) -> None:
    from playwright.sync_api import sync_playwright

    base, recorder = page_url
    example = load_example()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(base + "/")
            page.check("#cut")
            page.click("button")
            page.wait_for_function(
                "document.getElementById('status').textContent === 'done'", timeout=10_000
            )
            answer = page.text_content("#answer")
            notices = page.locator("#notices li").all_text_contents()
        finally:
            browser.close()
    assert answer == example.ANSWER
    assert recorder.last_event_ids == ["8"]  # one reconnect, after the 8th event
    assert "connection lost, resuming…" in notices
    assert any(n.startswith("retrying (attempt 2") for n in notices)
