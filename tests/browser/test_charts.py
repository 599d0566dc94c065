"""The Charts view (#charts, issue 19 part 6): a known workload of real machine processes
(two workers complete four render jobs and fail two for good; five upload jobs wait with no
consumer) and the charts, their labels and their tables, give exactly those numbers, live.

Screenshots at 1280 and 800 px wide, light and dark (``screenshots/`` under the test's
tmp dir).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.files import write
from tests.support.processes import MachineProcess, console_script, moved, run_cli, wait_until

from .conftest import Monitor

pytestmark = pytest.mark.usefixtures("expect_timeout")

Start = Callable[..., MachineProcess]

WORKER = """\
name: Render worker
initial_state: waiting
transitions:
  - {from: waiting, to: processing, event: new_job}
  - {from: waiting, to: waiting, event: no_jobs}
  - {from: processing, to: done, event: ran}
  - {from: processing, to: failing, event: broke}
  - {from: done, to: waiting, event: job_completed}
  - {from: failing, to: waiting, event: job_failed}
actions:
  waiting:
    - {type: check_database_queue, job_type: render, wait: 60}
  processing:
    - {type: bash, command: "exit {code}", success: ran, error: broke}
  done:
    - {type: complete_job, success: job_completed}
  failing:
    - {type: fail_job, reason: "exit code {code}"}
