"""Several handles and several processes on one database: no job is handed out twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from statemachine_engine.database.models.job import JobStatus
from statemachine_engine.database.store import Store

from .conftest import WorkerPool

JOBS = 2_000
WORKERS = 4


async def test_handles_share_the_queue(store: Store, store_factory: Callable[[], Store]) -> None:
    other = store_factory()
    added = [(await store.add_job("task")).job_id for _ in range(10)]
    claimed = []
    for n in range(10):
        handle = store if n % 2 else other
        job = await handle.claim_job("task", f"w{n % 2}")
        assert job is not None
        claimed.append(job.job_id)
        assert await (other if n % 2 else store).complete_job(job.job_id, worker=f"w{n % 2}")
    assert claimed == added
    assert await other.claim_job("task", "w0") is None
    assert (await store.job_counts())["completed"] == 10


@pytest.mark.parametrize("claims", ["drain", "drain-batches"])
async def test_four_processes_drain_the_queue_exactly_once(
    store: Store, location: str, worker_pool: WorkerPool, claims: str
) -> None:
    """One job at a time, and 8 at a time (``claim_jobs``): every job once, by one."""
    added = {(await store.add_job("task", {"n": n})).job_id for n in range(JOBS)}
    decoy = await store.add_job("other")  # another type must be left alone
    worker_pool.start(WORKERS, claims, location, "task")
    outputs = worker_pool.release(timeout=110)

    done: Counter[str] = Counter()
    lost = []
    per_worker = []
    for out in outputs:
        lines = [line.split() for line in out.splitlines() if line.strip()]
        per_worker.append(len(lines))
        for verdict, job_id in lines:
            (done.update if verdict == "done" else lost.append)([job_id])
    duplicates = sorted(job_id for job_id, n in done.items() if n > 1)
    assert duplicates == [], f"jobs handed out twice: {duplicates[:10]}"
    assert lost == [], f"completions refused: {lost[:10]}"
    assert set(done) == added, f"missing: {sorted(added - set(done))[:10]}"
    assert sum(per_worker) == JOBS
    counts = await store.job_counts()
    assert counts[JobStatus.COMPLETED] == JOBS
    assert counts[JobStatus.PENDING] == 1
    assert counts[JobStatus.PROCESSING] == 0
    for job in await store.list_jobs(status=JobStatus.COMPLETED, limit=None):
        assert job.attempts == 1
    assert (await store.get_job(decoy.job_id)).status == JobStatus.PENDING  # type: ignore[union-attr]
