"""The queue on PostgreSQL: worker processes, migrations racing, a missing driver."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from statemachine_engine.database._postgres import PostgresStore
from statemachine_engine.database.models.job import JobStatus
from tests.contract.conftest import WorkerPool
from tests.support.files import write
from tests.support.postgres import fresh_schema
from tests.support.processes import moved, wait_until

from .conftest import Host

DRAIN = """
    name: Drain worker
    initial_state: waiting
    transitions:
      - {from: waiting, to: processing, event: new_job}
      - {from: waiting, to: waiting, event: no_jobs}
      - {from: processing, to: waiting, event: job_completed}
      - {from: "*", to: stopped, event: stop}
    actions:
      waiting:
        - {type: check_database_queue, job_type: task, wait: 30}
      processing:
        - {type: complete_job, success: job_completed}
    """
JOBS = 5_000


@pytest.fixture
def worker_pool() -> Iterator[WorkerPool]:
    """``tests/contract/_store_worker.py`` processes; any left running are killed."""
    pool = WorkerPool()
    yield pool
    pool.stop()


@pytest.mark.slow
async def test_four_workers_drain_5000_jobs_without_duplicates_or_losses(
    tmp_path: Path, hosts: Callable[[str], Host], store: PostgresStore
) -> None:
    config = write(tmp_path / "drain.yaml", DRAIN)
    for n in range(JOBS):
        await store.add_job("task", {"n": n}, job_id=f"job-{n:05d}")
    host = hosts("a")
    names = [f"w{i}" for i in range(1, 5)]
    workers = [host.run(config, "--machine-name", name) for name in names]
    done = [moved(name, "processing", "job_completed", "waiting") for name in names]
    wait_until(
        lambda: sum(w.count(p) for w, p in zip(workers, done, strict=True)) >= JOBS,
        timeout=110.0,
        what=f"{JOBS} jobs completed",
    )
    for name in names:
        await store.send_event(name, "stop", source="test")
    for worker in workers:
        assert worker.wait(30.0) == 0

    jobs = await store.list_jobs(limit=None)
    assert len(jobs) == JOBS, "jobs lost"
    assert {job.status for job in jobs} == {JobStatus.COMPLETED}
    assert all(job.attempts == 1 for job in jobs), "a job was claimed twice"
    per_worker = [w.count(p) for w, p in zip(workers, done, strict=True)]
    assert sum(per_worker) == JOBS, f"completions per worker: {per_worker}"


@pytest.mark.parametrize("round_", range(2))
async def test_processes_migrating_a_fresh_schema_at_once_all_succeed(
    worker_pool: WorkerPool, round_: int
) -> None:
    """The migration race: every process finds the schema empty and migrates it."""
    with fresh_schema() as url:
        worker_pool.start(4, "open", url)
        outputs = worker_pool.release()
        assert [out.strip() for out in outputs] == ["ok 0"] * 4
        store = PostgresStore(url)
        try:
            assert (await store.add_job("task")).status == JobStatus.PENDING
        finally:
            await store.close()


def test_a_schema_of_another_program_is_refused(url: str) -> None:
    from tests.support.postgres import admin

    schema = url.rsplit("%3D", 1)[1]
    admin(f'CREATE TABLE "{schema}".jobs (id integer)')
    done = subprocess.run(
        [sys.executable, "-m", "statemachine_engine.database.cli", "--db", url, "list"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "did not create" in done.stderr
    assert "Traceback" not in done.stderr


def test_without_psycopg_the_error_names_the_extra(tmp_path: Path) -> None:
    """A store URL with psycopg missing: one line naming the extra to install."""
    # psycopg made unimportable the way a missing package is.
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from statemachine_engine.database.cli import main\n"
        "sys.exit(main(['--db', 'postgresql://nobody@127.0.0.1/none', 'list']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert 'pip install "statemachine-engine[postgres]"' in done.stderr


def test_one_handle_serves_successive_event_loops(url: str) -> None:
    """``Database()`` made before ``asyncio.run``, used by several runs in a row."""
    import asyncio

    from statemachine_engine.database import Database, JobModel

    db = Database(url)
    jobs = JobModel(db)
    first = asyncio.run(jobs.add("task", {"n": 1}))
    claimed = asyncio.run(jobs.claim("task", "w1"))
    assert claimed is not None
    assert claimed.job_id == first.job_id

    async def woken_by_a_new_job() -> bool:
        listener = await db.store.listener()
        mark = listener.mark("jobs")
        await jobs.add("task")
        return await listener.wait("jobs", mark, 30)

    assert asyncio.run(woken_by_a_new_job())
    assert asyncio.run(woken_by_a_new_job())
    asyncio.run(db.close())
