"""Real worker processes (``statemachine``) sharing one SQLite queue.

Workers are watched through their stderr lines (every transition is logged), read with
deadlines; the only poll is a short bounded one on the database, for a lease renewal
that nothing else reports. Every process is stopped and reaped in ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path

import pytest

from statemachine_engine.database.models.job import JobStatus
from statemachine_engine.database.sqlite import SqliteStore

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="uses /bin/bash, signals and FIFOs"
)

REPO = Path(__file__).resolve().parents[2]
SIMPLE_WORKER = REPO / "examples" / "simple_worker" / "simple_worker.yaml"
_BIN = Path(sys.executable).parent
STATEMACHINE = (
    [str(_BIN / "statemachine")]
    if (_BIN / "statemachine").exists()
    else [sys.executable, "-m", "statemachine_engine"]
)
STATEMACHINE_DB = _BIN / "statemachine-db"
DEADLINE = 15.0

#: Lines of every worker go through one condition, so a test can wait on all of them.
_CHANGED = threading.Condition()


# -- helpers ----------------------------------------------------------------------------


class Worker:
    """One ``statemachine`` process; its stderr lines are kept and can be awaited."""

    def __init__(self, args: Sequence[str | Path], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [*STATEMACHINE, *map(str, args)],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._cursor = 0
        self._eof = False
        self._counts: dict[str, tuple[int, int]] = {}
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with _CHANGED:
                self.lines.append(line.rstrip("\n"))
                _CHANGED.notify_all()
        with _CHANGED:
            self._eof = True
            _CHANGED.notify_all()

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def count(self, pattern: str) -> int:
        """How many stderr lines so far match ``pattern`` (counted incrementally)."""
        with _CHANGED:
            seen, found = self._counts.get(pattern, (0, 0))
            regex = re.compile(pattern)
            found += sum(1 for line in self.lines[seen:] if regex.search(line))
            self._counts[pattern] = (len(self.lines), found)
            return found

    def expect(self, pattern: str, timeout: float = DEADLINE) -> str:
        """The next stderr line (after the last one matched) matching ``pattern``."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with _CHANGED:
            while True:
                while self._cursor < len(self.lines):
                    line = self.lines[self._cursor]
                    self._cursor += 1
                    if regex.search(line):
                        return line
                if self._eof:
                    pytest.fail(f"exited before a line matched {pattern!r}:\n{self.stderr}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f"no line matching {pattern!r} within {timeout}s:\n{self.stderr}")
                _CHANGED.wait(remaining)

    def stop(self) -> int:
        """SIGTERM; the exit status."""
        self.proc.terminate()
        try:
            code = self.proc.wait(DEADLINE)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {DEADLINE}s after SIGTERM:\n{self.stderr}")
        self._thread.join(DEADLINE)
        return code

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(DEADLINE) == -signal.SIGKILL

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._thread.join(5)
        assert self.proc.stderr is not None
        self.proc.stderr.close()


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait until ``predicate`` holds, re-checked on every line any worker writes."""
    deadline = time.monotonic() + timeout
    with _CHANGED:
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"{what}: not within {timeout}s")
            _CHANGED.wait(remaining)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "queue.db"


@pytest.fixture
async def store(db: Path) -> AsyncIterator[SqliteStore]:
    handle = SqliteStore(db)
    try:
        yield handle
    finally:
        await handle.close()


@pytest.fixture
def workers(tmp_path: Path, db: Path) -> Iterator[Callable[..., Worker]]:
    """``workers(config, name)`` starts ``statemachine config --machine-name name --db db``."""
    started: list[Worker] = []

    def start(config: Path, name: str | None = None) -> Worker:
        args: list[str | Path] = [config, "--db", db]
        if name is not None:
            args += ["--machine-name", name]
        worker = Worker(args, cwd=tmp_path)
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.close()


@pytest.fixture
def shells() -> Iterator[list[int]]:
    """Process groups of shell commands whose worker the test killed."""
    groups: list[int] = []
    try:
        yield groups
    finally:
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def moved(worker: str, source: str | None, event: str, target: str) -> str:
    return re.escape(f"[{worker}] {source} --{event}--> {target}")


def read_fifo_line(path: Path, timeout: float = DEADLINE) -> str:
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    try:
        buffer = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            readable, _, _ = select.select([fd], [], [], max(0.0, remaining))
            if not readable:
                pytest.fail(f"nothing written to {path} within {timeout}s")
            with contextlib.suppress(BlockingIOError):
                buffer += os.read(fd, 4096)
        return buffer.partition(b"\n")[0].decode()
    finally:
        os.close(fd)


# -- four workers, two thousand jobs ---------------------------------------------------------

DRAIN = """
    name: Drain worker
    initial_state: waiting
    transitions:
      - {from: waiting, to: processing, event: new_job}
      - {from: waiting, to: waiting, event: no_jobs}
      - {from: processing, to: waiting, event: job_completed}
    actions:
      waiting:
        - {type: check_database_queue, job_type: task, wait: 30}
      processing:
        - {type: complete_job, success: job_completed}
    """

JOBS = 2000


async def test_four_workers_drain_the_queue_without_duplicates_or_losses(
    tmp_path: Path, db: Path, store: SqliteStore, workers: Callable[..., Worker]
) -> None:
    config = write(tmp_path / "drain.yaml", DRAIN)
    for n in range(JOBS):
        await store.add_job("task", {"n": n}, job_id=f"job-{n:04d}")

    names = [f"w{i}" for i in range(1, 5)]
    running = [workers(config, name) for name in names]
    done = [moved(name, "processing", "job_completed", "waiting") for name in names]
    wait_for(
        lambda: sum(w.count(p) for w, p in zip(running, done, strict=True)) >= JOBS,
        timeout=45.0,
        what=f"{JOBS} jobs completed",
    )
    for worker in running:
        assert worker.stop() == 0, worker.stderr
    per_worker = [w.count(p) for w, p in zip(running, done, strict=True)]
    assert sum(per_worker) == JOBS
    assert all(per_worker), per_worker  # every worker took part

    counts = await store.job_counts()
    assert counts[JobStatus.COMPLETED] == JOBS
    assert sum(counts.values()) == JOBS
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT job_id,"
            " sum(status = 'processing'), sum(status = 'completed'),"
            " max(CASE WHEN status = 'processing' THEN worker END),"
            " max(CASE WHEN status = 'completed' THEN worker END)"
            " FROM job_history GROUP BY job_id"
        ).fetchall()
    assert len(rows) == JOBS
    claimed_twice = [row for row in rows if row[1] != 1 or row[2] != 1]
    assert not claimed_twice, claimed_twice[:5]
    assert all(row[3] == row[4] for row in rows)  # completed by the worker that claimed it
    host = socket.gethostname()
    by_worker = {row[3] for row in rows}
    assert by_worker == {f"{name}@{host}" for name in names}


# -- a worker dies mid-job --------------------------------------------------------------------

LEASED = """
    name: Leased worker
    initial_state: waiting
    transitions:
      - {from: waiting, to: processing, event: new_job}
      - {from: waiting, to: waiting, event: no_jobs}
      - {from: processing, to: finishing, event: job_done}
      - {from: finishing, to: waiting, event: job_completed}
    actions:
      waiting:
        - {type: check_database_queue, job_type: task, wait: 30, lease: 1}
      processing:
        # The first attempt reports its pid and hangs; later ones succeed at once.
        - type: bash
          command: >-
            if [ {current_job.attempts} -eq 1 ]; then echo $$ > '@FIFO@'; exec sleep 30; fi
      finishing:
        - {type: complete_job, success: job_completed}
    """


async def test_a_killed_worker_s_job_is_finished_by_another_after_its_lease_expires(
    tmp_path: Path, store: SqliteStore, workers: Callable[..., Worker], shells: list[int]
) -> None:
    fifo = tmp_path / "pid.fifo"
    os.mkfifo(fifo)
    config = write(tmp_path / "leased.yaml", LEASED.replace("@FIFO@", str(fifo)))
    await store.add_job("task", {}, job_id="slow")

    victim = workers(config, "victim")
    shells.append(int(read_fifo_line(fifo)))  # mid-job: the command hangs
    claimed = await store.get_job("slow")
    assert claimed is not None
    assert claimed.status == JobStatus.PROCESSING
    assert claimed.lease_expires is not None

    survivor = workers(config, "survivor")
    survivor.expect(moved("survivor", None, "start", "waiting"))

    # While the victim lives it renews its 1 s lease (nothing reports that but the row).
    deadline = time.monotonic() + 3.0
    while True:
        job = await store.get_job("slow")
        assert job is not None
        assert job.lease_owner == claimed.lease_owner, "the job changed hands while its worker ran"
        if (job.lease_expires or 0) > claimed.lease_expires:
            break
        assert time.monotonic() < deadline, "the running worker did not renew its lease"
        await asyncio.sleep(0.05)

    victim.kill()
    killed = time.monotonic()
    survivor.expect(moved("survivor", "finishing", "job_completed", "waiting"), timeout=10.0)
    # The survivor woke when the lease ran out (≤ 1 s after the kill), not after its 30 s wait.
    assert time.monotonic() - killed < 4.0

    job = await store.get_job("slow")
    assert job is not None
    assert (job.status, job.attempts) == (JobStatus.COMPLETED, 2)
    host = socket.gethostname()
    steps = [
        (row["status"], row["worker"], row["message"]) for row in await store.job_history("slow")
    ]
    assert steps == [
        ("pending", None, "added"),
        ("processing", f"victim@{host}", None),
        ("pending", None, "lease expired"),
        ("processing", f"survivor@{host}", None),
        ("completed", f"survivor@{host}", None),
    ]
    assert survivor.stop() == 0


# -- retries and dead letters ---------------------------------------------------------------------

FLAKY = """
    name: Flaky worker
    initial_state: waiting
    transitions:
      - {from: waiting, to: processing, event: new_job}
      - {from: waiting, to: waiting, event: no_jobs}
      - {from: processing, to: succeeding, event: passed}
      - {from: processing, to: failing, event: failed}
      - {from: succeeding, to: waiting, event: job_completed}
      - {from: failing, to: waiting, event: job_failed}
    actions:
      waiting:
        - {type: check_database_queue, job_type: task, wait: 30}
      processing:
        - {type: bash, command: "test {current_job.attempts} -ge 3", success: passed,
           error: failed}
      succeeding:
        - {type: complete_job, success: job_completed}
      failing:
        - {type: fail_job}
    """


async def test_a_job_failing_twice_then_succeeding_shows_its_three_attempts(
    tmp_path: Path, store: SqliteStore, workers: Callable[..., Worker]
) -> None:
    config = write(tmp_path / "flaky.yaml", FLAKY)
    await store.add_job("task", {}, job_id="flaky", max_attempts=3)

    worker = workers(config, "w")
    # Retries wait 1-2 s, then 2-4 s (2 s * 2^(n-1), with jitter).
    worker.expect(moved("w", "succeeding", "job_completed", "waiting"), timeout=15.0)
    assert worker.count(moved("w", "failing", "job_failed", "waiting")) == 2
    assert worker.stop() == 0

    job = await store.get_job("flaky")
    assert job is not None
    assert (job.status, job.attempts) == (JobStatus.COMPLETED, 3)
    steps = [(row["status"], row["attempt"]) for row in await store.job_history("flaky")]
    assert steps == [
        ("pending", 0),
        ("processing", 1),
        ("failed", 1),
        ("processing", 2),
        ("failed", 2),
        ("processing", 3),
        ("completed", 3),
    ]
    failures = [row["message"] for row in await store.job_history("flaky") if row["message"]]
    assert failures[1:] == ["command exited with status 1"] * 2


async def test_a_job_failing_every_time_ends_dead(
    tmp_path: Path, store: SqliteStore, workers: Callable[..., Worker]
) -> None:
    config = write(tmp_path / "flaky.yaml", FLAKY)
    await store.add_job("task", {}, job_id="doomed", max_attempts=2)

    worker = workers(config, "w")
    failed = moved("w", "failing", "job_failed", "waiting")
    worker.expect(failed)
    worker.expect(failed, timeout=10.0)
    assert worker.stop() == 0

    job = await store.get_job("doomed")
    assert job is not None
    assert (job.status, job.attempts) == (JobStatus.DEAD, 2)
    steps = [(row["status"], row["attempt"]) for row in await store.job_history("doomed")]
    assert steps == [
        ("pending", 0),
        ("processing", 1),
        ("failed", 1),
        ("processing", 2),
        ("dead", 2),
    ]
    assert "succeeding" not in worker.stderr


# -- the example -------------------------------------------------------------------------------


async def test_the_simple_worker_example_drains_five_jobs(
    tmp_path: Path, db: Path, store: SqliteStore, workers: Callable[..., Worker]
) -> None:
    files = ["a.txt", "b.txt", "c d.txt", "$(touch pwned)", "e.txt"]
    ids = []
    for name in files:
        payload = f'{{"file": "{name}"}}'
        if STATEMACHINE_DB.exists():  # as the README does it
            proc = await asyncio.create_subprocess_exec(
                STATEMACHINE_DB,
                *("add-job", "--db", str(db), "--type", "task", "--payload", payload),
                stdout=asyncio.subprocess.PIPE,
            )
            out, _ = await asyncio.wait_for(proc.communicate(), 30)
            assert proc.returncode == 0
            ids.append(out.decode().splitlines()[0].strip())
        else:
            ids.append((await store.add_job("task", {"file": name})).job_id)

    worker = workers(SIMPLE_WORKER)  # named by its metadata: simple_worker
    for job_id, name in zip(ids, files, strict=True):
        worker.expect(re.escape(f"[simple_worker] Job {job_id} done: file={name} data="))
    worker.expect(moved("simple_worker", "finishing", "success", "waiting"))

    for job_id in ids:
        job = await store.get_job(job_id)
        assert job is not None
        assert job.status == JobStatus.COMPLETED
    assert not (tmp_path / "pwned").exists()  # job data never becomes shell syntax

    # The config's stop transition ends it cleanly.
    path = Path(os.environ["STATEMACHINE_SOCKET_DIR"]) / "control-simple_worker.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(b'{"type": "stop"}', str(path))
    worker.expect(moved("simple_worker", "waiting", "stop", "stopped"))
    worker.expect(re.escape("[simple_worker] Simple worker stopped"))
    assert worker.proc.wait(DEADLINE) == 0
