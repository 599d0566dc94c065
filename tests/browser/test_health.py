"""The UI as an operator's console: problems first, controls that keep state and say what
happened, honest state offline and after restarts. Real machines, a real server, Chromium.

Screenshots are taken at 1280 and 800 px wide (``screenshots/`` under the test's tmp dir).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from statemachine_engine.monitoring._settings import RECENT_EVENTS
from tests.support.processes import MachineProcess, moved, send, wait_until

from .conftest import Monitor
from .machines import db, start_worker

pytestmark = pytest.mark.usefixtures("expect_timeout")

Start = Callable[..., MachineProcess]

#: A machine that never rests: a transition every 20 ms, each one a header update.
BUSY = """\
name: "Busy"
initial_state: ping
states: [ping, pong, stopped]
events: [stop]
transitions:
  - {from: ping, to: pong, event: timeout(20ms)}
  - {from: pong, to: ping, event: timeout(20ms)}
  - {from: "*", to: stopped, event: stop}
"""

#: Busier still, until told to rest.
RESTLESS = BUSY.replace("20ms", "1ms").replace(
    "[ping, pong, stopped]", "[ping, pong, resting, stopped]"
)
RESTLESS += '  - {from: "*", to: resting, event: rest}\n'

#: Renders quickly, until a file named ``hang`` appears: then its render never ends.
RENDER = """\
name: "Render"
initial_state: idle
states: [idle, rendering, stopped]
events: [stop]
transitions:
  - {from: idle, to: rendering, event: timeout(10ms)}
  - {from: rendering, to: idle, event: done}
  - {from: "*", to: stopped, event: stop}
actions:
  rendering:
    - type: bash
      command: "test -e hang && exec sleep 300; true"
      success: done
