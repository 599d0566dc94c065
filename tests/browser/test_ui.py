"""The web UI as an operator sees it: a real statemachine-ui, real machines, Chromium.

Each test drives the page the way a person would (clicks, keys, the send-event form) and
asserts on what is on screen. Screenshots go to the test's tmp dir (``screenshots/``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Request, Route, expect

from tests.support.processes import MachineProcess, moved, send

from .conftest import Monitor
from .machines import db, start_worker

pytestmark = pytest.mark.usefixtures("expect_timeout")

Start = Callable[..., MachineProcess]
Shot = Callable[[str], Path]

CURRENT = re.compile(r"\bsm-current\b")
PREVIOUS = re.compile(r"\bsm-previous\b")
HOSTILE = '<img src=x onerror="window.__pwned = 1">'

ECHO = """\
name: "Echo"
initial_state: idle
states: [idle, noting, stopped]
events: [note, stop]
transitions:
  - {from: idle, to: noting, event: note}
  - {from: noting, to: idle, event: continue}
  - {from: "*", to: stopped, event: stop}
actions:
  noting:
    - type: log
      level: warning
      message: "note: {event_data.payload.text}"
"""


def state_node(page: Page, state: str) -> str:
    """The selector of the diagram node Mermaid drew for ``state`` (id ``s_<state>``)."""
    return f'svg.sm-diagram g.node[id*="-state-s_{state}-"]'


def test_diagram_highlights_the_current_state_and_the_last_transition_live(
    page: Page, monitor: Monitor, statemachine: Start, shot: Shot
) -> None:
    machine = start_worker(statemachine, "simple_worker")
    page.goto(monitor.url)

    expect(page.locator("#connection")).to_have_attribute("data-status", "live")
    expect(page.locator('.tab[data-tab="m:simple_worker"]')).to_contain_text("waiting")
    expect(page.locator("#view")).to_have_attribute("data-view", "diagram")  # a unique machine
    expect(page.locator(state_node(page, "waiting"))).to_have_class(CURRENT)
    page.evaluate("window.__diagram = document.querySelector('svg.sm-diagram')")
    shot("diagram-waiting")

    # The operator sends `stop` with the form in the machine's header.
    page.get_by_label("Event to send").fill("stop")
    page.get_by_role("button", name="Send event").click()
    machine.expect(moved("simple_worker", "waiting", "stop", "stopped"))

    current = page.locator("svg.sm-diagram .sm-current")
    expect(current).to_have_count(1)
    expect(current).to_have_attribute("id", re.compile(r"-state-s_stopped-\d+$"))
    expect(page.locator(state_node(page, "waiting"))).to_have_class(PREVIOUS)
    # The wildcard edge `any state --stop--> stopped` is the one marked.
    expect(page.locator("svg.sm-diagram .sm-last-label")).to_have_text("stop")
    expect(page.locator("svg.sm-diagram path.sm-last-edge")).to_have_count(1)
    # Re-styled, not re-rendered.
    assert page.evaluate("window.__diagram === document.querySelector('svg.sm-diagram')")

    latest = page.locator("#timeline .timeline li").first
    expect(latest).to_contain_text("waiting → stopped")
    expect(latest.locator(".event-chip")).to_have_text("stop")
    expect(page.locator('[data-fact="state"]')).to_have_text("stopped")
    expect(page.locator('[data-fact="group"]')).to_have_text("END")
    assert machine.wait() == 0
    expect(page.locator('.tab[data-tab="m:simple_worker"] .dot')).to_have_attribute(
        "data-status", "finished"
    )
    shot("diagram-stopped")


def test_board_is_chosen_for_templated_instances_and_a_card_moves_column(
    page: Page, monitor: Monitor, statemachine: Start, shot: Shot
) -> None:
    workers = {name: start_worker(statemachine, name) for name in ("worker_001", "worker_002")}
    page.goto(monitor.url)

    tab = page.locator('.tab[data-tab="t:worker|simple_worker"]')
    expect(tab.locator(".tab-count")).to_have_text("\N{MULTIPLICATION SIGN}2")
    tab.click()
    expect(page.locator("#view")).to_have_attribute("data-view", "board")
    columns = page.locator(".board .column")
    expect(columns).to_have_count(3)
    assert columns.evaluate_all("cs => cs.map(c => c.dataset.column)") == ["IDLE", "WORK", "END"]
    idle = page.locator('.column[data-column="IDLE"]')
    expect(idle.locator(".card")).to_have_count(2)
    shot("board-idle")

    send("worker_001", "stop")
    workers["worker_001"].expect(moved("worker_001", "waiting", "stop", "stopped"))
    end_card = page.locator('.column[data-column="END"] .card[data-machine="worker_001"]')
    expect(end_card).to_be_visible()
    expect(end_card.locator(".state-chip")).to_have_text("stopped")
    expect(idle.locator(".card")).to_have_count(1)
    expect(page.locator('.column[data-column="END"] .count')).to_have_text("1")
    shot("board-moved")

    # A card opens its instance's timeline.
    end_card.click()
    expect(page.locator("#timeline .panel-note strong")).to_have_text("worker_001")
    expect(page.locator("#timeline .timeline li").first).to_contain_text("waiting → stopped")

    # K shows the diagram of the chosen instance, K again the board.
    page.keyboard.press("k")
    expect(page.locator("#view")).to_have_attribute("data-view", "diagram")
    expect(page.locator(state_node(page, "stopped"))).to_have_class(CURRENT)
    expect(page.locator(state_node(page, "waiting"))).to_have_class(re.compile(r"\bsm-occupied\b"))
    shot("board-as-diagram")
    page.keyboard.press("K")
    expect(page.locator("#view")).to_have_attribute("data-view", "board")
    expect(end_card).to_be_visible()


def test_activity_entries_appear_coloured_and_filtered_and_untrusted_text_stays_text(
    page: Page, monitor: Monitor, statemachine: Start, project: Path, shot: Shot
) -> None:
    (project / "echo.yaml").write_text(ECHO)
    echo = statemachine("echo.yaml", "--machine-name", "echo")
    echo.expect(moved("echo", None, "start", "idle"))
    start_worker(statemachine, "simple_worker")
    page.goto(monitor.url)
    expect(page.locator("#connection")).to_have_attribute("data-status", "live")

    send("echo", "note", {"text": HOSTILE})
    echo.expect(moved("echo", "noting", "continue", "idle"))

    entry = page.locator('#activity .entry[data-machine="echo"][data-level="warning"]')
    expect(entry).to_have_count(1)
    expect(entry.locator(".message")).to_have_text(f"note: {HOSTILE}")
    color = entry.locator(".level").evaluate("e => getComputedStyle(e).color")
    info = page.locator("#activity .entry.level-info .level").first
    assert color != info.evaluate("e => getComputedStyle(e).color")
    # The payload went in as text: no element was made of it, no handler ran.
    assert page.locator("img").count() == 0
    assert page.evaluate("window.__pwned") is None

    # The timeline shows the event and its payload's machine, still as text.
    page.locator('.tab[data-tab="m:echo"]').click()
    expect(page.locator("#timeline .timeline li .event-chip").first).to_have_text("continue")
    expect(page.locator("#timeline .timeline li .event-chip").nth(1)).to_have_text("note")

    # Filtered to another machine, the entry goes; back to all, it returns.
    page.get_by_role("button", name="Show activity of").click()
    page.locator('.picker-list li[data-value="m:simple_worker"]').click()
    expect(entry).to_have_count(0)
    expect(page.locator('#activity .entry[data-machine="simple_worker"]').first).to_be_visible()
    page.get_by_role("button", name="Show activity of").click()
    page.locator('.picker-list li[data-value=""]').click()
    expect(entry).to_have_count(1)
    assert page.locator("img").count() == 0
    shot("activity")


def test_the_page_works_with_the_network_to_the_outside_cut(
    page: Page, monitor: Monitor, statemachine: Start, shot: Shot
) -> None:
    outside: list[str] = []

    def only_local(route: Route, request: Request) -> None:
        if urlsplit(request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(request.url)
            route.abort()

    page.context.route("**/*", only_local)
    start_worker(statemachine, "simple_worker")
    page.goto(monitor.url)
    expect(page.locator("#connection")).to_have_attribute("data-status", "live")
    expect(page.locator(state_node(page, "waiting"))).to_have_class(CURRENT)
    page.keyboard.press("j")
    expect(page.locator(".job-counts .count-chip").first).to_be_visible()
    shot("offline")
    assert outside == []


def test_reconnects_after_the_server_restarts(
    page: Page, monitor: Monitor, statemachine: Start, shot: Shot
) -> None:
    machine = start_worker(statemachine, "simple_worker")
    page.goto(monitor.url)
    pill = page.locator("#connection")
    expect(pill).to_have_attribute("data-status", "live")

    monitor.stop()
    expect(pill).to_have_attribute("data-status", re.compile("offline|reconnecting"))
    expect(pill).to_contain_text(re.compile("Offline|Reconnecting"))
    shot("server-down")

    monitor.start()
    expect(pill).to_have_attribute("data-status", "live")
    send("simple_worker", "stop")
    machine.expect(moved("simple_worker", "waiting", "stop", "stopped"))
    expect(page.locator('[data-fact="state"]')).to_have_text("stopped")
    shot("server-back")


def test_jobs_table_counts_details_and_retry(
    page: Page, monitor: Monitor, project: Path, shot: Shot
) -> None:
    job = db("add-job", "--type", "task", "--payload", json.dumps({"file": HOSTILE}), cwd=project)
    job_id = job.splitlines()[0].strip()
    db("add-job", "--type", "task", "--payload", '{"file": "b.txt"}', cwd=project)
    db("fail-job", "--no-retry", "--reason", "disk full", job_id, cwd=project)
    page.goto(monitor.url)

    page.keyboard.press("j")
    expect(page.locator('.count-chip[data-status="dead"] .n')).to_have_text("1")
    expect(page.locator('.count-chip[data-status="pending"] .n')).to_have_text("1")
    row = page.locator(f'tr[data-job="{job_id}"]')
    expect(row).to_have_attribute("data-status", "dead")
    row.click()
    details = page.locator(".job-details")
    expect(details.locator("h3")).to_have_text(f"Job {job_id}")
    expect(details.locator(".job-error pre")).to_have_text("disk full")
    expect(details.locator("pre.json")).to_contain_text(json.dumps(HOSTILE))
    assert page.locator("img").count() == 0
    shot("job-dead")

    details.get_by_role("button", name="Retry").click()
    expect(row).to_have_attribute("data-status", "pending")
    expect(page.locator('.count-chip[data-status="pending"] .n')).to_have_text("2")
    assert json.loads(db("details", job_id, "--format", "json", cwd=project))["status"] == "pending"

    # Filtering by a status shows only those jobs.
    page.locator('.count-chip[data-status="dead"]').click()
    expect(page.locator("tbody tr")).to_have_count(0)
    shot("jobs")


def test_the_timeline_shows_what_the_instance_waits_for(
    page: Page, monitor: Monitor, statemachine: Start, project: Path
) -> None:
    machine = start_worker(statemachine, "simple_worker")
    sent = db(
        "send-event", "--target", "simple_worker", "--type", "stop", "--delay", "1h", cwd=project
    )
    page.goto(monitor.url)
    waits = page.locator("#timeline .waits")
    expect(waits).to_contain_text(f"stop (event {sent.strip()}) at ")
    expect(waits).to_contain_text("(in 59 m ")  # and how long from now
    send("simple_worker", "stop")
    assert machine.wait() == 0
