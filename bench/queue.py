"""Job queue throughput: through the store API, and through real worker processes.

(a) One process claims and completes N pre-added jobs through the store API, in each
    sync mode: claims in batches (``store.claim_jobs``, 32 at a time, as a worker that
    can take several does) and their completions in batches (``store.complete_jobs``:
    two transactions per 32 jobs), then one claim and one completion per job
    (``store.claim_job``, ``store.complete_job``: two transactions per job).
(b) 1, 2 and 4 ``statemachine`` worker processes run a worker config without
    subprocess actions (waiting: check_database_queue -> processing: complete_job ->
    waiting; an empty queue or a ``stop`` event ends them). N jobs are added first. The
    throughput is counted from the first claim to the last completion (the store's
    timestamps): a worker's start-up has bars of its own (``bench/startup.py``), and in
    a run of a few thousand jobs it would weigh more than the jobs themselves (four
    workers take 0.2 to 1 s to start on two cores). The time from launching the workers
    until the bench, polling the job counts every 50 ms, sees all N completed is printed
    beside it. Every job must have been claimed exactly once.
(c) The earlier implementation (statemachine-engine 1.0.91, run as a black box) on the
    same workload, when it is installed, with fewer jobs (its add-job takes ~0.2 s).
(d) Jobs that wait: the same workers, but each job first waits ``--io-work-ms`` (20 ms)
    in a ``sleep`` action, as a job waits for a shell command, a model or an HTTP call.
    The zero-work jobs of (b) measure what the queue and the engine cost per job, and
    keep the CPU busy: once the workers and a local database server fill every core,
    more workers on the host cannot go faster. Jobs that wait show whether workers get
    in each other's way in the queue itself: throughput should grow with the workers
    until the cores are full.

    python bench/queue.py [--jobs N] [--api-jobs N] [--workers 1,2,4] [--db PATH | URL]
                          [--io-workers 1,2,4,8] [--io-jobs-per-worker N] [--io-work-ms MS]
                          [--reference PATH] [--reference-jobs N]

Bars (issue 15): >= 15,000 jobs/s through the API with claims in batches (on the
embedded default, SQLite with synchronous=NORMAL; FULL and PostgreSQL print figures only); >= 3,000
jobs/s through one worker process [earlier implementation: ~9/s with one worker, ~18/s
with two]; 2 and 4 workers no slower in total than one; on PostgreSQL, >= 3,000 jobs/s
with 4 workers on this host; zero duplicates. Figures are
taken with SQLite in WAL mode by default; the sync mode is printed with each. With
``--db postgresql://...`` every run works in a fresh schema of that database (dropped
afterwards), with ``synchronous_commit`` off and on.

Each worker run also prints the CPU it cost per job: the workers' (start-up included),
a PostgreSQL server's on this host (all of its sessions), and how many cores that kept
busy.
"""

from __future__ import annotations

import os
import sys

# This file is named like the standard library's `queue`, which asyncio and logging
# import: keep the bench directory behind the standard library on the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]
sys.path.append(_HERE)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

from _report import figure, header  # noqa: E402
from _stores import BenchDatabase, bench_database, cpu_seconds_between, is_postgres  # noqa: E402

#: The store API's bar (DESIGN.md, issue 15), set on the embedded default: SQLite with
#: synchronous=NORMAL. Other modes and PostgreSQL print their figures beside it, unjudged
#: (FULL waits for the disk at each commit; PostgreSQL's bar is on four workers).
API_BAR = 15_000
WORKER_BAR = 3_000
#: How many workers the worker bar is for: one on SQLite, four on PostgreSQL.
BAR_WORKERS = {"sqlite": 1, "postgres": 4}
#: Claims per transaction in the API figure.
API_BATCH = 32
JOB_TYPE = "bench"
POLL_SECONDS = 0.05
RUN_TIMEOUT_SECONDS = 60.0
SYNC_ENV = "STATEMACHINE_SQLITE_SYNC"
PG_SYNC_ENV = "STATEMACHINE_PG_SYNC"

