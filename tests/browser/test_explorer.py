"""The job explorer and the failures view as an operator uses them: a real
statemachine-ui over a store of 120 jobs, Chromium, clicks and keys.

Screenshots at 1280 and 800 px wide also go to ``/tmp/shots-ui-jobs/`` (to look at). A
module of its own: see tests/support/browser.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from statemachine_engine.database._sqlite import SqliteStore
from tests.support.files import on_store, sql
from tests.support.processes import MachineProcess, moved

from .conftest import Monitor
from .machines import db

pytestmark = pytest.mark.usefixtures("expect_timeout")

SHOTS = Path("/tmp/shots-ui-jobs")
WIDTHS = (1280, 800)
JOBS_SUMMARY = '.route-body[data-route="jobs"] .explorer-summary'
NEXT = "Next \u203a"
SORT_BY_ID = 'button.sort[data-sort="job_id"]'


async def fail(store: SqliteStore, job_id: str, worker: str, error: str) -> None:
    assert await store.claim_job_by_id(job_id, worker) is not None
    assert await store.fail_job(job_id, error, worker=worker) is not None


async def busy_store(store: SqliteStore) -> None:
    """120 jobs: 60 renders (25 dead of a full disk, r000 dead after two attempts), 40
    crawls (10 timed out: 5 dead, 5 failed; 5 completed) and 20 mails waiting."""
    for n in range(60):
        await store.add_job(
            "render", {"frame": n}, job_id=f"r{n:03}", max_attempts=2 if n == 0 else 1
        )
    for n in range(40):
        await store.add_job(
            "crawl",
            {"url": f"https://example.org/{n}"},
            job_id=f"c{n:03}",
            max_attempts=1 if n < 5 else 3,
        )
    for n in range(20):
        await store.add_job("mail", {"to": f"ops-{n}"}, job_id=f"m{n:03}")
    for n in range(1, 26):
        await fail(store, f"r{n:03}", "renderer-1", f"disk full on /var/render/{n}.png")
    for n in range(10):
        await fail(store, f"c{n:03}", "crawler-1", f"timeout after {n + 5}s")
    for n in range(10, 15):
        assert await store.claim_job_by_id(f"c{n:03}", "crawler-1") is not None
        assert await store.complete_job(f"c{n:03}", result={"pages": n}, worker="crawler-1")
    # r000: its first attempt fails on renderer-1 (which records an action's error),
    # its second dies on renderer-2.
    assert await store.claim_job_by_id("r000", "renderer-1") is not None
    await store.record_realtime_events(
        [("renderer-1", "error", {"action": "bash", "state": "rendering", "message": "exit 3"})]
    )
    assert await store.fail_job("r000", "render of frame 0 failed", worker="renderer-1")


@pytest.fixture
def explorer(monitor: Monitor, project: Path) -> Monitor:
    """The monitor over the busy store, r000 dead after its second attempt."""
    import os

    on_store(busy_store)
    sql(os.environ["STATEMACHINE_DB"], "UPDATE jobs SET run_after = 0 WHERE job_id = 'r000'")

    async def second_attempt(store: SqliteStore) -> None:
        await fail(store, "r000", "renderer-2", "render of frame 0 failed again")

    on_store(second_attempt)
    return monitor


def shown(first: int, last: int, total: int, page: int, pages: int) -> str:
    """The pager's text."""
    return f"{first}\u2013{last} of {total} jobs \u00b7 page {page} of {pages}"


