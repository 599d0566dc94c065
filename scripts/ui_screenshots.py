"""Take the screenshots docs/ui.md shows, from a busy system started for the purpose.

    python scripts/ui_screenshots.py [--out docs/images]

Starts, in a temporary directory with its own SQLite store, a system like an
operator's (see ``_busy_system.py``: 207 machines, about 3 jobs a second, some failing,
a renderer SIGKILLed mid-job, a stuck indexer) and ``statemachine-ui --allow-control``,
then opens the page in headless Chromium (Playwright, Debian's /usr/bin/chromium) and
saves each screenshot once the page shows what it is about. The charts need a minute of
samples, so a run takes about two minutes. Every process it starts is stopped at the
end, on Ctrl-C or an error too.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _busy_system import BusySystem, say

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 820}
WAIT_MS = 60_000
#: Seconds of samples the charts get before their screenshot.
CHARTS_AFTER = 100.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        epilog="Needs the package installed (its console scripts beside this Python or "
        "on PATH), Playwright's Python package and Chromium at --chromium.",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("docs/images"),
        help="where the PNG files go (default: docs/images)",
    )  # fmt: skip
    parser.add_argument(
        "--chromium", default="/usr/bin/chromium",
        help="the Chromium executable (default: /usr/bin/chromium)",
    )  # fmt: skip
    parser.add_argument(
        "--only", action="append", metavar="NAME",
        help="take only this screenshot (ui-board, ui-charts...; repeatable)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        parser.error(f"no Chromium at {args.chromium} (give --chromium PATH)")
    return args


class Shots:
    """The screenshots, in the order they are taken: each opens a fresh page."""

    def __init__(self, system: BusySystem, browser: Any, out: Path, only: list[str] | None):
        self.system = system
        self.browser = browser
        self.out = out
        self.only = only

    def take(self, name: str, route: str, prepare: Callable[[Any], None]) -> None:
        if self.only and name not in self.only:
            return
        say(f"{name}: opening #{route}")
        # Reduced motion: no CSS transitions half done in a screenshot.
        page = self.browser.new_page(viewport=VIEWPORT, reduced_motion="reduce")
        page.set_default_timeout(WAIT_MS)
        try:
            page.goto(self.system.url + "#" + route)
            page.locator("#connection").filter(has_text="Live").wait_for()
            prepare(page)
            path = self.out / f"{name}.png"
            page.screenshot(path=str(path))
            say(f"{name}: saved {path}")
        finally:
            page.close()

    def all(self, started: float) -> None:
        self.take("ui-board", "tab=t:worker|worker&i=worker_001", self.workers_board)
        self.take("ui-board-compact", "tab=t:crawler|crawler", self.crawler_board)
        self.take("ui-activity", "tab=t:worker|worker&log=t:worker", self.command_output)
        self.take("ui-jobs", "jobs?status=dead&type=render", self.dead_job)
        self.take("ui-failures", "failures", self.failures)
        self.take("ui-problems", "tab=t:renderer|renderer&i=renderer_002", self.problems)
        if not self.only or "ui-charts" in self.only:
            left = CHARTS_AFTER - (time.monotonic() - started)
            if left > 0:
                say(f"letting the charts fill for {left:.0f} s")
                time.sleep(left)
        self.take("ui-charts", "charts", self.charts)
        self.take("ui-diagram", "tab=m:indexer&i=indexer", self.stop_indexer)

    @staticmethod
    def workers_board(page: Any) -> None:
        page.locator(".board .card").nth(2).wait_for()
        page.locator('.board .column[data-column="WORK"] .card').first.wait_for()

    def crawler_board(self, page: Any) -> None:
        page.wait_for_function(
            "(n) => document.querySelectorAll('.board.compact .card').length >= n",
            arg=self.system.crawlers,
        )
        page.locator(".board .column-states .state-count").nth(1).wait_for()

    @staticmethod
    def command_output(page: Any) -> None:
        page.get_by_label("Level").select_option("output")
        page.locator(".activity li").filter(has_text="frame").nth(5).wait_for()

    @staticmethod
    def dead_job(page: Any) -> None:
        page.locator(".explorer-table tbody tr").filter(has_text="disk full").first.click()
        details = page.locator(".explorer-details")
        details.locator(".attempt").nth(1).wait_for()
        details.locator(".attempt-output").first.wait_for()

    @staticmethod
    def failures(page: Any) -> None:
        rows = page.locator(".failures-table tbody tr")
        rows.filter(has_text="disk full on <path>").wait_for()
        rows.filter(has_text="connection reset").first.wait_for()
        page.get_by_role("button", name="Show jobs").first.click()
        page.get_by_role("button", name="Hide jobs").wait_for()

    @staticmethod
    def problems(page: Any) -> None:
        page.locator(".board .lane-dead .card").wait_for()
        page.locator('#machines li.group[data-group="stuck"]').wait_for()
        page.locator("#unserved").filter(has_text="upload").wait_for()

    @staticmethod
    def charts(page: Any) -> None:
        page.get_by_label("Time window").select_option("900")
        page.locator('[data-chart="jobs"]').filter(has_text="last 15 min").wait_for()
        page.locator('[data-chart="jobs"] rect.chart-bar').nth(1).wait_for()
        page.locator('[data-chart="states"] select.charts-config').wait_for()
        page.locator(".queue-chart").nth(2).wait_for()

    @staticmethod
    def stop_indexer(page: Any) -> None:
        page.locator("#view svg").first.wait_for()
        page.get_by_label("Event to send").fill("stop")
        page.get_by_role("button", name="Send event").click()
        page.locator('#view svg[data-current="stopped"]').wait_for()
        page.locator(".toast").filter(has_text="stop").wait_for()
        # The timeline reads the machine's waits again after it moves: its timeout is gone.
        page.locator("#timeline .waits").wait_for(state="detached", timeout=10_000)


def take_screenshots(system: BusySystem, args: argparse.Namespace) -> None:
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    system.start()
    system.wait_for(
        lambda: (system.machine("renderer_002") or {}).get("state") == "encoding",
        "renderer_002 to be encoding a clip",
        60,
    )
    system.kill("renderer_002")
    system.wait_for(
        lambda: (system.machine("indexer") or {}).get("stuck") is True,
        "the indexer to overstay its max_time (stuck), meanwhile the system warms up",
        60,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        try:
            Shots(system, browser, args.out, args.only).all(started)
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def stop_on_sigterm(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop_on_sigterm)
    began = time.monotonic()
    try:
        with BusySystem() as system:
            take_screenshots(system, args)
    except KeyboardInterrupt:
        say("interrupted: everything started is stopped")
        return 130
    say(f"done in {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
