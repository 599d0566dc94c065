"""The job explorer's queries on 100,000 jobs (issue 19: "server-side, fast on 100,000 jobs").

A store gets N jobs (100,000 by default) of 5 types, spread over the statuses as a busy
system leaves them (70 % completed, 10 % dead, 5 % failed, 10 % pending, 5 % processing),
each with a claim in its history by one of 12 workers. Then each search the explorer
makes is timed (the median of R runs): one page of 50 with its totals and workers, all
that ``GET /api/jobs`` asks the store; the filter choices (``facets=1``); and the
failures view's reads (10,000 failing jobs grouped by normalised message).

    python bench/job_search.py [--jobs N] [--runs R] [--db PATH | URL]

Bar: each search under 250 ms (the page stays responsive as filters are clicked).
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]
sys.path.append(_HERE)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import sqlite3  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from _report import figure, header, median_ms  # noqa: E402
from _stores import BenchDatabase, bench_database  # noqa: E402
from statemachine_engine.database._job_search import JobSearch  # noqa: E402
from statemachine_engine.database._new_jobs import NewJob  # noqa: E402
from statemachine_engine.database.store import OperatorStore  # noqa: E402
from statemachine_engine.monitoring._failure_groups import group_failures  # noqa: E402

BAR_MS = 250.0
TYPES = ("render", "crawl", "mail", "thumbnail", "index")
#: (status, share in twentieths).
SPREAD = (
    "CASE id % 20 WHEN 0 THEN 'dead' WHEN 1 THEN 'dead' WHEN 2 THEN 'failed' "
    "WHEN 3 THEN 'pending' WHEN 4 THEN 'pending' WHEN 5 THEN 'processing' ELSE 'completed' END"
)

SEARCHES = {
    "newest first, no filter": JobSearch(limit=50),
    "status=dead type=render": JobSearch(statuses=("dead",), job_types=("render",), limit=50),
    "text in data (q=frame-4242)": JobSearch(text="frame-4242", limit=50),
    "job id (q=<id>)": JobSearch(text="bench-77777", limit=50),
    "worker=worker-7": JobSearch(worker="worker-7", limit=50),
    "last hour, sorted by updated": JobSearch(since=0.0, sort="updated_at", limit=50),
    "by type, page 1,000": JobSearch(sort="job_type", descending=False, offset=49_950, limit=50),
    "dead+failed by attempts, last page": JobSearch(
        statuses=("dead", "failed"), sort="attempts", offset=14_950, limit=50
    ),
}


def execute(db: BenchDatabase, statements: list[str]) -> None:
    """Run the bench's own writes (the fill) straight on the database."""
    if db.kind == "sqlite":
        conn = sqlite3.connect(db.location, isolation_level=None, timeout=30)
        try:
            for statement in statements:
                conn.execute(statement)
        finally:
            conn.close()
        return
    import psycopg

    with psycopg.connect(db.location, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


async def fill(db: BenchDatabase, store: OperatorStore, count: int) -> float:
    started = time.perf_counter()
    batch = 5_000
    for first in range(0, count, batch):
        await store.add_jobs(
            [
                NewJob(
                    TYPES[n % len(TYPES)],
                    {"frame": f"frame-{n}", "path": f"/data/in/{n}.png"},
                    job_id=f"bench-{n}",
                )
                for n in range(first, min(count, first + batch))
            ]
        )
    execute(
        db,
        [
            f"UPDATE jobs SET status = {SPREAD}, attempts = 1, started_at = created_at, "
            "updated_at = created_at + (id % 600)",
            "UPDATE jobs SET error = 'command exited with status ' || (id % 3) || "
            "': cannot open /data/in/' || id || '.png' WHERE status IN ('dead', 'failed')",
            "UPDATE jobs SET completed_at = updated_at WHERE status IN ('completed', 'dead')",
            "INSERT INTO job_history (job_id, status, attempt, worker, message, at) "
            "SELECT job_id, 'processing', 1, 'worker-' || (id % 12), NULL, created_at FROM jobs",
            "INSERT INTO job_history (job_id, status, attempt, worker, message, at) "
            "SELECT job_id, status, 1, 'worker-' || (id % 12), error, updated_at FROM jobs "
            "WHERE status <> 'processing'",
            "ANALYZE",
        ],
    )
    return time.perf_counter() - started


async def measure(store: OperatorStore, runs: int) -> bool:
    passed = True
    for label, search in SEARCHES.items():
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            page = await store.search_jobs(search)
            samples.append(time.perf_counter() - started)
        ms = median_ms(samples)
        passed &= ms < BAR_MS
        figure(f"{label} ({page.total:,} match)", ms, "ms", bar=f"< {BAR_MS:g} ms", ok=ms < BAR_MS)
    for label, read in {
        "filter choices (types, workers)": lambda: _facets(store),
        "failures view (read and group)": lambda: _failures(store),
    }.items():
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            await read()
            samples.append(time.perf_counter() - started)
        ms = median_ms(samples)
        passed &= ms < BAR_MS
        figure(label, ms, "ms", bar=f"< {BAR_MS:g} ms", ok=ms < BAR_MS)
    return passed


async def _facets(store: OperatorStore) -> None:
    await store.job_type_counts()
    await store.job_workers()


async def _failures(store: OperatorStore) -> None:
    failing = await store.failing_jobs(limit=10_000)
    events = await store.error_events(limit=10_000)
    group_failures(
        [(j.job_id, j.job_type, j.status, j.error, j.at) for j in failing],
        [(e.machine, e.payload, e.at) for e in events],
    )


async def main_async(args: argparse.Namespace, workdir: Path) -> bool:
    with bench_database(args.db, workdir / "bench.db") as db:
        store = db.open()
        assert isinstance(store, OperatorStore)
        try:
            seconds = await fill(db, store, args.jobs)
            figure(f"fill: {args.jobs:,} jobs with history ({db.kind})", seconds, "s")
            return await measure(store, args.runs)
        finally:
            await store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", help="a SQLite path or a postgresql:// URL (default: a temp file)")
    args = parser.parse_args()
    header(f"job explorer queries on {args.jobs:,} jobs")
    print(f"   load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        passed = asyncio.run(main_async(args, Path(tmp)))
    print("PASS" if passed else "MISS")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