"""


def add_jobs(project: Path, jobs: list[dict[str, object]]) -> None:
    argv = console_script("statemachine-db")
    assert argv is not None
    lines = write(project / "jobs.jsonl", "".join(json.dumps(job) + "\n" for job in jobs))
    result = run_cli("add-job", "--from", str(lines), cwd=project, argv=argv)
    assert result.returncode == 0, result.stderr


def shots(page: Page, name: str) -> None:
    folder: Path = page.screenshot_dir  # type: ignore[attr-defined]
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        for width in (1280, 800):
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(300)  # the charts redraw for the new width on a resize
            page.screenshot(path=str(folder / f"{name}-{width}-{scheme}.png"), full_page=True)
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 1280, "height": 900})


def cell(page: Page, chart: str, row: str, column: int) -> str:
    """The text of a cell of a chart's table (column 0: the first after the row's name)."""
    found = page.locator(f'[data-chart="{chart}"] .chart-table tr[data-row="{row}"] td')
    return found.nth(column).text_content() or ""


def test_charts_give_the_numbers_of_a_known_workload_live(
    page: Page, project: Path, statemachine: Start
) -> None:
    monitor = Monitor(project, "--series-interval", "1", "--series-window", "900")
    try:
        monitor.start()
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(monitor.url + "#charts")
        charts = page.locator("#charts")
        expect(charts).to_be_visible()
        expect(page.locator("#charts-toggle")).to_have_attribute("aria-pressed", "true")
        expect(page.locator('[data-chart="jobs"] .chart-caption')).to_have_text(
            "0 completed · 0 failed in the last 15 min"
        )
        expect(page.locator('[data-chart="queues"] .empty')).to_be_visible()
        expect(page.locator('[data-chart="states"] .empty')).to_have_text(
            "No running instances to count."
        )
        shots(page, "charts-empty")

        add_jobs(
            project,
            [{"type": "render", "job_id": f"ok-{n}", "data": {"code": 0}} for n in range(4)]
            + [{"type": "render", "job_id": f"bad-{n}", "data": {"code": 3}, "max_attempts": 1}
               for n in range(2)]
            + [{"type": "upload", "job_id": f"up-{n}", "data": {}} for n in range(5)],
        )  # fmt: skip
        config = write(project / "worker.yaml", WORKER)
        workers = [statemachine(config, "--machine-name", f"w{n}") for n in (1, 2)]
        finished = [moved(w, "done", "job_completed", "waiting") for w in ("w1", "w2")]
        failed = [moved(w, "failing", "job_failed", "waiting") for w in ("w1", "w2")]
        wait_until(
            lambda: (
                sum(p.count(f) for p in workers for f in finished) == 4
                and sum(p.count(f) for p in workers for f in failed) == 2
            ),
            timeout=30.0,
            what="four jobs completed and two failed",
        )

        # The page asks again every sample: the counts arrive without a reload.
        expect(page.locator('[data-chart="jobs"] .chart-caption')).to_have_text(
            "4 completed · 2 failed in the last 15 min"
        )
        jobs_chart = page.locator('[data-chart="jobs"] svg.chart-svg')
        expect(jobs_chart).to_have_attribute(
            "aria-label",
            re.compile(r"^Jobs per minute: 4 completed and 2 failed in the last 15 min;"),
        )
        assert cell(page, "jobs", "completed", 2) == "4"
        assert cell(page, "jobs", "failed", 2) == "2"
        # The bars (one pair a minute) add up to the same numbers.
        for cls, total in (("c-completed", 4), ("c-failed", 2)):
            bars = page.locator(f'[data-chart="jobs"] rect.chart-bar.{cls}')
            assert (
                sum(float(v) for v in bars.evaluate_all("b => b.map(r => r.dataset.value)"))
                == total
            )

        # Upload jobs wait with nobody to take them: said first, beside 0 consumers.
        upload = page.locator('.queue-chart[data-job-type="upload"]')
        expect(upload).to_have_attribute("data-unserved", "true")
        expect(upload.locator("h4")).to_have_text(
            "upload 5 pending · 0 running · 0 consumers — nobody takes them"
        )
        expect(upload.locator("h4")).to_have_attribute(  # whole when the heading is cut short
            "title", "upload: 5 pending · 0 running · 0 consumers — nobody takes them"
        )
        first_queue = page.locator(".queue-chart").first
        expect(first_queue).to_have_attribute("data-job-type", "upload")
        expect(upload.locator("svg")).to_have_attribute(
            "aria-label", "upload: 5 pending, 0 consumers"
        )
        render = page.locator('.queue-chart[data-job-type="render"]')
        expect(render.locator("h4")).to_contain_text("0 pending · 0 running · 2 consumers")
        assert cell(page, "queues", "upload", 0) == "5"
        assert cell(page, "queues", "render", 2) == "2"

        # Both workers wait for jobs: the template's instances per state.
        states = page.locator('[data-chart="states"]')
        expect(states.locator("select.charts-config")).to_have_value("worker")
        expect(states.locator('.chart-table tr[data-row="waiting"] td').first).to_have_text("2")
        events = page.locator('[data-chart="events"] .chart-table tr[data-row="transitions"] td')
        transitions = int(events.nth(2).text_content() or "0")
        assert transitions >= 2 + 6 * 3  # starts, and three moves per job (idle polls besides)
        # A table opened stays open while the charts are drawn again with each sample.
        page.locator('[data-chart="jobs"] summary').click()
        drawn = page.locator('[data-chart="jobs"] svg.chart-svg').element_handle()
        page.wait_for_function("svg => !svg.isConnected", arg=drawn)
        expect(page.locator('[data-chart="jobs"] details')).to_have_attribute("open", "")
        expect(page.locator('[data-chart="jobs"] .chart-table')).to_be_visible()
        shots(page, "charts-workload")

        # Closing the view brings the machines back, and the hash the machines view keeps.
        page.locator("#charts-toggle").click()
        expect(charts).to_be_hidden()
        expect(page.locator("main.main")).to_be_visible()
        assert "#charts" not in page.url
        page.keyboard.press("c")  # and back, from the keyboard
        expect(charts).to_be_visible()
        expect(page.locator('[data-chart="jobs"] .chart-caption')).to_contain_text("4 completed")
        page.keyboard.press("c")
        expect(charts).to_be_hidden()
        for worker in workers:
            worker.stop()
    finally:
        monitor.close()
