"""Claims in batches: ``claim_jobs`` hands a worker the most urgent job and more to run
after it in one transaction; a machine renews only the leases it knows it holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from statemachine_engine.database.models.job import JobStatus
from statemachine_engine.database.store import OperatorStore, Store


async def test_claim_jobs_takes_the_most_urgent_first_and_at_most_the_limit(
    store: Store,
) -> None:
    for number in range(6):
        await store.add_job("task", {"n": number}, job_id=f"j{number}", priority=number % 3)
    await store.add_job("other", job_id="elsewhere", priority=9)
    claimed = await store.claim_jobs("task", "w1", limit=4, lease_seconds=30)
    assert [job.job_id for job in claimed] == ["j2", "j5", "j1", "j4"]
    for job in claimed:
        assert (job.status, job.lease_owner, job.attempts) == (JobStatus.PROCESSING, "w1", 1)
        assert job.lease_expires is not None
        assert job.started_at is not None
        assert job.lease_expires - job.started_at == 30
    rest = await store.claim_jobs("task", "w2", limit=10)
    assert [job.job_id for job in rest] == ["j0", "j3"]
    assert await store.claim_jobs("task", "w2", limit=10) == []
    assert isinstance(store, OperatorStore)
    history = await store.job_history("j4")
    assert (history[-1]["status"], history[-1]["worker"]) == ("processing", "w1")


async def test_a_job_on_its_last_attempt_is_only_ever_claimed_first(store: Store) -> None:
    await store.add_job("task", job_id="last", priority=5, max_attempts=1)
    await store.add_job("task", job_id="late-last", max_attempts=1)
    await store.add_job("task", job_id="spare")
    first = await store.claim_jobs("task", "w1", limit=3)
    # `last` is the most urgent: claimed first. `late-last` would be claimed ahead, and
    # a worker dying before it starts it would use its only attempt up: left for later.
    assert [job.job_id for job in first] == ["last", "spare"]
    assert [job.job_id for job in await store.claim_jobs("task", "w1", limit=3)] == ["late-last"]


async def test_claim_jobs_with_a_limit_of_one_is_claim_job(store: Store) -> None:
    await store.add_job("task", job_id="only")
    await store.add_job("task", job_id="second")
    assert [job.job_id for job in await store.claim_jobs(None, "w1", limit=1)] == ["only"]
    assert [job.job_id for job in await store.claim_jobs(None, "w1", limit=0)] == ["second"]
    assert await store.claim_jobs(None, "w1", limit=1) == []


async def test_concurrent_batch_claims_never_share_a_job(
    store: Store, store_factory: Callable[[], Store]
) -> None:
    for number in range(60):
        await store.add_job("task", job_id=f"j{number}")

    async def drain(handle: Store, worker: str) -> list[str]:
        taken: list[str] = []
        while batch := await handle.claim_jobs("task", worker, limit=7):
            taken.extend(job.job_id for job in batch)
        return taken

    handles = [store, *(store_factory() for _ in range(3))]
    results = await asyncio.gather(
        *(drain(handle, f"w{index}") for index, handle in enumerate(handles))
    )
    taken = [job_id for batch in results for job_id in batch]
    assert sorted(taken) == sorted(f"j{number}" for number in range(60))


async def test_a_batch_whose_holder_stopped_renewing_goes_back_to_the_queue(
    store: Store, store_factory: Callable[[], Store]
) -> None:
    """A worker that dies holding a batch (started or not) renews no lease: each job goes
    back when its lease runs out, with the attempt counted, and another worker takes it."""
    for number in range(4):
        await store.add_job("task", job_id=f"j{number}")
    held = await store.claim_jobs("task", "dead-worker", limit=4, lease_seconds=0.0)
    assert len(held) == 4
    other = store_factory()
    again = await other.claim_jobs("task", "w2", limit=4, lease_seconds=30)
    assert sorted(job.job_id for job in again) == ["j0", "j1", "j2", "j3"]
    assert {(job.lease_owner, job.attempts) for job in again} == {("w2", 2)}
    assert not await store.complete_job("j0", worker="dead-worker")
    assert await other.complete_job("j0", worker="w2")


async def test_renew_leases_of_named_jobs_only(store: Store) -> None:
    for number in range(3):
        await store.add_job("task", job_id=f"j{number}")
    claimed = await store.claim_jobs("task", "w1", limit=3, lease_seconds=5)
    assert len(claimed) == 3
    before = time.time()
    assert await store.renew_leases("w1", 300, ["j0", "j2", "not-a-job"]) == 2
    for job_id, renewed in (("j0", True), ("j1", False), ("j2", True)):
        job = await store.get_job(job_id)
        assert job is not None
        assert job.lease_expires is not None
        assert (job.lease_expires >= before + 300) is renewed
    assert await store.renew_leases("w1", 300, []) == 0
    assert await store.renew_leases("w2", 300, ["j0"]) == 0
