"""The web UI of a system (``statemachine-ui --manifest``): the machines its manifest
starts are on screen, running or not. A module of its own: see tests/support/browser.py."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.files import write
from tests.support.processes import MachineProcess, moved

from .conftest import Monitor

pytestmark = pytest.mark.usefixtures("expect_timeout")

MANIFEST = """
name: shown
machines:
  worker: {config: simple_worker.yaml, instances: 2}
  solo: {config: simple_worker.yaml}
"""


@pytest.fixture
def system_monitor(project: Path) -> Iterator[Monitor]:
    write(project / "statemachine-project.yaml", MANIFEST)
    server = Monitor(project, "--manifest", "statemachine-project.yaml")
    try:
        server.start()
        yield server
    finally:
        server.close()


def test_the_machines_a_system_starts_show_when_they_are_not_running(
    page: Page,
    system_monitor: Monitor,
    statemachine: Callable[..., MachineProcess],
    shot: Callable[[str], Path],
) -> None:
    machine = statemachine("simple_worker.yaml", "--machine-name", "worker_001")
    machine.expect(moved("worker_001", None, "start", "waiting"))
    page.goto(system_monitor.url)

    solo = page.locator('.tab[data-tab="m:solo"]')
    expect(solo).to_have_attribute("data-status", "not running")
    expect(solo.locator(".tab-state")).to_have_text("not running")
    expect(solo.locator(".dot")).to_have_attribute("data-status", "not running")
    workers = page.locator('.tab[data-tab="t:worker|simple_worker"]')
    expect(workers.locator(".tab-state")).to_have_text("1 not running · 1 running")
    summary = re.compile(r"\ninstances: 1 not running · 1 running\n")  # whole in the tooltip
    expect(workers).to_have_attribute("title", summary)
    workers.click()
    expect(page.locator("#view")).to_have_attribute("data-view", "board")
    missing = page.locator('.column[data-column="not running"] .card[data-machine="worker_002"]')
    expect(missing).to_be_visible()
    expect(missing).to_have_attribute("data-status", "not running")
    running = page.locator('.card[data-machine="worker_001"]')
    expect(running).to_have_attribute("data-status", "running")
    shot("system-not-running")

    solo.click()
    expect(page.locator('#machine-header dd[data-fact="status"]')).to_have_text("not running")
    expect(page.locator('#machine-header dd[data-fact="restarts"]')).to_have_text("—")
    shot("system-solo")


def test_a_machines_log_streams_into_the_log_panel(
    page: Page, project: Path, system_monitor: Monitor, shot: Callable[[str], Path]
) -> None:
    logs = project / "logs"
    logs.mkdir()
    (logs / "solo.log").write_text("solo starts\n<b>not markup</b>\n")
    page.goto(system_monitor.url)

    page.locator('.tab[data-tab="m:solo"]').click()
    page.keyboard.press("l")
    panel = page.locator("#log")
    expect(panel).to_be_visible()
    expect(panel.locator(".log-lines")).to_have_text("solo starts\n<b>not markup</b>\n")
    with (logs / "solo.log").open("a") as log:
        log.write("a line written later\n")
    expect(panel.locator(".log-lines")).to_contain_text("a line written later")
    expect(panel.locator(".panel-note")).to_contain_text("solo.log · live")
    shot("system-log")