WORKER_CONFIG = """
name: queue-bench worker
initial_state: waiting
states: [waiting, processing, stopped]
events: [new_job, no_jobs, job_done, stop]
transitions:
  - {from: waiting, to: processing, event: new_job}
  - {from: processing, to: waiting, event: job_done}
  - {from: waiting, to: stopped, event: no_jobs}
  - {from: "*", to: stopped, event: stop}
actions:
  waiting:
    - {type: check_database_queue, job_type: bench, wait: WAIT}
  processing:WORK
    - {type: complete_job, success: job_done}
"""
# (d): the job's work, before it is completed.
WORK_ACTION = "\n    - {type: sleep, duration: SECONDS}"

# The earlier implementation's dialect: its complete_job needs the job id spelled out.
REFERENCE_CONFIG = """
name: queue-bench worker
initial_state: waiting
states: [waiting, processing, stopped]
events: [new_job, no_jobs, job_done, stop]
transitions:
  - {from: waiting, to: processing, event: new_job}
  - {from: processing, to: waiting, event: job_done}
  - {from: waiting, to: stopped, event: no_jobs}
  - {from: "*", to: stopped, event: stop}
actions:
  waiting:
    - {type: check_database_queue, job_type: bench}
  processing:
    - {type: complete_job, job_id: "{id}", success: job_done}
"""


def sync_mode(kind: str = "sqlite") -> str:
    if kind == "postgres":
        return os.environ.get(PG_SYNC_ENV, "off").lower()
    return os.environ.get(SYNC_ENV, "NORMAL").upper()


# -- (a) the API -------------------------------------------------------------------


async def add_jobs(location: str, count: int, prefix: str) -> float:
    """Add ``count`` jobs through the API; returns jobs added per second."""
    from statemachine_engine.database import open_store

    store = open_store(location)
    start = time.perf_counter()
    for number in range(count):
        await store.add_job(JOB_TYPE, {"n": number}, job_id=f"{prefix}{number}")
    elapsed = time.perf_counter() - start
    await store.close()
    return count / elapsed


async def api_drain(location: str, count: int, batch: int) -> dict[str, float]:
    """Claim (``batch`` at a time) and complete ``count`` jobs in this process (the
    child of :func:`run_api`)."""
    from statemachine_engine.database import open_store
    from statemachine_engine.database.models.job import JobCompletion

    store = open_store(location)
    worker = f"api-bench-{os.getpid()}"
    await store.job_counts()  # connected (and the schema checked) before the clock starts
    done = 0
    start = time.time()
    while jobs := await store.claim_jobs(JOB_TYPE, worker, limit=batch):
        if batch == 1:
            for job in jobs:
                if not await store.complete_job(job.job_id, worker=worker):
                    raise RuntimeError(f"could not complete {job.job_id}")
        else:
            completions = [JobCompletion(job.job_id, worker, job.attempts) for job in jobs]
            if not all(await store.complete_jobs(completions)):
                raise RuntimeError(f"could not complete {[job.job_id for job in jobs]}")
        done += len(jobs)
    end = time.time()
    await store.close()
    return {"jobs": done, "start": start, "end": end}