def shots(page: Page, name: str) -> None:
    """Screenshots of the page at each width, for a person to look at."""
    SHOTS.mkdir(exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"))
    page.set_viewport_size({"width": 1280, "height": 800})


def rows(page: Page) -> list[str]:
    return page.locator(".explorer-table tbody tr").evaluate_all(
        "rows => rows.map(row => row.dataset.job)"
    )


def test_jobs_are_searched_filtered_sorted_and_paged(page: Page, explorer: Monitor) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(explorer.url)
    page.get_by_role("link", name="Jobs").click()
    pager = page.locator(".page-text")
    expect(pager).to_have_text(shown(1, 50, 120, 1, 3))
    expect(page.locator(JOBS_SUMMARY)).to_have_text("120 match")
    assert rows(page)[0] == "m019"  # newest first
    page.get_by_role("button", name=NEXT).click()
    expect(pager).to_have_text(shown(51, 100, 120, 2, 3))
    assert "page=2" in page.evaluate("location.hash")
    page.get_by_role("button", name="»").click()
    expect(pager).to_have_text(shown(101, 120, 120, 3, 3))
    expect(page.get_by_role("button", name=NEXT)).to_be_disabled()

    # Status and type filters, counted per status.
    page.locator('.explorer .count-chip[data-status="dead"]').click()
    expect(pager).to_have_text(shown(1, 31, 31, 1, 1))
    page.get_by_label("Job type").select_option("render")
    expect(pager).to_have_text(shown(1, 26, 26, 1, 1))
    expect(page.locator(JOBS_SUMMARY)).to_have_text("26 match · status dead · type render")
    assert page.evaluate("location.hash") == "#jobs?status=dead&type=render"
    expect(page.locator('.explorer .count-chip[data-status="pending"] .n')).to_have_text("34")

    # Sorted by job id, one way then the other.
    page.locator(SORT_BY_ID).click()
    expect(page.locator('th[aria-sort="descending"]')).to_have_text("Job ▼")
    expect(page.locator(".explorer-table tbody tr").first).to_have_attribute("data-job", "r025")
    page.locator(SORT_BY_ID).click()
    expect(page.locator('th[aria-sort="ascending"]')).to_have_text("Job ▲")
    expect(page.locator(".explorer-table tbody tr").first).to_have_attribute("data-job", "r000")
    shots(page, "explorer-dead-renders")

    # A link with the filters in it shows the same.
    page.goto(f"{explorer.url}#jobs?status=dead&type=crawl&sort=job_id")
    expect(pager).to_have_text(shown(1, 5, 5, 1, 1))
    assert rows(page) == [f"c{n:03}" for n in range(5)]
    expect(page.get_by_label("Job type")).to_have_value("crawl")
    expect(page.locator('.explorer .count-chip[data-status="dead"]')).to_have_attribute(
        "aria-pressed", "true"
    )

    # Search by id and by data text (`/` goes to the search); filter by worker.
    page.goto(f"{explorer.url}#jobs")
    expect(pager).to_have_text(shown(1, 50, 120, 1, 3))
    page.keyboard.press("/")
    page.keyboard.type("example.org/3")
    expect(pager).to_have_text(shown(1, 11, 11, 1, 1))  # 3, 30-39
    page.get_by_label("Search jobs by id, data or error text").fill("m007")
    expect(page.locator(".explorer-table tbody tr")).to_have_count(1)
    page.get_by_label("Search jobs by id, data or error text").fill("")
    page.get_by_label("Worker").select_option("crawler-1")
    expect(pager).to_have_text(shown(1, 15, 15, 1, 1))
    expect(page.locator('.explorer-table tr[data-job="c012"] td').nth(5)).to_have_text("crawler-1")
    shots(page, "explorer-worker")

    # A time range of one's own: from a date on.
    page.get_by_label("Time", exact=True).select_option("custom")
    page.get_by_label("From").fill("2099-01-01T00:00")
    expect(pager).to_have_text("0 jobs")
    assert "range=custom&since=" in page.evaluate("location.hash")
    page.get_by_label("From").fill("2000-01-01T00:00")
    expect(pager).to_have_text(shown(1, 15, 15, 1, 1))
    page.get_by_label("Time", exact=True).select_option("")
    expect(page.get_by_label("From")).to_be_hidden()


def test_bulk_retry_asks_with_the_count_and_does_nothing_unless_agreed(
    page: Page, explorer: Monitor
) -> None:
    # The jobs panel under a machine leads to the explorer, its status filter kept.
    page.goto(explorer.url)
    page.keyboard.press("j")
    page.locator('#jobs .count-chip[data-status="dead"]').click()
    expect(page.locator('#jobs .count-chip[data-status="dead"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    page.get_by_role("link", name="Search all jobs →").click()
    pager = page.locator(".page-text")
    expect(pager).to_have_text(shown(1, 31, 31, 1, 1))
    page.get_by_role("link", name="Machines").click()
    expect(page.locator("#explorer")).to_be_hidden()

    page.goto(f"{explorer.url}#jobs?type=crawl&q=timeout")
    expect(pager).to_have_text(shown(1, 10, 10, 1, 1))
    page.get_by_role("button", name="Retry matching…").click()
    dialog = page.locator("dialog.confirm")
    expect(dialog.locator("h2")).to_have_text("Retry 10 jobs?")
    expect(dialog).to_contain_text("text “timeout”")
    expect(dialog).to_contain_text("type crawl")
    shots(page, "explorer-confirm")
    dialog.get_by_role("button", name="Keep them").click()
    expect(dialog).to_have_count(0)
    expect(pager).to_have_text(shown(1, 10, 10, 1, 1))

    page.get_by_role("button", name="Retry matching…").click()
    page.locator("dialog.confirm").get_by_role("button", name="Retry 10 jobs").click()
    expect(page.locator(".toast")).to_contain_text("10 jobs back in the queue")
    expect(page.locator(".explorer-table tbody tr")).to_have_count(0)
    expect(page.locator('.route-body[data-route="jobs"] .empty')).to_have_text(
        "No jobs match these filters."
    )
    counts = page.evaluate("fetch('/api/jobs?type=crawl&limit=1').then(r => r.json())")
    assert counts["by_status"] == {"pending": 35, "completed": 5}


def test_a_job_shows_its_attempts_with_workers_linked_to_their_timelines(
    page: Page, explorer: Monitor, statemachine: Callable[..., MachineProcess]
) -> None:
    machine = statemachine("simple_worker.yaml", "--machine-name", "renderer-1")
    machine.expect(moved("renderer-1", None, "start", "waiting"))
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{explorer.url}#job/r000")
    details = page.locator(".explorer-details")
    expect(details.locator("h3")).to_have_text("Job r000")
    expect(details.locator('dd[data-field="status"]')).to_have_text("dead")
    expect(details.locator('dd[data-field="attempts"]')).to_have_text("2 of 2")
    expect(details.locator('dd[data-field="next-retry"]')).to_have_text("—")
    expect(details.locator('dd[data-field="worker"]')).to_have_text("renderer-2")
    attempts = details.locator(".attempt")
    expect(attempts).to_have_count(2)
    expect(attempts.nth(0)).to_have_attribute("data-outcome", "failed")
    expect(attempts.nth(0).locator(".attempt-message")).to_have_text("render of frame 0 failed")
    expect(attempts.nth(0).locator(".attempt-error")).to_contain_text("bash in rendering: exit 3")
    expect(attempts.nth(1)).to_have_attribute("data-outcome", "dead")
    expect(attempts.nth(1).locator(".machine-link")).to_have_text("renderer-2")
    expect(details.locator(".job-history-table tbody tr")).to_have_count(5)
    expect(details.locator(".job-error pre")).to_have_text("render of frame 0 failed again")
    shots(page, "explorer-details")

    # A completed job shows its result and duration.
    page.locator(".explorer-details").get_by_role("button", name="Close job details").click()
    expect(details).to_be_hidden()
    assert page.evaluate("location.hash") == "#jobs"
    page.goto(f"{explorer.url}#job/c012")
    expect(details.locator("pre.result")).to_have_text(json.dumps({"pages": 12}, indent=2))
    expect(details.locator('dd[data-field="duration"]')).not_to_have_text("—")

    # The worker's link opens that machine's timeline.
    page.goto(f"{explorer.url}#job/r000")
    details.locator(".attempt").nth(0).get_by_role("link", name="renderer-1").click()
    expect(page.locator("#explorer")).to_be_hidden()
    expect(page.locator("#timeline")).to_be_visible()
    page.wait_for_function("location.hash.includes('i=renderer-1')")


def test_a_jobs_details_cancel_it_after_asking_and_retry_it(
    page: Page, explorer: Monitor, project: Path
) -> None:
    """The explorer's details offer the buttons the jobs panel does, and ask the same way."""
    page.goto(f"{explorer.url}#job/m000")
    details = page.locator(".explorer-details")
    status = details.locator('dd[data-field="status"]')
    expect(status).to_have_text("pending")
    expect(details.get_by_role("button", name="Retry")).to_have_count(0)
    details.get_by_role("button", name="Cancel").click()
    dialog = page.locator("dialog.confirm")
    expect(dialog.locator(".confirm-message")).to_have_text(
        "The pending job m000 (mail) will be cancelled: it will not run."
    )
    shots(page, "explorer-cancel-one")
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_have_count(0)
    assert json.loads(db("details", "m000", "--format", "json", cwd=project))["status"] == "pending"

    details.get_by_role("button", name="Cancel").click()
    dialog.get_by_role("button", name="Cancel 1 job").click()
    expect(status).to_have_text("cancelled")
    expect(page.locator(".toast")).to_contain_text("Job m000: cancel done")
    details.get_by_role("button", name="Retry").click()
    expect(status).to_have_text("pending")
    assert json.loads(db("details", "m000", "--format", "json", cwd=project))["status"] == "pending"


def test_failures_are_grouped_by_message_and_a_group_is_retried(
    page: Page, explorer: Monitor
) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(explorer.url)
    page.get_by_role("link", name="Failures").click()
    groups = page.locator(".failure-group")
    expect(groups).to_have_count(4)
    disk = page.locator('.failure-group[data-key="disk full on <path>"]')
    expect(disk.locator(".count")).to_have_text("25")
    expect(disk.locator(".statuses")).to_have_text("25 dead")
    timeouts = page.locator('.failure-group[data-key="timeout after <n>s"]')
    expect(timeouts.locator(".count")).to_have_text("10")
    expect(timeouts.locator(".statuses")).to_have_text("5 dead, 5 failed")
    expect(timeouts).to_contain_text("crawl")
    expect(groups.first).to_have_attribute("data-key", "disk full on <path>")
    disk.get_by_role("button", name="Show jobs").click()
    expect(page.locator(".failure-jobs a")).to_have_count(5)
    expect(page.locator(".failure-jobs")).to_contain_text("and 20 more")
    shots(page, "failures")

    timeouts.get_by_role("button", name="Retry all 10…").click()
    dialog = page.locator("dialog.confirm")
    expect(dialog.locator("h2")).to_have_text("Retry 10 jobs?")
    dialog.get_by_role("button", name="Retry 10 jobs").click()
    expect(page.locator(".toast")).to_contain_text("10 jobs back in the queue")
    expect(groups).to_have_count(3)
    expect(timeouts).to_have_count(0)
    dead = page.evaluate("fetch('/api/jobs?type=crawl&status=dead').then(r => r.json())")
    assert dead["total"] == 0


def test_a_failed_commands_output_is_kept_with_the_job(
    page: Page, monitor: Monitor, project: Path, statemachine: Callable[..., MachineProcess]
) -> None:
    failing = (
        (project / "simple_worker.yaml")
        .read_text()
        .replace(
            'command: "echo file={file} data={current_job.data|json}"',
            'command: "echo rendering {file}; echo disk full writing {file} >&2; exit 3"',
        )
    )
    (project / "failing_worker.yaml").write_text(failing)
    db("add-job", "f1", "--type", "task", "--max-attempts", "1",
       "--payload", '{"file": "a.txt"}', cwd=project)  # fmt: skip
    worker = statemachine("failing_worker.yaml", "--machine-name", "worker")
    worker.expect(moved("worker", "failing", "job_failed", "waiting"))

    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{monitor.url}#job/f1")
    details = page.locator(".explorer-details")
    expect(details.locator('dd[data-field="status"]')).to_have_text("dead")
    attempt = details.locator(".attempt")
    expect(attempt.locator(".attempt-message")).to_have_text(
        "command exited with status 3: disk full writing a.txt"
    )
    output = attempt.locator(".attempt-output")
    expect(output.locator("summary")).to_have_text("Output (exit status 3)")
    expect(output.locator(".output-stderr pre")).to_have_text("disk full writing a.txt")
    expect(output.locator(".output-stdout pre")).to_have_text("rendering a.txt")
    shots(page, "explorer-output")
    # The worker (machine@host) links to the machine's timeline.
    attempt.locator(".machine-link").click()
    expect(page.locator("#timeline")).to_be_visible()
    page.wait_for_function("location.hash.includes('i=worker')")

    printed = db("details", "f1", cwd=project)
    assert printed.splitlines()[-5:] == [
        "output (attempt 1, exit status 3):",
        "  stderr:",
        "    disk full writing a.txt",
        "  stdout:",
        "    rendering a.txt",
    ]
    as_json = json.loads(db("details", "f1", "--format", "json", cwd=project))
    assert as_json["last_output"] == {
        "stdout": "rendering a.txt", "stderr": "disk full writing a.txt", "exit_code": 3,
        "attempt": 1,
    }  # fmt: skip