"""

WIDTHS = (1280, 800)


def shots(page: Page, name: str) -> None:
    """Screenshots of the page at each of WIDTHS, then back to the first."""
    folder: Path = page.screenshot_dir  # type: ignore[attr-defined]
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 820})
        page.screenshot(path=str(folder / f"{name}-{width}.png"))
    page.set_viewport_size({"width": WIDTHS[0], "height": 820})


def test_a_killed_machine_is_shown_dead_first_and_out_of_its_work_column(
    page: Page, monitor: Monitor, statemachine: Start, project: Path
) -> None:
    workers = {name: start_worker(statemachine, name) for name in ("worker_001", "worker_002")}
    solo = start_worker(statemachine, "solo")
    db("add-job", "--type", "render", "--payload", "{}", cwd=project)
    db("add-job", "--type", "render", "--payload", "{}", cwd=project)
    page.set_viewport_size({"width": 1280, "height": 820})
    page.goto(monitor.url)
    expect(page.locator('.count-filter[data-health="running"]')).to_have_text("3 running")
    # Nothing claims render jobs: the top bar says so.
    expect(page.locator('.badge.unserved[data-job-type="render"]')).to_have_text(
        "render: 2 pending, no consumer"
    )

    solo.kill()
    workers["worker_002"].kill()
    # Within the page's 15 s: dead, first in the list, in the title, the count a filter.
    dead = page.locator('.count-filter[data-health="dead"]')
    expect(dead).to_have_text("2 dead")
    expect(page).to_have_title("(2 dead) statemachine monitor")
    groups = page.locator("#machines li.group:not([hidden])")
    assert groups.first.get_attribute("data-group") == "dead"
    dead_tabs = page.locator('#machines li:not([hidden]) .tab[data-status="dead"]')
    expect(dead_tabs).to_have_count(2)  # solo, and the template with a dead instance

    page.locator('.tab[data-tab="m:solo"]').click()
    notice = page.locator(".view-notice")
    expect(notice).to_contain_text(re.compile(r"solo: process dead since \d\d:\d\d:\d\d"))
    expect(page.locator('svg.sm-diagram g.node[id*="-state-s_waiting-"]')).to_have_class(
        re.compile(r"\bsm-dead\b")
    )
    assert page.locator("svg.sm-diagram .sm-current").count() == 0
    expect(page.locator("#timeline .dead-note")).to_contain_text("process dead since")
    expect(page.locator("#timeline .timeline li.latest .stayed")).to_have_text("dead")
    expect(page.locator("#machine-header .problem")).to_contain_text("process dead since")
    shots(page, "dead-solo")

    # The dead worker leaves its work column for a lane of its own, first.
    page.locator('.tab[data-tab="t:worker|simple_worker"]').click()
    lane = page.locator(".column.lane-dead")
    expect(lane.locator('.card[data-machine="worker_002"]')).to_be_visible()
    expect(lane.locator(".count")).to_have_text("1")
    expect(page.locator('.column[data-column="IDLE"] .count')).to_have_text("1")
    assert page.locator(".board .column").first.get_attribute("data-column") == "dead"
    shots(page, "dead-lane")

    # "dead" in the filter (or a click on the count) shows only what is dead.
    dead.click()
    expect(page.locator(".filter")).to_have_value("dead")
    expect(dead).to_have_attribute("aria-pressed", "true")
    expect(page.locator('#machines li:not([hidden]) .tab[data-status="running"]')).to_have_count(0)
    expect(page.locator('#machines li:not([hidden]) [data-tab="m:solo"]')).to_be_visible()
    assert "filter=dead" in page.url
    shots(page, "dead-filtered")
    dead.click()  # again: every machine
    expect(page.locator(".filter")).to_have_value("")
    expect(page.locator('#machines li:not([hidden]) .tab[data-tab="m:solo"]')).to_be_visible()
    expect(page.locator('#machines li:not([hidden]) .tab[data-status="dead"]')).to_have_count(2)
    send("worker_001", "stop")
    workers["worker_001"].expect(moved("worker_001", "waiting", "stop", "stopped"))


def test_the_send_form_keeps_what_is_typed_and_says_what_the_event_did(
    page: Page, monitor: Monitor, statemachine: Start, project: Path
) -> None:
    (project / "busy.yaml").write_text(BUSY)
    busy = statemachine("busy.yaml", "--machine-name", "busy")
    busy.expect(moved("busy", "ping", "timeout(20ms)", "pong"))
    worker = start_worker(statemachine, "simple_worker")
    page.set_viewport_size({"width": 1280, "height": 820})
    page.goto(f"{monitor.url}#tab=m:busy&i=busy")
    state = page.locator('#machine-header dd[data-fact="state"]')
    expect(state).to_have_text(re.compile("ping|pong"))

    # Typed while the header changes 50 times a second: every key stays.
    event = page.get_by_label("Event to send")
    payload = page.get_by_label("Payload (JSON)")
    event.press_sequentially("stop", delay=60)
    payload.press_sequentially('{"why": "typed under load"', delay=40)  # no closing brace
    seen = state.text_content()
    expect(state).not_to_have_text(seen or "")  # it moved on meanwhile
    expect(event).to_have_value("stop")
    # Invalid JSON: said beside the form, and both fields stay as typed.
    page.get_by_role("button", name="Send event").click()
    outcome = page.locator("#machine-header .outcome")
    expect(outcome).to_have_attribute("data-kind", "error")
    expect(outcome).to_contain_text("not a JSON object")
    expect(event).to_have_value("stop")
    expect(payload).to_have_value('{"why": "typed under load"')
    shots(page, "send-invalid")
    payload.press("End")
    payload.press_sequentially("}")
    page.get_by_role("button", name="Send event").click()
    expect(outcome).to_have_attribute("data-kind", "taken")
    expect(outcome).to_contain_text(re.compile(r"busy: stop: (ping|pong) → stopped"))
    busy.expect(r"\[busy\] (ping|pong) --stop--> stopped")
    # Finished machines are folded away under their heading, which unfolds them.
    finished = page.locator('#machines li.group[data-group="finished"] button')
    expect(finished).to_contain_text("Finished1")
    expect(page.locator('.tab[data-tab="m:busy"]')).to_be_hidden()
    finished.click()
    expect(page.locator('.tab[data-tab="m:busy"]')).to_be_visible()
    expect(finished).to_have_attribute("aria-expanded", "true")

    # An event its state does not take is dropped, and the page says so.
    page.locator('.tab[data-tab="m:simple_worker"]').click()
    suggestions = page.locator("#known-events option")
    expect(suggestions.first).to_have_attribute("value", re.compile("new_job|no_jobs|stop"))
    taken = suggestions.evaluate_all("os => os.map(o => o.label)")
    first_not_taken = next(i for i, label in enumerate(taken) if "not taken" in label)
    assert all("taken in waiting" in label for label in taken[:first_not_taken]), taken
    assert any("job_done · not taken" in label for label in taken), taken
    event.fill("poke")
    payload.fill("")
    page.get_by_role("button", name="Send event").click()
    expect(outcome).to_have_attribute("data-kind", "dropped")
    expect(outcome).to_have_text("simple_worker: dropped: no transition from waiting on poke")
    expect(page.locator(".toast.level-warning").last).to_contain_text("dropped: no transition")
    shots(page, "send-dropped")
    # One another state takes waits while this state's actions run: the page says so.
    event.fill("job_done")
    page.get_by_role("button", name="Send event").click()
    expect(outcome).to_have_attribute("data-kind", "held")
    expect(outcome).to_contain_text("simple_worker: held: job_done waits until waiting's actions")
    event.fill("stop")
    page.get_by_role("button", name="Send event").click()
    expect(outcome).to_have_text("simple_worker: stop: waiting → stopped")
    assert worker.wait() == 0


def test_a_machine_far_longer_in_a_state_than_usual_is_stuck(
    page: Page, monitor: Monitor, statemachine: Start, project: Path
) -> None:
    (project / "render.yaml").write_text(RENDER)
    render = statemachine("render.yaml", "--machine-name", "render")
    for _ in range(6):  # six quick renders: the usual stay in rendering
        render.expect(moved("render", "rendering", "done", "idle"))
    (project / "hang").touch()
    page.set_viewport_size({"width": 1280, "height": 820})
    page.goto(monitor.url)
    tab = page.locator('.tab[data-tab="m:render"]')
    # Stuck once past five times the usual stay and at least 30 s.
    expect(tab).to_have_attribute("data-status", "stuck", timeout=60_000)
    expect(page.locator("#machines li.group:not([hidden])").first).to_have_attribute(
        "data-group", "stuck"
    )
    expect(page.locator("#machine-header .problem")).to_contain_text("stuck: ")
    expect(page.locator('.count-filter[data-health="stuck"]')).to_have_text("1 stuck")
    shots(page, "stuck")
    render.stop()


def test_a_machine_past_its_states_max_time_is_stuck(
    page: Page, monitor: Monitor, statemachine: Start, project: Path
) -> None:
    (project / "render.yaml").write_text(RENDER + "max_time: {rendering: 2s}\n")
    (project / "hang").touch()
    render = statemachine("render.yaml", "--machine-name", "render")
    render.expect(moved("render", "idle", "timeout(10ms)", "rendering"))
    page.goto(monitor.url)
    tab = page.locator('.tab[data-tab="m:render"]')
    # No stays to learn from: the config says how long is too long.
    expect(tab).to_have_attribute("data-status", "stuck")
    expect(page.locator("#machine-header .problem")).to_contain_text(
        re.compile(r"stuck: \d+ s in rendering, past 2 s \(its max_time\)")
    )
    machines = httpx.get(f"{monitor.url}api/machines").json()
    [info] = [m for m in machines if m["name"] == "render"]
    assert (info["stuck"], info["stuck_after"], info["stuck_rule"]) == (True, 2.0, "max_time")
    render.stop()


def test_offline_the_page_greys_and_says_as_of_when_and_pids_come_back_after_a_restart(
    page: Page, monitor: Monitor, statemachine: Start, project: Path
) -> None:
    (project / "busy.yaml").write_text(RESTLESS)
    busy = statemachine("busy.yaml", "--machine-name", "busy")
    worker = start_worker(statemachine, "simple_worker")
    page.set_viewport_size({"width": 1280, "height": 820})
    page.goto(f"{monitor.url}#tab=m:busy&i=busy")
    pid = page.locator('#machine-header dd[data-fact="pid"]')
    expect(pid).to_have_text(str(busy.pid))

    monitor.stop()
    expect(page.locator("body")).to_have_attribute("data-connection", re.compile("offline|reconn"))
    as_of = page.locator("#as-of")
    expect(as_of).to_have_text(re.compile(r"^as of \d\d:\d\d:\d\d$"))
    grey = page.locator(".sidebar").evaluate("e => getComputedStyle(e).filter")
    assert "grayscale(1)" in grey
    shots(page, "offline")

    wait_for_registration_to_age_out(monitor, busy)
    send("busy", "rest")  # quiet now: its last event is newer than its row
    busy.expect(r"\[busy\] (ping|pong) --rest--> resting")
    monitor.start()
    with httpx.Client(base_url=monitor.url) as http:  # as the server first knows it
        assert http.get("/api/machines/busy").json()["pid"] == busy.pid
    expect(page.locator("#connection")).to_have_attribute("data-status", "live")
    expect(as_of).to_be_hidden()
    page.reload()
    expect(pid).to_have_text(str(busy.pid))
    page.locator('.tab[data-tab="m:simple_worker"]').click()
    expect(pid).to_have_text(str(worker.pid))
    shots(page, "restarted")
    send("busy", "stop")
    send("simple_worker", "stop")
    assert busy.wait() == 0


def wait_for_registration_to_age_out(monitor: Monitor, busy: MachineProcess) -> None:
    """Let the busy machine make more events than a starting server reads back
    (RECENT_EVENTS): its registration, with its pid, is not among them."""
    moves = r"\[busy\] \w+ --timeout"
    enough = busy.count(moves) + RECENT_EVENTS + 100
    wait_until(lambda: busy.count(moves) >= enough, 90, "the busy machine's transitions")


def test_deep_links_open_a_timeline_entry_and_a_log_filter(
    page: Page, monitor: Monitor, statemachine: Start
) -> None:
    worker = start_worker(statemachine, "simple_worker")
    start_worker(statemachine, "other")
    page.set_viewport_size({"width": 1280, "height": 820})
    page.goto(monitor.url)
    page.locator('.tab[data-tab="m:simple_worker"]').click()
    entry = page.locator("#timeline .timeline li").first
    expect(entry).to_contain_text("∅ → waiting")
    entry.locator(".time-link").click()
    expect(entry).to_have_class(re.compile(r"\blinked\b"))
    page.get_by_role("button", name="Show activity of").click()
    page.get_by_label("Search machines").fill("simple_worker")
    page.locator('.picker-list li[data-value="m:simple_worker"]').click()
    # The address is written once the page has taken the choice: wait for it.
    expect(page).to_have_url(re.compile(r"log=m%3Asimple_worker"))
    expect(page).to_have_url(re.compile(r"at="))
    link = page.url

    other = page.context.new_page()
    other.set_viewport_size({"width": 1280, "height": 820})
    other.goto(link)
    expect(other.locator('#machine-header [data-fact="state"]')).to_have_text("waiting")
    expect(other.locator("#timeline .timeline li.linked")).to_contain_text("∅ → waiting")
    expect(other.get_by_role("button", name="Show activity of")).to_have_text("simple_worker")
    expect(other.locator('#activity .entry[data-machine="other"]')).to_have_count(0)
    other.screenshot_dir = page.screenshot_dir  # type: ignore[attr-defined]
    shots(other, "deep-link")
    send("simple_worker", "stop")
    assert worker.wait() == 0


def test_cancelling_a_job_asks_first(page: Page, monitor: Monitor, project: Path) -> None:
    job_id = db("add-job", "--type", "task", "--payload", "{}", cwd=project).split()[0]
    page.goto(monitor.url)
    page.keyboard.press("j")
    row = page.locator(f'tr[data-job="{job_id}"]')
    row.click()
    cancel = page.locator(".job-details").get_by_role("button", name="Cancel")
    cancel.click()
    dialog = page.locator("dialog.confirm")
    expect(dialog.locator("h2")).to_have_text(f"Cancel job {job_id}?")
    expect(dialog.locator(".confirm-message")).to_have_text(
        f"The pending job {job_id} (task) will be cancelled: it will not run."
    )
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_have_count(0)
    expect(cancel).to_be_enabled()
    assert json.loads(db("details", job_id, "--format", "json", cwd=project))["status"] == "pending"
    cancel.click()
    dialog.get_by_role("button", name="Cancel 1 job").click()
    expect(row).to_have_attribute("data-status", "cancelled")
    expect(page.locator(".toast")).to_contain_text(f"Job {job_id}: cancel done")


def test_static_files_come_compressed(monitor: Monitor) -> None:
    with httpx.Client(base_url=monitor.url) as http:
        for path in ("/static/vendor/mermaid.min.js", "/static/app/main.js"):
            answer = http.get(path, headers={"Accept-Encoding": "gzip"})
            assert answer.status_code == 200
            assert answer.headers["content-encoding"] == "gzip", path
            assert int(answer.headers.get("content-length", "0")) < len(answer.content)


def test_the_pages_rules_for_health_filters_and_retries(page: Page, monitor: Monitor) -> None:
    page.goto(monitor.url)
    found = page.evaluate(
        """async () => {
          const health = await import("/static/app/health.js");
          const connection = await import("/static/app/connection.js");
          const m = (name, status, extra = {}) => ({ name, status, state: "busy", ...extra });
          const machines = [m("a", "running"), m("b", "dead"), m("c", "running", { stuck: true }),
                            m("d", "finished"), m("e", "dead"), m("f", "stale")];
          const tab = (members) => ({ label: "t", members });
          return {
            healths: machines.map(health.healthOf),
            worst: health.worstHealth([machines[0], machines[2]]),
            summary: health.statusSummary(machines),
            title: health.pageTitle(machines),
            quiet: health.pageTitle([machines[0]]),
            dead: health.matchesFilter(tab([machines[1]]), "dead"),
            notDead: health.matchesFilter(tab([machines[0]]), "dead"),
            running: health.matchesFilter(tab([m("x", "not running")]), "running"),
            byName: health.matchesFilter(tab([m("render_1", "running")]), "render"),
            events: health.eventsFor(
              { events: ["go", "stop", "done"],
                transitions: [{ from: "idle", event: "go", kind: "event" },
                              { from: "*", event: "stop", kind: "wildcard" },
                              { from: "idle", event: "timeout(5s)", kind: "timeout" }] },
              "idle"),
            delays: Array.from({ length: 12 },
                               (_, i) => connection.backoffDelay(i + 1, () => 0.999)),
            low: connection.backoffDelay(20, () => 0),
          };
        }"""
    )
    assert found["healths"] == ["running", "dead", "stuck", "finished", "dead", "stale"]
    assert found["worst"] == "stuck"
    assert found["summary"] == "2 dead · 1 stale · 1 stuck · 1 running · 1 finished"
    assert found["title"] == "(2 dead) statemachine monitor"
    assert found["quiet"] == "statemachine monitor"
    assert (found["dead"], found["notDead"], found["running"], found["byName"]) == (
        True, False, False, True
    )  # fmt: skip
    assert found["events"] == {"accepted": ["go", "stop"], "others": ["done"]}
    assert max(found["delays"]) == 5000  # capped at 5 s, jitter included
    assert found["delays"][0] < 1000
    assert found["low"] == 4000  # jitter spreads the capped waits over 4-5 s


def test_a_link_pasted_into_the_open_page_selects_its_machine(
    page: Page, monitor: Monitor, statemachine: Start
) -> None:
    workers = {name: start_worker(statemachine, name) for name in ("alpha", "beta")}
    page.goto(f"{monitor.url}#tab=m:beta&i=beta")
    title = page.locator("#machine-header h1")
    expect(title).to_have_text("beta")
    # ] and [ step from the machine the link selected: beta is the last, so ] stays.
    page.locator("body").press("]")
    expect(title).to_have_text("beta")
    page.locator("body").press("[")
    expect(title).to_have_text("alpha")
    # A link typed into the address bar of the open page (the page read the hash at load).
    page.evaluate("location.hash = '#tab=m:beta&i=beta'")
    expect(title).to_have_text("beta")
    expect(page).to_have_url(re.compile(r"#tab=m%3Abeta&i=beta$"))
    # The send form then goes to the machine the link names (not with a blank name).
    page.get_by_label("Event to send").fill("   ")
    page.get_by_role("button", name="Send event").click()
    expect(page.locator("#machine-header .outcome")).to_have_text("no event name: nothing sent")
    page.get_by_label("Event to send").fill("stop")
    page.get_by_role("button", name="Send event").click()
    workers["beta"].expect(moved("beta", "waiting", "stop", "stopped"))
    # A link to no known machine says so and leaves the page where it was.
    page.evaluate("location.hash = '#tab=m:nosuch&i=nosuch'")
    expect(page.locator(".toast.level-warning")).to_have_text(
        "No machine named nosuch is known now."
    )
    expect(title).to_have_text("beta")
    page.goto("about:blank")
    page.goto(f"{monitor.url}#tab=m:ghost&i=ghost")  # so too when the page loads with it
    expect(page.locator(".toast.level-warning")).to_have_text(
        "No machine named ghost is known now."
    )
    send("alpha", "stop")
    workers["alpha"].expect(moved("alpha", "waiting", "stop", "stopped"))