def run_api(
    db: BenchDatabase,
    workdir: Path,
    count: int,
    mode: str,
    processes: int = 1,
    batch: int = API_BATCH,
) -> tuple[float, float]:
    """(add rate, claim+complete rate) with ``mode``: one process adds ``count`` jobs,
    then ``processes`` processes drain them together, claiming ``batch`` at a time (rate
    from the first one's start to the last one's end, interpreter start-up left out)."""
    # Wake-ups go to this run's own socket directory, not to other processes' sockets.
    env = {
        **os.environ,
        (PG_SYNC_ENV if db.kind == "postgres" else SYNC_ENV): mode,
        "STATEMACHINE_SOCKET_DIR": str(workdir / "sockets"),
    }

    def child(step: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [
                *(sys.executable, __file__, "--child", step, "--db", db.location),
                *("--jobs", str(count), "--api-batch", str(batch)),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def result(process: subprocess.Popen[str], step: str) -> dict[str, float]:
        out, err = process.communicate()
        if process.returncode != 0:
            sys.exit(f"API run ({step}, synchronous={mode}) failed:\n{err}")
        return dict(json.loads(out.strip().splitlines()[-1]))

    added = result(child("api-add"), "api-add")
    drains = [child("api-drain") for _ in range(processes)]
    drained = [result(process, "api-drain") for process in drains]
    jobs = sum(part["jobs"] for part in drained)
    if jobs != count:
        sys.exit(f"API run drained {jobs} jobs of {count}")
    seconds = max(part["end"] for part in drained) - min(part["start"] for part in drained)
    return added["rate"], jobs / seconds


# -- (b) worker processes -----------------------------------------------------------


@dataclass
class WorkerRun:
    workers: int
    jobs: int
    completed: int
    total_seconds: float  # launch -> all completed (as the poller saw it)
    startup_seconds: float  # launch -> first claim
    busy_seconds: float  # first claim -> last completion (store timestamps)
    claims: int  # 'processing' entries in the job history
    reclaimed: int  # jobs with more than one attempt
    exit_codes: list[int]
    worker_cpu_seconds: float  # user + system, all workers, launch -> exit
    server_cpu_seconds: float | None  # a local PostgreSQL server, launch -> all completed

    @property
    def rate(self) -> float:
        return self.completed / self.total_seconds

    @property
    def busy_rate(self) -> float:
        return self.completed / self.busy_seconds if self.busy_seconds > 0 else 0.0

    @property
    def cores_busy(self) -> float:
        """Cores kept busy by the workers and a local database server during the run."""
        return (self.worker_cpu_seconds + (self.server_cpu_seconds or 0.0)) / self.total_seconds

    def per_job_us(self, seconds: float) -> float:
        return seconds / self.completed * 1e6 if self.completed else 0.0

    @property
    def duplicates(self) -> int:
        return self.claims - self.completed + self.reclaimed

    @property
    def sound(self) -> bool:
        """Every job completed, none taken twice, every worker ended cleanly."""
        return self.completed == self.jobs and not self.duplicates and not any(self.exit_codes)


def count_rows(db: BenchDatabase | Path, query: str, params: tuple[object, ...] = ()) -> int:
    if isinstance(db, Path):
        db = BenchDatabase(str(db), "sqlite")
    return int(db.scalar(query, params) or 0)


def wait_for_completion(
    db: BenchDatabase | Path,
    jobs: int,
    processes: list[subprocess.Popen[bytes]],
    completed_query: str,
    params: tuple[object, ...] = (),
) -> tuple[int, float]:
    """Poll every 50 ms until ``jobs`` are completed; returns (completed, seconds)."""
    start = time.perf_counter()
    completed = 0
    while time.perf_counter() - start < RUN_TIMEOUT_SECONDS:
        try:
            completed = count_rows(db, completed_query, params)
        except sqlite3.OperationalError:
            completed = 0  # the earlier implementation creates its database late
        if completed >= jobs:
            break
        if all(process.poll() is not None for process in processes):
            completed = count_rows(db, completed_query, params)
            break
        time.sleep(POLL_SECONDS)
    return completed, time.perf_counter() - start


def stop_processes(processes: list[subprocess.Popen[bytes]], grace: float = 10.0) -> list[int]:
    """Wait for the workers to end by themselves (empty queue), else SIGTERM them."""
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
    codes = []
    for process in processes:
        try:
            codes.append(process.wait(timeout=5))
        except subprocess.TimeoutExpired:
            process.kill()
            codes.append(process.wait())
    return codes


def run_workers(
    statemachine: str,
    db: BenchDatabase,
    workdir: Path,
    workers: int,
    jobs: int,
    tag: str,
    work_seconds: float = 0.0,
) -> WorkerRun:
    asyncio.run(add_jobs(db.location, jobs, f"{tag}-"))
    config = workdir / f"{tag}-worker.yaml"
    work = WORK_ACTION.replace("SECONDS", repr(work_seconds)) if work_seconds else ""
    # A worker that finds the queue empty for 0.5 s ends; jobs are all queued by then.
    config.write_text(WORKER_CONFIG.replace("WAIT", "0.5").replace("WORK", work))
    env = {
        **os.environ,
        "STATEMACHINE_SOCKET_DIR": str(workdir / "sockets"),
        "STATEMACHINE_CACHE_DIR": str(workdir / "cache"),
    }
    logs = [open(workdir / f"{tag}-w{index}.log", "wb") for index in range(workers)]  # noqa: SIM115
    children_before = _children_cpu_seconds()
    server_before = db.server_cpu_ticks()
    launched = time.time()
    processes = [
        subprocess.Popen(
            [
                statemachine,
                str(config),
                "--machine-name",
                f"{tag}-w{index}",
                "--db",
                db.location,
                "--fresh",
            ],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for index, log in enumerate(logs)
    ]
    like = (f"{tag}-%",)
    completed_query = "SELECT count(*) FROM jobs WHERE status = 'completed' AND job_id LIKE ?"
    try:
        completed, total = wait_for_completion(db, jobs, processes, completed_query, like)
        server_after = db.server_cpu_ticks()
    finally:
        codes = stop_processes(processes)
        for log in logs:
            log.close()
    worker_cpu = _children_cpu_seconds() - children_before
    if completed < jobs or any(codes):
        for index in range(workers):
            tail = (workdir / f"{tag}-w{index}.log").read_text(errors="replace")[-2000:]
            print(f"   worker {index} (exit {codes[index]}) log tail:\n{tail}")
    first_claim = db.scalar("SELECT min(started_at) FROM jobs WHERE job_id LIKE ?", like)
    last_done = db.scalar("SELECT max(completed_at) FROM jobs WHERE job_id LIKE ?", like)
    run = WorkerRun(
        workers=workers,
        jobs=jobs,
        completed=completed,
        total_seconds=total,
        startup_seconds=(first_claim - launched) if first_claim else float("nan"),
        busy_seconds=(last_done - first_claim) if first_claim and last_done else 0.0,
        claims=count_rows(
            db,
            "SELECT count(*) FROM job_history WHERE status = 'processing' AND job_id LIKE ?",
            like,
        ),
        reclaimed=count_rows(
            db, "SELECT count(*) FROM jobs WHERE attempts > 1 AND job_id LIKE ?", like
        ),
        exit_codes=codes,
        worker_cpu_seconds=worker_cpu,
        server_cpu_seconds=cpu_seconds_between(server_before, server_after),
    )

    async def purge() -> None:  # keep the next run's queue to its own jobs
        store = db.open()
        await store.purge_jobs(["completed"])
        await store.close()

    asyncio.run(purge())
    return run


def _children_cpu_seconds() -> float:
    """User + system CPU of this process's children that have ended (and been waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- (c) the earlier implementation ---------------------------------------------------


def run_reference(reference: str, workers: int, jobs: int) -> tuple[float, int, int]:
    """Jobs/s of the earlier implementation's workers; returns (rate, completed, duplicates).

    Run as a black box in a temp dir of its own: it keeps its database in
    ./data/pipeline.db and its sockets under the prefixes given on the command line.
    """
    bindir = Path(reference).parent
    with tempfile.TemporaryDirectory(prefix="queue-bench-ref-") as tmp:
        workdir = Path(tmp)
        db = workdir / "data" / "pipeline.db"
        add = str(bindir / "statemachine-db")

        def add_one(number: int) -> int:
            # It fails on a job without a payload, so every job carries one.
            return subprocess.run(
                [add, "add-job", f"ref{number}", "--type", JOB_TYPE, "--payload", '{"n": 1}'],
                cwd=workdir,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            ).returncode

        add_one(0)  # creates the database before the others race for it
        with ThreadPoolExecutor(4) as pool:
            failures = sum(1 for code in pool.map(add_one, range(1, jobs)) if code)
        if failures:
            raise RuntimeError(f"its add-job failed {failures} times")
        config = workdir / "worker.yaml"
        config.write_text(REFERENCE_CONFIG)
        logs = [open(workdir / f"w{index}.log", "wb") for index in range(workers)]  # noqa: SIM115
        processes = [
            subprocess.Popen(
                [
                    reference,
                    str(config),
                    "--machine-name",
                    f"refw{index}",
                    "--control-socket-prefix",
                    str(workdir / "control"),
                    "--event-socket-path",
                    str(workdir / "events.sock"),
                ],
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            for index, log in enumerate(logs)
        ]
        try:
            completed, total = wait_for_completion(
                db, jobs, processes, "SELECT count(*) FROM jobs WHERE status = 'completed'"
            )
        finally:
            stop_processes(processes)
            for log in logs:
                log.close()
        # Who took which job, from its own log lines ("bench job ID retrieved from queue").
        taken: Counter[str] = Counter()
        for index in range(workers):
            text = (workdir / f"w{index}.log").read_text(errors="replace")
            taken.update(re.findall(r"job (\S+) retrieved from queue", text))
        duplicates = sum(count - 1 for count in taken.values())
        return completed / total, completed, duplicates


# -- printing ---------------------------------------------------------------------


def report_worker_run(
    run: WorkerRun, mode: str, earlier: dict[int, tuple[float, int, int]], kind: str = "sqlite"
) -> bool:
    """Print one run of (b); False if a job was lost or taken twice, or a worker failed."""
    workers = run.workers
    label = f"{workers} worker{'s' if workers > 1 else ''}"
    barred = workers == BAR_WORKERS[kind]
    figure(
        f"jobs/s, {label} (sync={mode})",
        run.busy_rate,
        "/s",
        bar=">= 3,000/s" if barred else None,
        ok=run.busy_rate >= WORKER_BAR and run.sound if barred else None,
        reference=earlier[workers][0] if workers in earlier else None,
    )
    figure("  launch -> all completed", run.rate, "/s")
    figure("  start-up (launch -> first claim)", run.startup_seconds * 1000, "ms")
    figure("  worker CPU per job, start-up included", run.per_job_us(run.worker_cpu_seconds), "us")
    if run.server_cpu_seconds is not None:
        figure("  database server CPU per job", run.per_job_us(run.server_cpu_seconds), "us")
    figure(f"  cores busy (of {os.cpu_count()})", run.cores_busy, "")
    print(
        f"   completed {run.completed:,}/{run.jobs:,}, claims {run.claims:,}, "
        f"duplicates {run.duplicates}, lost {run.jobs - run.completed}, "
        f"worker exit codes {run.exit_codes}"
    )
    return run.sound


def report_scaling(runs: list[WorkerRun], rate: Callable[[WorkerRun], float], kind: str) -> None:
    """One line: each run's throughput relative to the first, and whether it grows."""
    if len(runs) < 2:
        return
    base = rate(runs[0]) or 1.0
    steps = ", ".join(f"{run.workers}: x{rate(run) / base:.2f}" for run in runs)
    grows = all(rate(b) > rate(a) for a, b in itertools.pairwise(runs))
    busiest = max(run.cores_busy for run in runs)
    print(f"   throughput by workers ({steps}): {'grows' if grows else 'does not grow'}", end="")
    if not grows and busiest >= 0.85 * (os.cpu_count() or 1):
        print(f" - the cores are full ({busiest:.1f} of {os.cpu_count()} busy)")
    elif not grows and kind == "sqlite":
        print(" - SQLite commits one writer at a time")
    else:
        print()


def report_no_slower(runs: list[WorkerRun]) -> None:
    """The bar on zero-work runs: more workers finish no fewer jobs per second in total."""
    single = next((run for run in runs if run.workers == 1), None)
    if single is None:
        return
    for run in runs:
        if run.workers > 1:
            ratio = run.busy_rate / (single.busy_rate or 1.0)
            figure(
                f"jobs/s, {run.workers} workers / 1 worker",
                ratio,
                "x",
                bar=">= 1.00x",
                ok=ratio >= 1.0,
                digits=2,
            )


# -- main ------------------------------------------------------------------------


def parse_workers(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 1,4, got {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("worker counts must be at least 1")
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs per worker run")
    parser.add_argument("--api-jobs", type=int, default=10_000, help="jobs for the API figure")
    parser.add_argument("--workers", type=parse_workers, default=[1, 2, 4], help="e.g. 1,4")
    parser.add_argument(
        "--io-workers",
        type=parse_workers,
        default=[1, 2, 4, 8],
        help="worker counts for the jobs that wait (d); e.g. 1,4",
    )
    parser.add_argument(
        "--io-jobs-per-worker", type=int, default=100, help="jobs per worker in (d)"
    )
    parser.add_argument(
        "--io-work-ms", type=float, default=20.0, help="how long each job of (d) waits"
    )
    parser.add_argument(
        "--db",
        metavar="PATH|URL",
        help="SQLite file to use for the worker runs (must not exist yet; kept afterwards), "
        "or a postgresql:// URL (every run then uses a fresh schema there, dropped "
        "afterwards). Default: a temporary SQLite file",
    )
    parser.add_argument("--statemachine", default=shutil.which("statemachine"))
    parser.add_argument(
        "--reference",
        default=os.environ.get("STATEMACHINE_REFERENCE", "/tmp/refvenv/bin/statemachine"),
        help="the earlier implementation's `statemachine` (skipped when missing)",
    )
    parser.add_argument("--reference-jobs", type=int, default=100)
    parser.add_argument("--reference-workers", type=parse_workers, default=[1, 2])
    parser.add_argument("--child", choices=["api-add", "api-drain"], help=argparse.SUPPRESS)
    parser.add_argument("--api-batch", type=int, default=API_BATCH, help=argparse.SUPPRESS)
    args = parser.parse_args()

    postgres = is_postgres(args.db)
    if args.db and "://" in args.db and not postgres:
        scheme = args.db.split("://", 1)[0]
        parser.error(f"--db: unknown URL scheme {scheme!r}; give a path or a postgresql:// URL")

    if args.child == "api-add":
        rate = asyncio.run(add_jobs(args.db, args.jobs, "api-"))
        print(json.dumps({"rate": rate}))
        return 0
    if args.child == "api-drain":
        print(json.dumps(asyncio.run(api_drain(args.db, args.jobs, args.api_batch))))
        return 0

    if not args.statemachine:
        sys.exit("statemachine is not on PATH: pip install -e . first")
    if args.db and not postgres and Path(args.db).exists():
        parser.error(f"--db: {args.db} exists; give a new path (the bench fills it with jobs)")
    reference = args.reference if args.reference and Path(args.reference).exists() else None

    header(f"job queue on {'PostgreSQL' if postgres else 'SQLite'}")
    correct = True  # a MISS is reported, not failed; a duplicate or a lost job fails
    with tempfile.TemporaryDirectory(prefix="queue-bench-") as tmp:
        workdir = Path(tmp)

        # (a) through the API: one process, then several draining one queue.
        print(
            f"   (a) store API, one process: add, then claim_jobs ({API_BATCH} at a time) "
            f"+ complete_jobs ({API_BATCH} at a time)"
        )
        modes = ("off", "on") if postgres else ("NORMAL", "FULL")
        rates: dict[int, float] = {}
        for mode in modes:
            count = args.api_jobs if mode in ("NORMAL", "off") else min(args.api_jobs, 2_000)
            with bench_database(
                args.db if postgres else None, workdir / f"api-{mode.lower()}.db"
            ) as api_db:
                added, drained = run_api(api_db, workdir, count, mode)
            judged = not postgres and mode == modes[0]  # the bar's store: see API_BAR
            figure(
                f"claimed+completed jobs/s, API (sync={mode})",
                drained,
                "/s",
                bar=">= 15,000/s" if judged else None,
                ok=drained >= API_BAR if judged else None,
            )
            figure(f"  jobs added/s, API ({count:,} jobs, sync={mode})", added, "/s")
            if mode == modes[0]:
                with bench_database(
                    args.db if postgres else None, workdir / "api-single.db"
                ) as api_db:
                    single = run_api(api_db, workdir, count, mode, batch=1)[1]
                figure(f"  one claim and one completion per job, sync={mode}", single, "/s")
            if mode == modes[0]:
                rates[1] = drained
        mode = modes[0]
        for processes in (2, 4):
            with bench_database(
                args.db if postgres else None, workdir / f"api-{processes}p.db"
            ) as api_db:
                rates[processes] = run_api(api_db, workdir, args.api_jobs, mode, processes)[1]
        print(
            f"   the same loop in 1, 2 and 4 processes at once, without the engine "
            f"(sync={mode}): " + " / ".join(f"{rate:,.0f}" for rate in rates.values()) + " jobs/s"
        )

        # (c) the earlier implementation first (printed last), so that its figure
        # can stand beside ours for the same number of workers.
        earlier: dict[int, tuple[float, int, int]] = {}
        earlier_error = None if reference else "not installed; see --reference"
        if reference is not None:
            for workers in args.reference_workers:
                try:
                    earlier[workers] = run_reference(reference, workers, args.reference_jobs)
                except (OSError, RuntimeError) as exc:
                    earlier_error = str(exc)
                    break

        # (b) through worker processes, and (d) with jobs that wait.
        target = args.db if postgres else (str(Path(args.db).resolve()) if args.db else None)
        work = args.io_work_ms / 1000.0
        with bench_database(target, workdir / "workers.db") as db:
            mode = sync_mode(db.kind)
            print(
                f"   (b) `statemachine` worker processes, {args.jobs:,} jobs per run, "
                f"sync={mode}, db {db.location}"
            )
            print("       first claim -> last completion (launch -> all completed below it)")
            runs = [
                run_workers(args.statemachine, db, workdir, n, args.jobs, f"run{n}")
                for n in args.workers
            ]
            for run in runs:
                correct = report_worker_run(run, mode, earlier, db.kind) and correct
            report_scaling(runs, lambda run: run.busy_rate, db.kind)
            report_no_slower(runs)
            print(
                f"   (d) jobs that wait {args.io_work_ms:g} ms each (a `sleep` action), "
                f"{args.io_jobs_per_worker} jobs per worker, sync={mode}"
            )
            waiting_runs = []
            for n in args.io_workers:
                jobs = args.io_jobs_per_worker * n
                run = run_workers(
                    args.statemachine, db, workdir, n, jobs, f"io{n}", work_seconds=work
                )
                waiting_runs.append(run)
                correct = correct and run.sound
                label = f"{n} worker{'s' if n > 1 else ''}"
                figure(f"jobs/s, {label}, first claim -> last done", run.busy_rate, "/s")
                figure(f"  of at most {n} / {args.io_work_ms:g} ms", n / work, "/s")
                figure("  launch -> all completed", run.rate, "/s")
                figure(f"  cores busy (of {os.cpu_count()})", run.cores_busy, "")
                print(
                    f"   completed {run.completed:,}/{jobs:,}, duplicates {run.duplicates}, "
                    f"worker exit codes {run.exit_codes}"
                )
            report_scaling(waiting_runs, lambda run: run.busy_rate, db.kind)

        # (c) printed.
        if earlier:
            print(
                f"   (c) earlier implementation ({reference}), same worker config in its "
                f"dialect, {args.reference_jobs} jobs per run (its add-job takes ~0.2 s "
                "each), its own ./data/pipeline.db, launch -> all completed"
            )
            for workers, (rate, completed, duplicates) in earlier.items():
                label = f"{workers} worker{'s' if workers > 1 else ''}"
                figure(f"earlier implementation jobs/s, {label}", rate, "/s")
                print(
                    f"   completed {completed}/{args.reference_jobs}, "
                    f"duplicates {duplicates} (from its logs)"
                )
        if earlier_error:
            print(f"   earlier implementation: not measured ({earlier_error})")
    return 0 if correct else 1


if __name__ == "__main__":
    sys.exit(main())
