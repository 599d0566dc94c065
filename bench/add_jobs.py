"""Queueing jobs: the ``add_job`` action in a machine, and ``statemachine-db add-job --from``.

(a) One durable machine loops ``queueing --job_added--> queueing``, its only action an
    ``add_job`` (a generated id, a small data mapping interpolated from the context):
    jobs queued per second, each step committed with its job. An observer stops the
    machine after N jobs; the clock runs from its start to its end.
(b) How a config queued a job before ``add_job``: a ``bash`` action running
    ``statemachine-db add-job``, one process per job (M of them, run one after another
    as the action would): jobs per second.
(c) ``statemachine-db add-job --from FILE`` with N lines (10,000 by default), then the
    same lines from standard input into a fresh store: jobs per second, the command's
    start-up and the check of every line included.

    python bench/add_jobs.py [--jobs N] [--lines N] [--processes M] [--db PATH | URL]

No bar in DESIGN.md; the issue (17) asks for the figures. With ``--db
postgresql://...`` every part works in a fresh schema of that database.
"""

from __future__ import annotations

import os
import sys

# bench/queue.py is named like the standard library's `queue`, which psycopg imports:
# keep the bench directory behind the standard library on the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]
sys.path.append(_HERE)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from _report import figure, header  # noqa: E402
from _stores import BenchDatabase, bench_database  # noqa: E402
from statemachine_engine.config.loader import config_from_text  # noqa: E402
from statemachine_engine.core.engine import StateMachineEngine  # noqa: E402

DB_CLI = [sys.executable, "-m", "statemachine_engine.database.cli"]

CONTROLLER = """
    name: add-job-bench
    initial_state: queueing
    transitions:
      - {from: queueing, to: queueing, event: job_added}
      - {from: "*", to: stopped, event: stop}
    actions:
      queueing:
        - {type: add_job, job_type: bench, data: {file: "{file}", size: 3}}
    """


class _StopAfter:
    """Stops a machine once it has queued ``jobs`` jobs (one step each)."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.seen = 0

    def state_changed(self, machine: Any, from_state: Any, to_state: str, event: Any) -> None:
        if event.name == "job_added":
            self.seen += 1
            if self.seen == self.jobs:
                machine.request_stop()

    def activity(self, machine: Any, message: str, level: str) -> None: ...

    def finished(self, machine: Any, reason: str) -> None: ...

    def event(self, machine: Any, event_type: str, payload: Any) -> None: ...


async def _action_rate(db: BenchDatabase, jobs: int) -> float:
    store = db.open()
    try:
        engine = StateMachineEngine(
            config_from_text(textwrap.dedent(CONTROLLER)),
            machine_name="controller",
            store=store,
            initial_context={"file": "a.png"},
            observers=[_StopAfter(jobs)],
        )
        start = time.perf_counter()
        await engine.run()
        elapsed = time.perf_counter() - start
        queued = await store.list_jobs(job_type="bench", limit=None)
    finally:
        await store.close()
    # The stop comes after the step of the last counted job: the next entry may queue
    # one more before it is taken.
    if not jobs <= len(queued) <= jobs + 1:
        raise SystemExit(f"expected {jobs} jobs queued, found {len(queued)}")
    return len(queued) / elapsed


def _process_rate(db: BenchDatabase, processes: int, cwd: Path) -> float:
    start = time.perf_counter()
    for n in range(processes):
        subprocess.run(
            [
                *DB_CLI,
                "--db",
                db.location,
                "add-job",
                "--type",
                "bench",
                "--payload",
                json.dumps({"file": f"f{n}.png"}),
            ],
            check=True,
            capture_output=True,
            cwd=cwd,
        )
    return processes / (time.perf_counter() - start)


def _bulk_rate(db: BenchDatabase, lines: Path, count: int, *, stdin: bool) -> float:
    source = "-" if stdin else str(lines)
    start = time.perf_counter()
    with open(lines, "rb") as stream:
        result = subprocess.run(
            [*DB_CLI, "--db", db.location, "add-job", "--from", source],
            stdin=stream if stdin else subprocess.DEVNULL,
            check=True,
            capture_output=True,
            text=True,
            cwd=lines.parent,
        )
    elapsed = time.perf_counter() - start
    if result.stdout.strip() != f"queued {count} jobs":
        raise SystemExit(f"unexpected output: {result.stdout!r}")
    return count / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=5_000, help="jobs the machine queues")
    parser.add_argument("--lines", type=int, default=10_000, help="lines of the --from file")
    parser.add_argument("--processes", type=int, default=20, help="add-job processes in (b)")
    parser.add_argument("--db", help="a PostgreSQL URL (default: SQLite files)")
    args = parser.parse_args()

    header("queueing jobs: add_job and add-job --from")
    workdir = Path(tempfile.mkdtemp(prefix="sm-bench-addjob-"))
    try:
        lines = workdir / "jobs.jsonl"
        lines.write_text(
            "".join(
                json.dumps({"type": "bench", "job_id": f"j{n:06d}", "data": {"n": n}}) + "\n"
                for n in range(args.lines)
            )
        )
        with bench_database(args.db, workdir / "action.db") as db:
            print(f"   store: {db.kind}")
            rate = asyncio.run(_action_rate(db, args.jobs))
            figure(f"(a) add_job action, {args.jobs} jobs", rate, "jobs/s")
        with bench_database(args.db, workdir / "processes.db") as db:
            old = _process_rate(db, args.processes, workdir)
            figure(f"(b) statemachine-db add-job per job, {args.processes}", old, "jobs/s")
        print(f"    add_job is {rate / old:,.0f}x a process per job")
        with bench_database(args.db, workdir / "bulk-file.db") as db:
            bulk = _bulk_rate(db, lines, args.lines, stdin=False)
            figure(f"(c) add-job --from FILE, {args.lines} lines", bulk, "jobs/s")
        with bench_database(args.db, workdir / "bulk-stdin.db") as db:
            bulk = _bulk_rate(db, lines, args.lines, stdin=True)
            figure(f"(c) add-job --from -, {args.lines} lines", bulk, "jobs/s")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
