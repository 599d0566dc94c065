"""Real worker processes (``statemachine``) sharing one SQLite queue.

Workers are watched through their stderr lines (every transition is logged), read with
deadlines; the only poll is a short bounded one on the database, for a lease renewal
that nothing else reports. Every process is stopped and reaped in ``finally``.
"""

from __future__ import annotations

import asyncio
import re
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.database.models.job import JobStatus
from tests.conftest import EXAMPLES
from tests.support.fifo import Fifo
from tests.support.files import sql, statuses, write
from tests.support.processes import MachineProcess, console_script, moved, send, wait_until

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="uses /bin/bash, signals and FIFOs"
)

SIMPLE_WORKER = EXAMPLES / "simple_worker" / "simple_worker.yaml"
STATEMACHINE_DB = console_script("statemachine-db")


# -- helpers ----------------------------------------------------------------------------


@pytest.fixture
def workers(statemachine: Callable[..., MachineProcess], db: Path) -> Callable[..., MachineProcess]:
    """``workers(config, name)`` starts ``statemachine config --db db --machine-name name``."""

    def start(config: Path, name: str | None = None) -> MachineProcess:
        return statemachine(config, "--db", db, *(() if name is None else ("--machine-name", name)))

    return start


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
    tmp_path: Path, db: Path, store: SqliteStore, workers: Callable[..., MachineProcess]
) -> None:
    config = write(tmp_path / "drain.yaml", DRAIN)
    for n in range(JOBS):
        await store.add_job("task", {"n": n}, job_id=f"job-{n:04d}")

    names = [f"w{i}" for i in range(1, 5)]
    running = [workers(config, name) for name in names]
    done = [moved(name, "processing", "job_completed", "waiting") for name in names]
    wait_until(
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
    rows = sql(
        db,
        "SELECT job_id,"
        " sum(status = 'processing'), sum(status = 'completed'),"
        " max(CASE WHEN status = 'processing' THEN worker END),"
        " max(CASE WHEN status = 'completed' THEN worker END)"
        " FROM job_history GROUP BY job_id",
    )
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
    tmp_path: Path,
    store: SqliteStore,
    workers: Callable[..., MachineProcess],
    shells: list[int],
    fifo: Fifo,
) -> None:
    config = write(tmp_path / "leased.yaml", LEASED.replace("@FIFO@", str(fifo)))
    await store.add_job("task", {}, job_id="slow")

    victim = workers(config, "victim")
    shells.append(int(fifo.readline()))  # mid-job: the command hangs
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
    tmp_path: Path, store: SqliteStore, workers: Callable[..., MachineProcess]
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
    assert statuses(await store.job_history("flaky")) == [
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
    tmp_path: Path, store: SqliteStore, workers: Callable[..., MachineProcess]
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
    assert statuses(await store.job_history("doomed")) == [
        ("pending", 0),
        ("processing", 1),
        ("failed", 1),
        ("processing", 2),
        ("dead", 2),
    ]
    assert "succeeding" not in worker.stderr


# -- the example -------------------------------------------------------------------------------


async def test_the_simple_worker_example_drains_five_jobs(
    tmp_path: Path, db: Path, store: SqliteStore, workers: Callable[..., MachineProcess]
) -> None:
    files = ["a.txt", "b.txt", "c d.txt", "$(touch pwned)", "e.txt"]
    ids = []
    for name in files:
        payload = f'{{"file": "{name}"}}'
        if STATEMACHINE_DB:  # as the README does it
            proc = await asyncio.create_subprocess_exec(
                *STATEMACHINE_DB,
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
    send("simple_worker", "stop")
    worker.expect(moved("simple_worker", "waiting", "stop", "stopped"))
    worker.expect(re.escape("[simple_worker] Simple worker stopped"))
    assert worker.wait() == 0
