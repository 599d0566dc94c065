"""Chaos: workers SIGKILLed and restarted while they drain a queue; no job lost, none run
twice side by side.

N jobs (2,000) are added; 4 ``statemachine`` worker processes drain them. Every
``--kill-every`` seconds (0.5) a random running worker is SIGKILLed (its whole process
group) and started again under the same name, so it resumes where it was: at once, or,
for a share of the kills (``--late-restarts``, 0.2), only once its job's lease has run
out, so that another worker has claimed the job meanwhile and the fencing on resume is
what keeps the late one off it. Each job's
run appends a line to ``runs/<job_id>.log`` when it starts and one when it ends: the
time, the worker, its pid and the job's attempt. The run is done by the workers in
either of two ways (``--action``; by default the bench runs both, one after the other):

- ``python``: a Python action, so a killed worker takes its run with it;
- ``bash``: a ``bash`` command whose work (``sleep``, then the end line) runs in a
  subshell the shell forks, as real commands fork theirs. The shell dies with its worker
  (``PR_SET_PDEATHSIG``) but the subshell does not: only the engine's process-group
  handling ends it. A subshell that outlives its worker plays a real command's part: it
  goes on working for the lease plus 1 s before it writes its end line, so it shows as
  an overlapping run beside the re-run, or beside the worker that claims the job once
  the lease ran out.

With ``--long-jobs N``, N jobs work ``--long-work-ms`` (the lease plus 1 s) instead,
longer than the lease: a resumed worker's re-run then lasts past the lease it held when
it died. The kills make such jobs take many attempts (a worker lives about 2 s), so
they are off by default.

Once every job is completed the chaos stops, the workers are stopped and the runs are
read back:

- jobs completed, lost (not completed: 0 expected);
- duplicate runs (a job run more than once), and whether each one came after a crash
  of the run before it (its process was SIGKILLed: at-least-once, expected) or not;
- overlapping runs: two runs of one job in progress at the same time (a killed run
  lasts until its worker was seen dead, or until the end line its left-over processes
  wrote). None expected: the lease, the fencing by attempt and the fencing on resume
  keep a second runner off a job, and an action's processes die with its worker;
- action processes still running once the workers are stopped (``bash``): none expected.

    python bench/chaos.py [--action python|bash|both] [--jobs N] [--workers 4]
                          [--kill-every 0.5] [--work-ms 20] [--long-jobs 0]
                          [--long-work-ms MS] [--lease 3] [--late-restarts 0.2]
                          [--seed S] [--db PATH | postgresql://...]

On PostgreSQL the run works in a fresh schema of the database given (dropped at the end).
"""

from __future__ import annotations

import os
import sys

# bench/ holds queue.py, named like the standard library's `queue` (which psycopg
# imports): keep the bench directory behind the standard library on the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]
sys.path.append(_HERE)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import NamedTuple  # noqa: E402

from _report import figure, header  # noqa: E402
from _stores import BenchDatabase, bench_database, is_postgres  # noqa: E402

JOB_TYPE = "chaos"
POLL_SECONDS = 0.1
#: The run gives up this long after the last job was added, chaos or not.
RUN_TIMEOUT_SECONDS = 300.0
#: Jobs get this many attempts: a lease that runs out uses one up, and a worker may be
#: killed several times in a row; a dead job counts as lost.
MAX_ATTEMPTS = 20

WORKER_CONFIG = """
name: chaos worker
initial_state: waiting
transitions:
  - {from: waiting, to: processing, event: new_job}
  - {from: waiting, to: waiting, event: no_jobs}
  - {from: processing, to: waiting, event: job_completed}
  - {from: processing, to: waiting, event: job_lost}
  - {from: processing, to: waiting, event: error}
  - {from: "*", to: stopped, event: stop}
actions:
  waiting:
    - {type: check_database_queue, job_type: chaos, wait: 5, lease: LEASE}
  processing:
    - STEP
    - {type: complete_job, success: job_completed}
"""

#: The job's run, per --action (each job's data carries its ``work`` in seconds).
STEPS = {
    "python": '{type: chaos_run, runs_dir: "RUNS", work_seconds: "{current_job.data.work}"}',
    # One printf is one write: lines of several runs never mix. The end line is written
    # by the forked subshell, which PR_SET_PDEATHSIG does not reach; if its worker ($PPID
    # is the worker's pid in a subshell too) is gone by then, it goes on "working".
    "bash": """type: bash
      timeout: 600
      command: >-
        printf 'start %s %s %s %s\\n' "$EPOCHREALTIME" {machine_name} "$PPID"
        {current_job.attempts} >> RUNS/{job_id}.log;
        ( sleep {current_job.data.work}; kill -0 "$PPID" 2>/dev/null || sleep LINGER;
        printf 'end %s %s %s %s\\n' "$EPOCHREALTIME" {machine_name} "$PPID"
        {current_job.attempts} >> RUNS/{job_id}.log )""",
}

