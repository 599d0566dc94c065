"""Handing a claimed job to another machine, fenced by attempt."""

from __future__ import annotations

from statemachine_engine.database.models.job import JobStatus
from statemachine_engine.database.store import Store

EXPIRED = -1.0  # a lease that ended a second before it was granted


async def test_a_handed_over_job_belongs_to_its_new_holder(store: Store) -> None:
    job = await store.add_job("task")
    claimed = await store.claim_job("task", "controller", lease_seconds=30)
    assert claimed is not None
    moved = await store.hand_over_job(
        job.job_id, attempt=claimed.attempts, worker="child", lease_seconds=30
    )
    assert moved is not None
    assert (moved.lease_owner, moved.attempts, moved.status) == ("child", 1, JobStatus.PROCESSING)
    assert not await store.complete_job(job.job_id, worker="controller"), "not the holder now"
    assert await store.renew_leases("child", 30) == 1
    assert await store.complete_job(job.job_id, worker="child", attempt=1, result={"ok": 1})
    done = await store.get_job(job.job_id)
    assert done is not None
    assert (done.status, done.result) == (JobStatus.COMPLETED, {"ok": 1})
    history = [
        (h["status"], h["worker"], h["message"]) for h in await store.job_history(job.job_id)
    ]
    assert ("processing", "child", "handed over") in history
    assert history[-1][:2] == ("completed", "child")


async def test_a_stale_attempt_cannot_be_handed_over_completed_or_failed(store: Store) -> None:
    job = await store.add_job("task", max_attempts=3)
    await store.claim_job("task", "w", lease_seconds=EXPIRED)  # attempt 1, lease ran out
    again = await store.claim_job("task", "w", lease_seconds=30)  # attempt 2, same name
    assert again is not None
    assert again.attempts == 2
    assert (
        await store.hand_over_job(job.job_id, attempt=1, worker="child", lease_seconds=30) is None
    )
    assert not await store.complete_job(job.job_id, worker="w", attempt=1)
    assert await store.fail_job(job.job_id, "late", worker="w", attempt=1) is None
    current = await store.get_job(job.job_id)
    assert current is not None
    assert (current.status, current.attempts, current.lease_owner) == ("processing", 2, "w")
    assert await store.fail_job(job.job_id, "boom", worker="w", attempt=2) is not None


async def test_a_finished_job_cannot_be_handed_over(store: Store) -> None:
    job = await store.add_job("task")
    await store.claim_job("task", "controller")
    await store.complete_job(job.job_id)
    assert (
        await store.hand_over_job(job.job_id, attempt=1, worker="child", lease_seconds=30) is None
    )
