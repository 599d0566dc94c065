"""The page of a server without a WebSocket stream (``statemachine-ui --no-websocket``).

The page learns from ``/api/config`` that there is no stream and polls the HTTP API
instead: machines, state changes and activity still show up, only a few seconds late.
Synchronous tests only (the module-scoped browser, see tests/support/browser.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, WebSocket, expect

from tests.support.processes import MachineProcess, moved

from .conftest import Monitor
from .test_ui import CURRENT, start_worker, state_node

pytestmark = pytest.mark.usefixtures("expect_timeout")

Start = Callable[..., MachineProcess]
Shot = Callable[[str], Path]


@pytest.fixture
def polled(project: Path) -> Iterator[Monitor]:
    server = Monitor(project, "--no-websocket")
    try:
        server.start()
        yield server
    finally:
        server.close()


def test_without_a_stream_the_page_polls_and_follows_the_machines(
    page: Page, polled: Monitor, statemachine: Start, shot: Shot
) -> None:
    sockets: list[str] = []

    def opened(socket: WebSocket) -> None:
        sockets.append(socket.url)

    page.on("websocket", opened)
    machine = start_worker(statemachine, "simple_worker")
    page.goto(polled.url)

    pill = page.locator("#connection")
    expect(pill).to_have_attribute("data-status", "polling")
    expect(pill).to_have_text(re.compile(r"Polling · every \d+ s"))
    expect(page.locator('.tab[data-tab="m:simple_worker"]')).to_contain_text("waiting")
    expect(page.locator(state_node(page, "waiting"))).to_have_class(CURRENT)
    shot("polling-waiting")

    page.get_by_label("Event to send").fill("stop")
    page.get_by_role("button", name="Send event").click()
    machine.expect(moved("simple_worker", "waiting", "stop", "stopped"))
    assert machine.wait() == 0

    expect(page.locator(state_node(page, "stopped"))).to_have_class(CURRENT)
    expect(page.locator('[data-fact="state"]')).to_have_text("stopped")
    expect(page.locator("#timeline .timeline li").first).to_contain_text("waiting → stopped")
    stopped = page.locator('#activity .entry[data-machine="simple_worker"]', has_text="stopped")
    expect(stopped.first).to_be_visible()
    expect(page.locator('.tab[data-tab="m:simple_worker"] .dot')).to_have_attribute(
        "data-status", "finished"
    )
    shot("polling-stopped")

    # A restarted server: the pill says so, and polling resumes when it is back.
    polled.stop()
    expect(pill).to_have_attribute("data-status", "offline")
    polled.start()
    page.keyboard.press("r")
    expect(pill).to_have_attribute("data-status", "polling")
    expect(page.locator('[data-fact="state"]')).to_have_text("stopped")
    assert sockets == [], "the page opened a WebSocket"
