"""The web UI under load: 200 instances at ~200 events/s with the board open in Chromium.

Starts ``statemachine-ui`` and one process of 200 crawler instances (a transition per
instance per second, in bursts: they started together), opens the
template's board in headless Chromium (Playwright, Debian's /usr/bin/chromium), and over
a 10 s window reads the browser's main-thread busy time (CDP ``Performance.getMetrics``
``TaskDuration``), the frames painted (``requestAnimationFrame`` callbacks) and the
events recorded meanwhile. The store holds 100,000 jobs besides (filled as
bench/job_search.py fills its own), and while the machines run the page times the job
explorer's searches, as it asks for them (``GET /api/jobs``), end to end.

    python bench/ui_board.py [--instances 200] [--seconds 10] [--jobs 100000] [--shots DIR]

Bars (issue 19): the page costs under a quarter of a core (main thread CPU < 25 %); each
explorer search answers within 250 ms.
``--shots DIR`` also saves screenshots of the board (1280 and 800 px wide).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from _report import figure, header
from job_search import BAR_MS, fill
from statemachine_engine.database._sqlite import SqliteStore

CONFIG = """
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
  - {from: queued, to: fetching, event: timeout(1s)}
  - {from: fetching, to: parsing, event: timeout(1s)}
  - {from: parsing, to: storing, event: timeout(1s)}
  - {from: storing, to: queued, event: timeout(1s)}
