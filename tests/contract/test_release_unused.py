"""Giving a job back unused: a machine stopped mid-job returns it at once, attempt intact."""

from __future__ import annotations

import os
import socket

from statemachine_engine.database.models.job import JobStatus
from statemachine_engine.database.store import Store


async def test_a_job_given_back_unused_is_pending_with_its_attempt_intact(store: Store) -> None:
    job = await store.add_job("task", max_attempts=1)
    claimed = await store.claim_job("task", "w1", lease_seconds=60)
    assert claimed is not None
    assert claimed.attempts == 1
    assert await store.release_job_unused(job.job_id, worker="w1", attempt=1)
    back = await store.get_job(job.job_id)
    assert back is not None
    assert back.status == JobStatus.PENDING
    assert back.attempts == 0
    assert back.lease_owner is None
    # Claimable at once, and its only attempt is still there to use.
    again = await store.claim_job("task", "w2", lease_seconds=60)
    assert again is not None
    assert again.job_id == job.job_id
    assert again.attempts == 1
    history = await store.job_history(job.job_id)
    assert [(h["status"], h["attempt"], h["worker"]) for h in history] == [
        ("pending", 0, None),
        ("processing", 1, "w1"),
        ("pending", 1, "w1"),
        ("processing", 1, "w2"),
    ]
    assert history[2]["message"] == "given back unused"


async def test_only_the_holder_in_its_attempt_can_give_a_job_back(store: Store) -> None:
    job = await store.add_job("task")
    await store.claim_job("task", "w1", lease_seconds=60)
    assert not await store.release_job_unused(job.job_id, worker="w2", attempt=1)
    assert not await store.release_job_unused(job.job_id, worker="w1", attempt=2)
    assert await store.complete_job(job.job_id, worker="w1", attempt=1)
    assert not await store.release_job_unused(job.job_id, worker="w1", attempt=1)
    done = await store.get_job(job.job_id)
    assert done is not None
    assert done.status == JobStatus.COMPLETED


async def test_the_action_group_is_recorded_in_the_context(store: Store) -> None:
    await store.register_machine(
        "m", config_name="c", config_path=None, pid=os.getpid(), host=socket.gethostname()
    )
    await store.save_transition(
        "m", from_state=None, to_state="a", event="start", context={"k": 1}, timers=()
    )
    await store.record_action_group("m", {"pgid": 1234, "host": "h"})
    record = await store.load_machine("m")
    assert record is not None
    assert record.context == {"k": 1, "_engine_action_group": {"pgid": 1234, "host": "h"}}


async def test_the_jobs_a_killed_run_left_go_back_as_if_their_leases_ran_out(
    store: Store,
) -> None:
    for job_id, attempts in (("a", 3), ("b", 3), ("last", 1), ("kept", 3)):
        await store.add_job("task", job_id=job_id, max_attempts=attempts)
    await store.add_job("task", job_id="theirs")
    assert await store.claim_job_by_id("last", "w@h") is not None  # (never claimed ahead)
    held = {job.job_id for job in await store.claim_jobs("task", "w@h", limit=3)}
    assert held == {"a", "b", "kept"}
    assert await store.claim_job("task", "x@h") is not None  # "theirs": another worker's

    released = await store.release_left_jobs("w@h", kept=["kept"])
    assert sorted(released) == ["a", "b", "last"]
    statuses = {}
    for job_id in ("a", "b", "last", "kept", "theirs"):
        job = await store.get_job(job_id)
        assert job is not None
        statuses[job_id] = (job.status, job.attempts, job.lease_owner)
    assert statuses == {
        "a": (JobStatus.PENDING, 1, None),  # the attempt counted, as a lease running out
        "b": (JobStatus.PENDING, 1, None),
        "last": (JobStatus.DEAD, 1, None),  # its only attempt used
        "kept": (JobStatus.PROCESSING, 1, "w@h"),
        "theirs": (JobStatus.PROCESSING, 1, "x@h"),
    }
    [*_, last_row] = await store.job_history("a")
    assert (last_row["status"], last_row["attempt"], last_row["worker"]) == ("pending", 1, "w@h")
    assert last_row["message"] == "worker killed: released by its next run"
    assert await store.release_left_jobs("w@h") == ["kept"]
    assert await store.release_left_jobs("w@h") == []
