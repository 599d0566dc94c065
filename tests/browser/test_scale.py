"""The UI at scale and its log viewer: hundreds of instances on a compact board, per-state
counts, the diagram's zoom, a foldable panel; the activity log's pause, filters, older
entries from the store and a running command's output. Real machines, Chromium.

Screenshots are taken at 1280 and 800 px wide (``screenshots/`` under the test's tmp dir).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from statemachine_engine.monitoring._settings import SNAPSHOT_EVENTS
from tests.support.processes import MachineProcess, moved, send, wait_until

from .conftest import Monitor

pytestmark = pytest.mark.usefixtures("expect_timeout")

Start = Callable[..., MachineProcess]

CRAWLER = """\
name: Crawler
initial_state: queued
states:
  # === WAITING ===
  - queued
  # === WORKING ===
  - fetching
  - parsing
  # === STORING ===
  - storing
transitions:
  - {from: queued, to: fetching, event: timeout(300ms)}
  - {from: fetching, to: parsing, event: timeout(300ms)}
  - {from: parsing, to: storing, event: timeout(300ms)}
  - {from: storing, to: queued, event: timeout(300ms)}
"""

#: Says something fifty times a second.
CHATTY = """\
name: Chatty
initial_state: ping
states: [ping, pong, stopped]
events: [stop]
final: [stopped]
transitions:
  - {from: ping, to: pong, event: timeout(20ms)}
  - {from: pong, to: ping, event: timeout(20ms)}
  - {from: "*", to: stopped, event: stop}
actions:
  ping:
    - {type: log, message: "tick"}
"""

#: Says two things once, then waits.
QUIET = """\
name: Quiet
initial_state: saying
states: [saying, waiting, stopped]
events: [stop]
final: [stopped]
transitions:
  - {from: saying, to: waiting, event: said}
  - {from: "*", to: stopped, event: stop}
actions:
  saying:
    - {type: log, message: "needle the first"}
    - {type: log, message: "needle in error", level: error, success: said}
"""

#: A command writing lines over time, until a file named ``enough`` appears.
RUNNER = """\
name: Runner
initial_state: idle
states: [idle, running, done]
events: [go]
final: [done]
transitions:
  - {from: idle, to: running, event: go}
  - {from: running, to: done, event: job_done}
actions:
  running:
    - type: bash
      command: >-
        echo "first line"; echo "a complaint" >&2;
        while [ ! -e enough ]; do sleep 0.05; done; echo "last line"