"""
SERVING = re.compile(rb"serving http://127\.0\.0\.1:(\d+)/")
BAR_SHARE = 0.25


def script(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).with_name(name))
    if not Path(found).exists():
        raise SystemExit(f"error: no {name} beside this Python")
    return found


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def descendants(root: int) -> list[int]:
    """Processes under ``root`` (Playwright's driver, Chromium and its children)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        found.extend(children)
        todo.extend(children)
    return found


def cpu_seconds(stat_path: str) -> float:
    try:
        fields = Path(stat_path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def chromium_cpu() -> tuple[float, float]:
    """CPU seconds used so far by every Chromium process of this script, and by the main
    threads of its renderers (a renderer's main thread has the process's id)."""
    total = main = 0.0
    for pid in descendants(os.getpid()):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"chrom" not in command:
            continue
        total += cpu_seconds(f"/proc/{pid}/stat")
        if b"--type=renderer" in command:
            main += cpu_seconds(f"/proc/{pid}/task/{pid}/stat")
    return total, main


#: The explorer's searches, as the page asks for them (the median of three, each with the
#: totals and worker names the page shows).
SEARCHES = {
    "newest first, no filter": "limit=50",
    "status=dead, type=render": "status=dead&type=render&limit=50",
    "text in data (q=frame-4242)": "q=frame-4242&limit=50",
    "worker=worker-7": "worker=worker-7&limit=50",
    "by type, page 1,000": "sort=job_type&offset=49950&limit=50",
    "filter choices (facets=1)": "limit=1&facets=1",
}
EXPLORER_SEARCHES = """async (queries) => {
  const times = [];
  for (const query of queries) {
    const runs = [];
    for (let n = 0; n < 3; n++) {
      const started = performance.now();
      const answer = await fetch(`/api/jobs?${query}`);
      await answer.json();
      runs.push(performance.now() - started);
    }
    times.push(runs.sort((a, b) => a - b)[1]);
  }
  return times;
}"""


async def fill_jobs(db: Path, count: int) -> float:
    """``count`` jobs with a claim each in a new store at ``db`` (bench/job_search.py's)."""
    store = SqliteStore(db)
    try:
        return await fill(SimpleNamespace(kind="sqlite", location=str(db)), store, count)
    finally:
        await store.close()


def events_since(db: Path, since: float) -> int:
    with sqlite3.connect(db, timeout=5) as conn:
        row = conn.execute("SELECT count(*) FROM realtime_events WHERE created_at >= ?", (since,))
        return int(row.fetchone()[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--shots", type=Path, default=None)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    header(f"web UI: {args.instances} instances, board open in Chromium, {args.seconds:g} s")
    workdir = Path(tempfile.mkdtemp(prefix="ui-board-"))
    db = workdir / "db.sqlite"
    env = {**os.environ, "STATEMACHINE_DB": str(db), "STATEMACHINE_SOCKET_DIR": str(workdir / "s")}
    (workdir / "crawler.yaml").write_text(CONFIG)
    started: list[subprocess.Popen[bytes]] = []

    def start(*argv: str, output: int = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            argv, cwd=workdir, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        started.append(process)
        return process

    try:
        if args.jobs:
            seconds = asyncio.run(fill_jobs(db, args.jobs))
            figure(f"fill: {args.jobs:,} jobs with history", seconds, "s")
        per = args.instances
        start(script("statemachine"), "crawler.yaml", "--machine-name", "crawler",
              "--instances", str(per))  # fmt: skip
        while not db.exists():  # the UI shows a store, it never creates one
            time.sleep(0.05)
        ui = start(
            script("statemachine-ui"), "--port", "0", "--project-root", str(workdir),
            output=subprocess.PIPE,
        )  # fmt: skip
        assert ui.stdout is not None
        port, said = None, b""
        while port is None:
            line = ui.stdout.readline()
            said += line
            if not line:
                raise SystemExit(f"error: statemachine-ui ended before serving: {said.decode()}")
            if match := SERVING.search(line):
                port = int(match.group(1))
        subprocess.Popen(["cat"], stdin=ui.stdout, stdout=subprocess.DEVNULL)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                args=["--no-sandbox", "--disable-gpu"],
            )
            page = browser.new_page(viewport={"width": 1280, "height": 820})
            page.goto(f"http://127.0.0.1:{port}/#tab=t:crawler|crawler")
            page.wait_for_function(
                "(n) => document.querySelectorAll('.board .card').length >= n",
                arg=per,
                timeout=30_000,
            )
            time.sleep(2)  # the start's burst of registrations is over
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")

            def metrics() -> dict[str, float]:
                found = cdp.send("Performance.getMetrics")["metrics"]
                return {m["name"]: m["value"] for m in found}

            since = time.time()
            costs0 = page.evaluate("Object.fromEntries(window.smUi.costs)")
            before, cpu0 = metrics(), chromium_cpu()
            time.sleep(args.seconds)
            after, cpu1 = metrics(), chromium_cpu()
            costs1 = page.evaluate("Object.fromEntries(window.smUi.costs)")
            elapsed = time.time() - since
            # Then the frame rate, counted apart: a requestAnimationFrame loop costs frames.
            frames = page.evaluate(
                """() => new Promise((done) => {
                  let n = 0; const end = performance.now() + 3000;
                  const f = (t) => {
                    n++;
                    if (t < end) requestAnimationFrame(f); else done(n / 3);
                  };
                  requestAnimationFrame(f);
                })"""
            )
            searches = page.evaluate(EXPLORER_SEARCHES, list(SEARCHES.values()))
            events = events_since(db, since)
            cards = page.evaluate("document.querySelectorAll('.board .card').length")
            if args.shots:
                args.shots.mkdir(parents=True, exist_ok=True)
                for width in (1280, 800):
                    page.set_viewport_size({"width": width, "height": 820})
                    page.wait_for_timeout(500)
                    page.screenshot(path=str(args.shots / f"busy-board-{width}.png"))
            browser.close()
        kinds = ("TaskDuration", "ScriptDuration", "ThreadTime", "LayoutDuration",
                 "RecalcStyleDuration")  # fmt: skip
        busy = {k: after[k] - before[k] for k in kinds}
        share = busy["ThreadTime"] / elapsed
        figure("cards on the board", cards, "", digits=0)
        figure("events recorded", events / elapsed, "events/s", bar="~200")
        figure("frames the page can paint (3 s after)", frames, "frames/s")
        figure("script", busy["ScriptDuration"] / elapsed * 100, "% of a core")
        figure("layout + style", (busy["LayoutDuration"] + busy["RecalcStyleDuration"])
               / elapsed * 100, "% of a core")  # fmt: skip
        for task, spent in sorted(costs1.items(), key=lambda item: -item[1])[:4]:
            figure(f"  drawing: {task}", (spent - costs0.get(task, 0)) / elapsed / 10,
                   "% of a core")  # fmt: skip
        figure("main thread busy (tasks, wall time)", busy["TaskDuration"] / elapsed * 100,
               "% of a core")  # fmt: skip
        figure("main thread CPU", share * 100, "% of a core",
               bar=f"< {BAR_SHARE * 100:.0f} %", ok=share < BAR_SHARE)  # fmt: skip
        figure("Chromium CPU, every process", (cpu1[0] - cpu0[0]) / elapsed * 100,
               "% of a core")  # fmt: skip
        for label, ms in zip(SEARCHES, searches, strict=True):
            figure(f"explorer: {label}", ms, "ms", bar=f"< {BAR_MS:g} ms", ok=ms < BAR_MS)
        return 0
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