ACTION = '''
"""Records a run of a job: a line when it starts, one when it ends."""

import asyncio
import os
import time

from statemachine_engine.actions import BaseAction


def _record(path, line):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())  # one write: lines of several runs never mix
    finally:
        os.close(fd)


class ChaosRunAction(BaseAction):
    default_success = "job_done"

    async def execute(self, context):
        job = context["current_job"]
        path = os.path.join(self.config["runs_dir"], f"{job['job_id']}.log")
        who = f"{context['machine_name']} {os.getpid()} {job['attempts']}"
        _record(path, f"start {time.time():.6f} {who}\\n")
        await asyncio.sleep(float(self.config["work_seconds"]))
        _record(path, f"end {time.time():.6f} {who}\\n")
        return "job_done"
'''


class Run(NamedTuple):
    start: float
    end: float | None  # None: its process was killed before it ended
    worker: str
    pid: int
    attempt: int


@dataclass
class Chaos:
    """The worker processes, their kills and restarts."""

    argv: list[str]
    workdir: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    killed_at: dict[int, float] = field(default_factory=dict)  # pid -> seen dead
    due: dict[str, float] = field(default_factory=dict)  # worker -> its late restart
    late: int = 0
    kills: int = 0
    restarts: int = 0
    exits: Counter[int] = field(default_factory=Counter)

    def start(self, name: str) -> None:
        with open(self.workdir / f"{name}.log", "ab") as log:
            self.processes[name] = subprocess.Popen(
                [*self.argv, "--machine-name", name],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def running(self) -> list[str]:
        return [name for name in self.processes if name not in self.due]

    def kill(self, name: str, restart_after: float = 0.0) -> None:
        process = self.processes[name]
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            self.killed_at[process.pid] = time.time()  # dead by now: a safe upper bound
            self.kills += 1
        else:
            self.exits[process.returncode] += 1
        if restart_after > 0:
            self.due[name] = time.monotonic() + restart_after
            self.late += 1
            return
        self.start(name)
        self.restarts += 1

    def revive(self) -> None:
        """Start the workers whose late restart is due, and again any worker that ended
        by itself (counted under exits)."""
        now = time.monotonic()
        for name, when in list(self.due.items()):
            if when <= now:
                del self.due[name]
                self.start(name)
                self.restarts += 1
        for name, process in list(self.processes.items()):
            if name not in self.due and process.poll() is not None:
                self.exits[process.returncode] += 1
                self.start(name)
                self.restarts += 1

    def stop(self) -> list[int]:
        """SIGTERM the running workers; their exit statuses."""
        running = [self.processes[name] for name in self.running()]
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = []
        for process in running:
            try:
                codes.append(process.wait(timeout=15))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                codes.append(process.wait())
        return codes


def work_seconds(args: argparse.Namespace) -> list[float]:
    """Each job's work: ``--work-ms``, and ``--long-work-ms`` for ``--long-jobs`` of them
    spread over the queue."""
    work = [args.work_ms / 1000] * args.jobs
    long_jobs = min(args.long_jobs, args.jobs)
    for index in range(long_jobs):
        work[(2 * index + 1) * args.jobs // (2 * long_jobs)] = args.long_work_ms / 1000
    return work


async def add_jobs(location: str, work: list[float]) -> None:
    from statemachine_engine.database import open_store

    store = open_store(location)
    try:
        for number, seconds in enumerate(work):
            await store.add_job(
                JOB_TYPE,
                {"n": number, "work": seconds},
                job_id=f"chaos-{number}",
                max_attempts=MAX_ATTEMPTS,
            )
    finally:
        await store.close()


def left_running(marker: str) -> list[int]:
    """Processes whose command line holds ``marker`` (the runs directory): an action's
    shell, or a subshell it forked, still there."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                if marker.encode() in cmdline.read():
                    found.append(int(entry.name))
        except OSError:
            continue  # gone meanwhile
    return found


def read_runs(runs_dir: Path) -> dict[str, list[Run]]:
    """Each job's runs, by start time, from its ``runs/<job_id>.log``."""
    runs: dict[str, list[Run]] = {}
    for path in runs_dir.glob("*.log"):
        starts: list[tuple[float, str, int, int]] = []
        ends: dict[tuple[int, int], float] = {}  # a process runs an attempt once
        for line in path.read_text().splitlines():
            kind, stamp, worker, pid, attempt = line.split()
            stamp = stamp.replace(",", ".")  # bash's $EPOCHREALTIME follows the locale
            if kind == "start":
                starts.append((float(stamp), worker, int(pid), int(attempt)))
            else:
                ends[(int(pid), int(attempt))] = float(stamp)
        runs[path.stem] = sorted(
            Run(start, ends.get((pid, attempt)), worker, pid, attempt)
            for start, worker, pid, attempt in starts
        )
    return runs


@dataclass
class Verdict:
    duplicates: int = 0  # runs after the first, over all jobs
    after_crash: int = 0  # of those, the ones whose previous run's process was killed
    overlaps: int = 0
    unfinished: int = 0  # runs with no end whose process was never killed
    examples: list[str] = field(default_factory=list)


def judge(runs: dict[str, list[Run]], killed_at: dict[int, float]) -> Verdict:
    verdict = Verdict()
    for job_id, job_runs in runs.items():
        latest_end = float("-inf")
        previous: Run | None = None
        for run in job_runs:
            if previous is not None:
                verdict.duplicates += 1
                if previous.pid in killed_at and killed_at[previous.pid] <= run.start:
                    verdict.after_crash += 1
                elif len(verdict.examples) < 5:
                    verdict.examples.append(f"{job_id}: {previous} then {run} without a crash")
                if run.start < latest_end:
                    verdict.overlaps += 1
                    if len(verdict.examples) < 5:
                        verdict.examples.append(f"{job_id}: {run} overlaps an earlier run")
            end = run.end if run.end is not None else killed_at.get(run.pid)
            if end is None:
                verdict.unfinished += 1
                end = float("inf")
            latest_end = max(latest_end, end)
            previous = run
    return verdict


def chaos_run(args: argparse.Namespace, db: BenchDatabase, workdir: Path, action: str) -> bool:
    runs_dir = workdir / "runs"
    runs_dir.mkdir()
    actions = workdir / "actions"
    actions.mkdir()
    (actions / "chaos_run_action.py").write_text(ACTION)
    config = workdir / "worker.yaml"
    config.write_text(
        WORKER_CONFIG.replace("STEP", STEPS[action])
        .replace("LINGER", repr(args.lease + 1.0))
        .replace("LEASE", repr(args.lease))
        .replace("RUNS", str(runs_dir))
    )
    asyncio.run(add_jobs(db.location, work_seconds(args)))
    env = {
        **os.environ,
        "STATEMACHINE_SOCKET_DIR": str(workdir / "sockets"),
        "STATEMACHINE_CACHE_DIR": str(workdir / "cache"),
    }
    argv = [*args.statemachine, str(config), "--db", db.location, "--actions-dir", str(actions)]
    chaos = Chaos(argv, workdir, env)
    names = [f"chaos-w{index}" for index in range(args.workers)]
    rng = random.Random(args.seed)
    completed_query = "SELECT count(*) FROM jobs WHERE status = 'completed'"
    started = time.perf_counter()
    for name in names:
        chaos.start(name)
    next_kill = time.perf_counter() + args.kill_every
    completed = 0
    try:
        while time.perf_counter() - started < RUN_TIMEOUT_SECONDS:
            completed = int(db.scalar(completed_query) or 0)
            if completed >= args.jobs:
                break
            now = time.perf_counter()
            running = chaos.running()
            if now >= next_kill and running:
                late = rng.random() < args.late_restarts
                chaos.kill(rng.choice(running), args.lease + 1.0 if late else 0.0)
                next_kill = now + args.kill_every
            chaos.revive()
            time.sleep(min(POLL_SECONDS, max(0.0, next_kill - time.perf_counter())))
        elapsed = time.perf_counter() - started
    finally:
        codes = chaos.stop()
    leftovers = left_running(str(runs_dir))
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    statuses = {
        status: int(db.scalar("SELECT count(*) FROM jobs WHERE status = ?", (status,)) or 0)
        for status in ("pending", "processing", "failed", "dead", "completed")
    }
    runs = read_runs(runs_dir)
    verdict = judge(runs, chaos.killed_at)
    fenced = sum(
        (workdir / f"{name}.log").read_text(errors="replace").count("without its job")
        for name in names
    )
    reclaimed = int(db.scalar("SELECT count(*) FROM jobs WHERE attempts > 1") or 0)
    lost = args.jobs - statuses["completed"]
    never_run = args.jobs - len(runs)

    print(
        f"   {args.jobs:,} jobs, {args.workers} workers, a random one SIGKILLed every "
        f"{args.kill_every} s and restarted under its name; the work in a {action} action: "
        f"{args.work_ms:g} ms per job"
        + (f", {args.long_work_ms:g} ms for {args.long_jobs} of them; " if args.long_jobs else "; ")
        + f"lease {args.lease:g} s; {args.late_restarts:.0%} of the kills restarted after "
        "the lease"
    )
    figure("elapsed until every job was completed", elapsed, "s")
    figure("  workers SIGKILLed (and restarted)", chaos.kills, "", digits=0)
    figure("    restarted only after the lease ran out", chaos.late, "", digits=0)
    figure("  worker exits by themselves (restarted)", sum(chaos.exits.values()), "", digits=0)
    figure("  resumes fenced (job lost while down)", fenced, "", digits=0)
    figure("  jobs claimed again after a lease ran out", reclaimed, "", digits=0)
    figure(
        "jobs completed",
        statuses["completed"],
        f"of {args.jobs:,}",
        bar="all",
        ok=statuses["completed"] == args.jobs,
        digits=0,
    )
    figure("jobs lost (not completed)", lost, "", bar="0", ok=lost == 0, digits=0)
    if lost:
        missing = {status: n for status, n in statuses.items() if status != "completed"}
        print(f"   not completed: {missing}")
    figure("  jobs never run", never_run, "", digits=0)
    figure("runs recorded", sum(len(r) for r in runs.values()), "", digits=0)
    figure("duplicate runs", verdict.duplicates, "", digits=0)
    figure(
        "  of which after a crash of the run before",
        verdict.after_crash,
        f"of {verdict.duplicates}",
        bar="all",
        ok=verdict.after_crash == verdict.duplicates,
        digits=0,
    )
    figure(
        "overlapping runs of one job",
        verdict.overlaps,
        "",
        bar="0",
        ok=verdict.overlaps == 0,
        digits=0,
    )
    if verdict.unfinished:
        figure("  runs with no end and no crash", verdict.unfinished, "", digits=0)
    figure(
        "action processes left after the workers stopped",
        len(leftovers),
        "",
        bar="0",
        ok=not leftovers,
        digits=0,
    )
    for example in verdict.examples:
        print(f"   e.g. {example}")
    if any(code not in (0, -signal.SIGTERM) for code in codes) or chaos.exits:
        print(f"   exit statuses at the end: {codes}; exits during the run: {dict(chaos.exits)}")
    return (
        lost == 0
        and verdict.overlaps == 0
        and verdict.after_crash == verdict.duplicates
        and verdict.unfinished == 0
        and not leftovers
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--action",
        choices=["python", "bash", "both"],
        default="both",
        help="how the workers do a job's work: a Python action, a bash command, or a run "
        "of each (default)",
    )
    parser.add_argument("--jobs", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--kill-every", type=float, default=0.5, help="seconds between kills")
    parser.add_argument("--work-ms", type=float, default=20.0, help="each job's run, in ms")
    parser.add_argument(
        "--long-jobs", type=int, default=0, help="jobs whose work outlasts the lease"
    )
    parser.add_argument(
        "--long-work-ms",
        type=float,
        default=None,
        help="the long jobs' work, in ms (default: the lease plus 1 s)",
    )
    parser.add_argument("--lease", type=float, default=3.0, help="job lease, in seconds")
    parser.add_argument(
        "--late-restarts",
        type=float,
        default=0.2,
        help="share of the killed workers restarted only after their lease ran out",
    )
    parser.add_argument("--seed", type=int, default=None, help="which worker dies when")
    parser.add_argument(
        "--db",
        metavar="PATH|URL",
        help="a new SQLite file, or a postgresql:// URL (a fresh schema there, dropped "
        "afterwards). Default: a temporary SQLite file",
    )
    args = parser.parse_args()
    if args.long_work_ms is None:
        args.long_work_ms = (args.lease + 1.0) * 1000
    beside = Path(sys.executable).with_name("statemachine")
    found = str(beside) if beside.exists() else shutil.which("statemachine")
    args.statemachine = [found] if found else [sys.executable, "-m", "statemachine_engine"]
    postgres = is_postgres(args.db)
    if args.db and not postgres and Path(args.db).exists():
        parser.error(f"--db: {args.db} exists; give a new path (the bench fills it with jobs)")

    verdicts = []
    for action in ["python", "bash"] if args.action == "both" else [args.action]:
        header(f"chaos on {'PostgreSQL' if postgres else 'SQLite'}, the work in {action}")
        with tempfile.TemporaryDirectory(prefix="chaos-bench-") as tmp:
            workdir = Path(tmp)
            with bench_database(args.db if postgres else None, workdir / "chaos.db") as db:
                if args.db and not postgres:  # one file per action
                    path = args.db if args.action != "both" else f"{args.db}.{action}"
                    db = BenchDatabase(path, "sqlite")
                verdicts.append(chaos_run(args, db, workdir, action))
        print("PASS" if verdicts[-1] else "MISS")
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
