"""Job queue throughput through the store API, one process: jobs/s claimed+completed.

N jobs are added first (not timed in the main figure), then one worker loop claims and
completes them until the queue is empty; every job is checked completed afterwards. Each
claim and each completion is its own durable transaction (``BEGIN IMMEDIATE`` ...
``COMMIT``), so a job costs two commits. Measured on a fresh SQLite file per run, with
``synchronous=NORMAL`` (the default) and ``FULL`` (``STATEMACHINE_SQLITE_SYNC=FULL``).

    python bench/queue_api.py [--jobs N] [--runs R] [--reference-python PATH]

Bar (DESIGN.md): >= 5,000 jobs/s claimed+completed through the API. The earlier
implementation's API (``JobModel.get_next_job`` + ``complete_job``, its own defaults: a
rollback journal, synchronous=FULL, a connection per call) runs the same loop side by side
when its interpreter is found: ``--reference-python``, else $STATEMACHINE_REFERENCE_PYTHON,
else /tmp/refvenv/bin/python (``pip install statemachine-engine==1.0.91`` there).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
from pathlib import Path

from _report import figure, header
from statemachine_engine.database.models.job import JobStatus
from statemachine_engine.database.sqlite import SYNC_ENV, SqliteStore

BAR = 5_000
REFERENCE_PYTHON = "/tmp/refvenv/bin/python"
REFERENCE_JOBS = 500
# Run by the earlier implementation's interpreter: the same add-then-drain loop.
REFERENCE_SCRIPT = """
import os, sys, tempfile, time
from statemachine_engine.database.models import Database, JobModel
jobs = int(sys.argv[1])
with tempfile.TemporaryDirectory() as directory:
    model = JobModel(Database(os.path.join(directory, "ref.db")))
    for n in range(jobs):
        model.create_job(f"job-{n}", "task", data={"file": "input/image-0001.png"})
    start, done = time.perf_counter(), 0
    while (job := model.get_next_job("task")) is not None:
        model.complete_job(job["job_id"])
        done += 1
    elapsed = time.perf_counter() - start
    assert done == jobs, done
    print(jobs / elapsed)
"""
SYNC_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


async def _run(path: Path, jobs: int) -> tuple[float, float, str]:
    """One run on a fresh file: (jobs added/s, jobs claimed+completed/s, sync mode)."""
    store = SqliteStore(path)
    try:
        # the mode actually in effect on the store's connection, read back from SQLite
        conn = store._conn  # private, but a benchmark may look inside
        mode = SYNC_NAMES[conn.execute("PRAGMA synchronous").fetchone()[0]]
        payload = {"file": "input/image-0001.png", "options": {"size": 512}}
        start = time.perf_counter()
        for _ in range(jobs):
            await store.add_job("task", payload)
        added = jobs / (time.perf_counter() - start)

        start = time.perf_counter()
        done = 0
        while (job := await store.claim_job("task", "bench-worker")) is not None:
            if await store.complete_job(job.job_id, result={"ok": True}, worker="bench-worker"):
                done += 1
        elapsed = time.perf_counter() - start

        counts = await store.job_counts()
        if done != jobs or counts[JobStatus.COMPLETED] != jobs:
            raise SystemExit(f"lost jobs: completed {done} of {jobs}, counts {counts}")
        return added, jobs / elapsed, mode
    finally:
        await store.close()


def measure(sync: str, jobs: int, runs: int) -> tuple[float, float, str]:
    """Best of ``runs`` with ``STATEMACHINE_SQLITE_SYNC=sync`` (read when a store opens)."""
    previous = os.environ.get(SYNC_ENV)
    os.environ[SYNC_ENV] = sync
    try:
        results = []
        for run in range(runs):
            with tempfile.TemporaryDirectory(prefix="bench-queue-") as directory:
                results.append(asyncio.run(_run(Path(directory) / f"run{run}.db", jobs)))
    finally:
        if previous is None:
            os.environ.pop(SYNC_ENV, None)
        else:
            os.environ[SYNC_ENV] = previous
    best = max(results, key=lambda result: result[1])
    return max(r[0] for r in results), best[1], best[2]


def measure_reference(python: str, jobs: int) -> float | None:
    """The earlier implementation's jobs/s through its API, or None when absent."""
    if not Path(python).exists():
        return None
    with tempfile.TemporaryDirectory(prefix="bench-queue-ref-") as directory:
        done = subprocess.run(
            [python, "-c", REFERENCE_SCRIPT, str(jobs)],
            capture_output=True,
            text=True,
            cwd=directory,
            timeout=120,
            check=False,
        )
    if done.returncode != 0:
        print(f"   (earlier implementation failed: {done.stderr.strip().splitlines()[-1:]})")
        return None
    return float(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4_000, help="jobs per run (default 4,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per sync mode, best kept")
    parser.add_argument(
        "--reference-python",
        default=os.environ.get("STATEMACHINE_REFERENCE_PYTHON", REFERENCE_PYTHON),
        help="the earlier implementation's python (default: $STATEMACHINE_REFERENCE_PYTHON "
        f"or {REFERENCE_PYTHON})",
    )
    args = parser.parse_args()
    header("job queue through the store API (SQLite, one process, one worker loop)")
    print(f"   {args.jobs:,} jobs per run, best of {args.runs}; 2 commits per job")
    reference = measure_reference(args.reference_python, REFERENCE_JOBS)
    if reference is None:
        print(f"   (no earlier implementation at {args.reference_python}: measured alone)")
    for sync in ("NORMAL", "FULL"):
        added, rate, mode = measure(sync, args.jobs, args.runs)
        figure(
            f"claimed+completed, synchronous={mode}",
            rate,
            "jobs/s",
            bar=">= 5,000 jobs/s",
            ok=rate >= BAR,
            reference=reference,
        )
        figure(f"added (add_job), synchronous={mode}", added, "jobs/s")
    if reference is not None:
        print(
            f"   earlier implementation: {REFERENCE_JOBS} jobs, get_next_job + complete_job, "
            "its defaults (rollback journal, synchronous=FULL)"
        )


if __name__ == "__main__":
    main()