"""

WIDTHS = (1280, 800)


def shots(page: Page, name: str) -> None:
    """Screenshots of the page at each of WIDTHS, then back to the first."""
    folder: Path = page.screenshot_dir  # type: ignore[attr-defined]
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 820})
        page.screenshot(path=str(folder / f"{name}-{width}.png"))
    page.set_viewport_size({"width": WIDTHS[0], "height": 820})


def scale_of(page: Page) -> float:
    return float(page.locator("svg.sm-diagram").get_attribute("data-scale") or "nan")


def test_hundreds_of_instances_on_a_compact_board_and_a_zoomable_diagram(
    page: Page, monitor: Monitor, statemachine: Start, project: Path
) -> None:
    (project / "crawler.yaml").write_text(CRAWLER)
    crawlers = statemachine("crawler.yaml", "--machine-name", "crawler", "--instances", "120")
    crawlers.expect(moved("crawler_120", "queued", "timeout(300ms)", "fetching"))
    page.set_viewport_size({"width": 1280, "height": 820})
    page.goto(f"{monitor.url}#tab=t:crawler|crawler")
    board = page.locator(".board")
    expect(board.locator(".card")).to_have_count(120)
    # Over 60 instances: the compact grid, each tile its instance's number.
    expect(board).to_have_class(re.compile(r"\bcompact\b"))
    tile = board.locator('.card[data-machine="crawler_007"] .card-name')
    assert tile.get_attribute("data-short") == "007"
    counts = [int(n) for n in board.locator(".column > header .count").all_text_contents()]
    assert sum(counts) == 120
    # A column of two states counts each.
    working = board.locator('.column[data-column="WORKING"]')
    expect(working.locator(".column-states")).to_be_visible()
    assert working.evaluate(
        """column => [...column.querySelectorAll('.state-count b')]
             .reduce((sum, b) => sum + Number(b.textContent), 0)
           === Number(column.querySelector('header .count').textContent)"""
    )
    shots(page, "board-compact")
    # 800 px wide: each label stays on the line of its value, and the board keeps room.
    page.set_viewport_size({"width": 800, "height": 820})
    apart = page.locator("#machine-header .fact").evaluate_all(
        """facts => facts.filter((fact) => {
             const [label, value] = fact.children;
             return Math.abs(label.getBoundingClientRect().bottom
                             - value.getBoundingClientRect().bottom) > 4;
           }).map((fact) => fact.textContent)"""
    )
    assert apart == []
    wrapped = page.locator(
        ".topbar .count-filter, .topbar .badge:not([hidden]), .brand"
    ).evaluate_all(
        "items => items.filter((item) => item.getClientRects().length > 1"
        " || item.getBoundingClientRect().height > 30).map((item) => item.textContent)"
    )
    assert wrapped == []
    assert page.locator(".board").bounding_box()["height"] > 200  # type: ignore[index]
    page.set_viewport_size({"width": 1280, "height": 820})

    # Sorted by time in state: in each column, the longest there first.
    page.get_by_label("Sort cards by").select_option("time")
    page.wait_for_function(
        """() => [...document.querySelectorAll('.board .cards')].every((list) => {
             const at = [...list.children].map((c) => Number.parseFloat(c.dataset.at));
             return at.every((t, i) => i === 0 || at[i - 1] <= t);
           })"""
    )
    page.get_by_label("compact grid").uncheck()
    expect(board).not_to_have_class(re.compile(r"\bcompact\b"))
    expect(board.locator('.card[data-machine="crawler_007"] .since')).to_be_visible()
    page.get_by_label("compact grid").check()

    # The diagram counts instances on its states.
    page.locator("#view-diagram").click()
    badges = page.locator("svg.sm-diagram g.sm-count:not([display])")
    expect(badges.first).to_be_visible()
    page.wait_for_function(
        """() => [...document.querySelectorAll('svg.sm-diagram g.sm-count:not([display]) text')]
                 .reduce((sum, t) => sum + Number(t.textContent), 0) === 120"""
    )
    # Zoom, pan, fit, full screen.
    fitted = scale_of(page)
    page.get_by_role("button", name="Zoom in").click()
    assert scale_of(page) == pytest.approx(fitted * 1.25, rel=0.01)
    viewport = page.locator(".diagram-viewport")
    box = viewport.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)
    expect(page.locator("svg.sm-diagram")).not_to_have_attribute(
        "data-scale", f"{fitted * 1.25:.3f}"
    )
    assert scale_of(page) > fitted * 1.25
    before = page.locator("svg.sm-diagram").evaluate("svg => svg.style.transform")
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 80, box["y"] + box["height"] / 2 + 30)
    page.mouse.up()
    assert page.locator("svg.sm-diagram").evaluate("svg => svg.style.transform") != before
    shots(page, "diagram-zoomed")
    page.get_by_role("button", name="Fit the diagram to the panel").click()
    assert scale_of(page) == pytest.approx(fitted, rel=0.01)
    page.get_by_role("button", name="Full screen").click()
    page.wait_for_function("() => document.fullscreenElement?.classList.contains('diagram-host')")
    page.keyboard.press("Escape")
    page.evaluate("document.fullscreenElement && document.exitFullscreen()")
    page.wait_for_function("() => !document.fullscreenElement")
    shots(page, "diagram-counts")

    # The bottom panel folds away (remembered), and T brings it back.
    view_height = page.locator("#view").bounding_box()["height"]  # type: ignore[index]
    fold = page.locator("#panel-collapse")
    fold.click()
    expect(fold).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#timeline")).to_be_hidden()
    assert page.locator("#view").bounding_box()["height"] > view_height + 100  # type: ignore[index]
    shots(page, "panel-folded")
    page.reload()
    expect(page.locator("#panel-collapse")).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("t")
    expect(page.locator("#timeline")).to_be_visible()
    expect(page.locator("#panel-collapse")).to_have_attribute("aria-expanded", "true")


def test_the_activity_log_pauses_filters_reads_the_store_and_streams_output(
    page: Page, monitor: Monitor, statemachine: Start, project: Path
) -> None:
    for name, config in (("quiet", QUIET), ("chatty", CHATTY), ("runner", RUNNER)):
        (project / f"{name}.yaml").write_text(config)
    quiet = statemachine("quiet.yaml", "--machine-name", "quiet")
    quiet.expect(moved("quiet", "saying", "said", "waiting"))
    chatty = statemachine("chatty.yaml", "--machine-name", "chatty")
    # More events than a page's snapshot holds: quiet's lines are only in the store.
    ticks = r"\[chatty\] ping --timeout"
    wait_until(lambda: chatty.count(ticks) > SNAPSHOT_EVENTS, 60, "chatty's events")
    runner = statemachine("runner.yaml", "--machine-name", "runner")
    runner.expect(moved("runner", None, "start", "idle"))

    page.set_viewport_size({"width": 1280, "height": 820})
    page.goto(monitor.url)
    activity = page.locator("#activity")
    rows = activity.locator("ol.activity > li")
    expect(rows.first).to_be_visible()
    assert activity.locator('li[data-machine="quiet"]').count() == 0  # not in the snapshot

    # Scrolled down to read: the log holds still and counts what waits.
    expect(rows.nth(30)).to_be_attached()
    activity.locator(".panel-body").evaluate("body => { body.scrollTop = 300; }")
    new = activity.locator(".new-entries")
    expect(new).to_have_text(re.compile(r"↑ \d+ new"))
    first, waiting = rows.first.text_content(), new.text_content()
    expect(new).not_to_have_text(waiting or "")  # more arrived meanwhile
    assert rows.first.text_content() == first
    shots(page, "activity-paused")
    new.click()
    expect(new).to_be_hidden()
    assert activity.locator(".panel-body").evaluate("body => body.scrollTop") == 0

    # The searchable machine picker: typing narrows, Enter picks; older lines come
    # from the store.
    picker = page.get_by_role("button", name="Show activity of")
    picker.click()
    page.get_by_label("Search machines").fill("qui")
    expect(page.locator(".picker-list li")).to_have_count(1)
    page.get_by_label("Search machines").press("Enter")
    expect(picker).to_have_text("quiet")
    expect(activity.locator('li[data-machine="quiet"]')).to_have_count(3)  # and "registered"
    expect(rows).to_have_count(3)
    assert "log=m%3Aquiet" in page.url or "log=m:quiet" in page.url
    shots(page, "activity-from-store")

    # Level and text filters, over every machine (and the store).
    picker.click()
    page.get_by_label("Search machines").fill("all machines")
    page.get_by_label("Search machines").press("Enter")
    activity.get_by_label("Level").select_option("error")
    expect(activity.locator('li[data-machine="quiet"][data-level="error"]')).to_have_count(1)
    assert set(rows.evaluate_all("rows => rows.map((r) => r.dataset.level)")) == {"error"}
    activity.get_by_label("Level").select_option("")
    activity.get_by_label("Search the activity").fill("NEEDLE THE")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("needle the first")
    activity.get_by_label("Search the activity").fill("")

    # A running command's output, live, while it still runs.
    activity.get_by_label("Level").select_option("output")
    send("runner", "go")
    output = activity.locator('li[data-machine="runner"][data-level="output"]')
    expect(output.first).to_contain_text("first line")
    expect(activity.locator('li[data-machine="runner"]')).to_contain_text(["! a complaint"])
    expect(page.locator('.tab[data-tab="m:runner"] .tab-state')).to_have_text("running")
    shots(page, "activity-output")
    (project / "enough").touch()
    expect(output.first).to_contain_text("last line")
    runner.expect(moved("runner", "running", "job_done", "done"))

    # After a reload, a filter in the URL reads the store too.
    # A page opened at the link (not a hash changed in place: the page keeps writing its
    # own state into the address, and would write over it before a reload).
    page.goto("about:blank")
    page.goto(f"{monitor.url}#log=m:quiet")
    expect(activity.locator('li[data-machine="quiet"]')).to_have_count(3)
    send("chatty", "stop")
    chatty.expect(r"\[chatty\] \w+ --stop--> stopped")  # from ping or pong
    send("quiet", "stop")
    quiet.expect(moved("quiet", "waiting", "stop", "stopped"))


def test_the_rules_of_the_log_filters_the_board_order_and_the_picker(
    page: Page, monitor: Monitor
) -> None:
    page.goto(monitor.url)
    found = page.evaluate(
        """async () => {
          const filter = await import("/static/app/activity_filter.js");
          const order = await import("/static/app/board_order.js");
          const picker = await import("/static/app/machine_picker.js");
          const model = await import("/static/app/model.js");
          const e = (machine, level, text, timestamp, type = "activity_log") =>
            ({ machine, level, text, timestamp, type });
          const all = { machine: "", level: "", text: "", transitions: false };
          const output = model.activityEntry({ machine_name: "m", type: "bash_output",
            timestamp: 1, payload: { lines: [{ stream: "stdout", text: "out" },
                                             { stream: "stderr", text: "err" }], skipped: 3 } });
          return {
            output,
            hidesStates: filter.matches(e("m", "transition", "a → b", 1), all),
            showsStates: filter.matches(e("m", "transition", "a → b", 1),
                                        { ...all, transitions: true }),
            problems: ["info", "warning", "error"].map((level) =>
              filter.matches(e("m", level, "x", 1), { ...all, level: "problems" })),
            text: [
              filter.matches(e("crawler_001", "info", "Fetched", 1), { ...all, text: "fetch" }),
              filter.matches(e("crawler_001", "info", "x", 1), { ...all, text: "CRAWLER_0" }),
              filter.matches(e("m", "info", "x", 1), { ...all, text: "fetch" }),
            ],
            template: [filter.matchesMachine(e("crawler_001"), "t:crawler"),
                       filter.matchesMachine(e("crawlerx"), "t:crawler")],
            query: [filter.storeQuery({ ...all, machine: "t:crawler", text: "boom" }),
                    filter.storeQuery({ ...all, machine: "m:solo", level: "error",
                                        transitions: true })],
            filtering: [filter.filtering(all), filter.filtering({ ...all, level: "error" })],
            merged: filter.mergeNewestFirst([e("a", "info", "new", 3), e("a", "info", "mid", 2)],
                                            [e("a", "info", "mid", 2), e("a", "info", "old", 1)])
                      .map((x) => x.text),
            byTime: [{ name: "b", at: 5 }, { name: "a", at: 5 }, { name: "c", at: 1 },
                     { name: "d", at: null }]
                      .sort((x, y) => order.compareCards("time", x, y)).map((x) => x.name),
            byName: [{ name: "w_10" }, { name: "w_9" }]
                      .sort((x, y) => order.compareCards("name", x, y)).map((x) => x.name),
            short: ["crawler_017", "worker-3", "solo"].map(order.shortName),
            counts: order.stateCounts(["b", "a", "b", "c", "a", "b"]),
            picked: picker.pickMatches(
              [{ value: "", label: "All machines" },
               { value: "t:crawler", label: "crawler_* (all)" },
               { value: "m:crawler_001", label: "crawler_001" },
               { value: "m:solo", label: "solo" }],
              "CRAW 001").map((c) => c.value),
          };
        }"""
    )
    assert found["output"]["level"] == "output"
    assert found["output"]["text"] == "out\n! err\n… 3 more lines (see its log)"
    assert (found["hidesStates"], found["showsStates"]) == (False, True)
    assert found["problems"] == [False, True, True]
    assert found["text"] == [True, True, False]
    assert found["template"] == [True, False]
    assert found["query"] == [
        {"level": "debug,info,success,warning,error,output", "template": "crawler", "text": "boom"},
        {"level": "error", "machine": "solo"},
    ]
    assert found["filtering"] == [False, True]
    assert found["merged"] == ["new", "mid", "old"]
    assert found["byTime"] == ["c", "a", "b", "d"]
    assert found["byName"] == ["w_9", "w_10"]
    assert found["short"] == ["017", "3", "solo"]
    assert found["counts"] == [["b", 3], ["a", 2], ["c", 1]]
    assert found["picked"] == ["m:crawler_001"]
