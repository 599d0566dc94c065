"""Leases: a job whose worker stops renewing goes back to the queue (or dies).

Expiry is made deterministic by claiming with a lease that already ended
(``lease_seconds`` below zero) instead of waiting for one to run out.
"""

from __future__ import annotations

import time

from statemachine_engine.database.models.job import JobStatus
from statemachine_engine.database.store import Store

EXPIRED = -1.0  # a lease that ended a second before it was granted


async def test_expired_lease_returns_the_job_to_another_worker(store: Store) -> None:
    job = await store.add_job("task", max_attempts=3)
    lost = await store.claim_job("task", "dead-worker", lease_seconds=EXPIRED)
    assert lost is not None
    retaken = await store.claim_job("task", "live-worker", lease_seconds=30)
    assert retaken is not None
    assert retaken.job_id == job.job_id
    assert retaken.lease_owner == "live-worker"
    assert retaken.attempts == 2
    assert retaken.status == JobStatus.PROCESSING
    history = await store.job_history(job.job_id)
    assert [(h["status"], h["attempt"], h["worker"]) for h in history] == [
        ("pending", 0, None),
        ("processing", 1, "dead-worker"),
        ("pending", 1, None),  # the lease expired
        ("processing", 2, "live-worker"),
    ]
    assert "lease expired" in (history[2]["message"] or "")


async def test_expired_lease_is_reclaimed_by_id(store: Store) -> None:
    job = await store.add_job("task")
    await store.claim_job("task", "dead-worker", lease_seconds=EXPIRED)
    retaken = await store.claim_job_by_id(job.job_id, "live-worker")
    assert retaken is not None
    assert retaken.lease_owner == "live-worker"
    assert retaken.attempts == 2


async def test_expiry_goes_through_other_job_types(store: Store) -> None:
    """A claim for any type returns every expired lease to the queue."""
    stuck = await store.add_job("other")
    await store.claim_job("other", "dead-worker", lease_seconds=EXPIRED)
    assert await store.claim_job("task", "w1") is None
    job = await store.get_job(stuck.job_id)
    assert job is not None
    assert job.status == JobStatus.PENDING
    assert job.lease_owner is None
    assert job.error is not None
    assert "dead-worker" in job.error


async def test_a_live_lease_is_not_taken(store: Store) -> None:
    job = await store.add_job("task")
    await store.claim_job("task", "w1", lease_seconds=60)
    assert await store.claim_job("task", "w2") is None
    assert await store.claim_job_by_id(job.job_id, "w2") is None


async def test_expired_lease_on_the_last_attempt_is_dead(store: Store) -> None:
    job = await store.add_job("task", max_attempts=1)
    await store.claim_job("task", "dead-worker", lease_seconds=EXPIRED)
    assert await store.claim_job("task", "w2") is None
    dead = await store.get_job(job.job_id)
    assert dead is not None
    assert dead.status == JobStatus.DEAD
    assert dead.lease_owner is None
    assert dead.completed_at is not None
    assert dead.error is not None
    assert "lease expired" in dead.error
    assert [h["status"] for h in await store.job_history(job.job_id)][-1] == "dead"


async def test_worker_that_lost_its_lease_cannot_finish_the_job(store: Store) -> None:
    job = await store.add_job("task", max_attempts=3)
    await store.claim_job("task", "slow", lease_seconds=EXPIRED)
    await store.claim_job("task", "fast", lease_seconds=60)
    assert not await store.complete_job(job.job_id, result="stale", worker="slow")
    assert await store.fail_job(job.job_id, "stale", worker="slow") is None
    assert await store.renew_leases("slow", 60) == 0
    assert await store.complete_job(job.job_id, result="fresh", worker="fast")
    done = await store.get_job(job.job_id)
    assert done is not None
    assert (done.status, done.result) == (JobStatus.COMPLETED, "fresh")


async def test_renew_leases_extends_every_lease_of_the_worker(store: Store) -> None:
    for _ in range(3):
        await store.add_job("task")
    first = await store.claim_job("task", "w1", lease_seconds=5)
    second = await store.claim_job("task", "w1", lease_seconds=5)
    other = await store.claim_job("task", "w2", lease_seconds=5)
    assert first is not None
    assert second is not None
    assert other is not None
    before = time.time()
    assert await store.renew_leases("w1", 300) == 2
    for job_id in (first.job_id, second.job_id):
        job = await store.get_job(job_id)
        assert job is not None
        assert job.lease_expires is not None
        assert before + 300 <= job.lease_expires <= time.time() + 300
        assert job.lease_owner == "w1"
    untouched = await store.get_job(other.job_id)
    assert untouched is not None
    assert untouched.lease_expires == other.lease_expires
    assert await store.renew_leases("nobody", 300) == 0


async def test_renewed_lease_is_not_expired(store: Store) -> None:
    job = await store.add_job("task")
    await store.claim_job("task", "w1", lease_seconds=EXPIRED)
    assert await store.renew_leases("w1", 60) == 1
    assert await store.claim_job("task", "w2") is None
    assert await store.complete_job(job.job_id, worker="w1")


async def test_renew_after_completion_counts_nothing(store: Store) -> None:
    job = await store.add_job("task")
    await store.claim_job("task", "w1")
    await store.complete_job(job.job_id, worker="w1")
    assert await store.renew_leases("w1", 60) == 0


async def test_next_job_ready_at_includes_lease_expiry(store: Store) -> None:
    """A waiting worker must wake when a dead worker's lease runs out, not only on a new job."""
    job = await store.add_job("task")
    claimed = await store.claim_job("task", "w1", lease_seconds=30)
    assert claimed is not None
    assert await store.next_job_ready_at("task") == claimed.lease_expires
    assert await store.next_job_ready_at("other") is None
    assert await store.renew_leases("w1", 90) == 1
    renewed = await store.get_job(job.job_id)
    assert renewed is not None
    assert await store.next_job_ready_at(None) == renewed.lease_expires
    assert await store.complete_job(job.job_id)
    assert await store.next_job_ready_at("task") is None


async def test_every_expired_lease_returns_when_many_expire_at_once(store: Store) -> None:
    """A claim frees expired leases a batch at a time (PostgreSQL: 100 a statement);
    the claims after it free the rest, and every job is taken again."""
    jobs = {(await store.add_job("task", max_attempts=3)).job_id for _ in range(250)}
    lost = await store.claim_jobs("task", "dead-worker", limit=250, lease_seconds=EXPIRED)
    assert {job.job_id for job in lost} == jobs
    retaken = []
    while (job := await store.claim_job("task", "live-worker", lease_seconds=30)) is not None:
        retaken.append(job)
    assert sorted(job.job_id for job in retaken) == sorted(jobs)
    assert {job.attempts for job in retaken} == {2}
