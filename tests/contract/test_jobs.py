"""The job queue: add, claim, complete, fail, cancel, retry, remove, purge and queries."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from statemachine_engine.database.models.job import Job, JobStatus
from statemachine_engine.database.store import (
    DEFAULT_MAX_ATTEMPTS,
    RETRY_BACKOFF_SECONDS,
    Store,
    StoreError,
)


async def claim(store: Store, job_type: str | None = "task", worker: str = "w1") -> Job:
    job = await store.claim_job(job_type, worker)
    assert job is not None, "expected a job to claim"
    return job


# -- add_job ----------------------------------------------------------------------------


async def test_add_job_returns_the_stored_job(store: Store) -> None:
    before = time.time()
    job = await store.add_job("task", {"file": "a.txt"}, priority=3, max_attempts=5)
    assert job.job_type == "task"
    assert job.status == JobStatus.PENDING
    assert job.data == {"file": "a.txt"}
    assert job.priority == 3
    assert job.max_attempts == 5
    assert job.attempts == 0
    assert job.lease_owner is None
    assert job.lease_expires is None
    assert job.result is None
    assert job.error is None
    assert before <= job.created_at <= time.time()
    assert job.run_after <= time.time()
    assert await store.get_job(job.job_id) == job


async def test_add_job_defaults(store: Store) -> None:
    job = await store.add_job("task")
    assert job.data == {}
    assert job.priority == 0
    assert job.max_attempts == DEFAULT_MAX_ATTEMPTS
    assert job.machine_type is None
    assert job.source_job_id is None


async def test_generated_ids_are_unique(store: Store) -> None:
    ids = {(await store.add_job("task")).job_id for _ in range(300)}
    assert len(ids) == 300
    assert all(ids)


async def test_explicit_id_is_kept(store: Store) -> None:
    job = await store.add_job("task", job_id="my-job-1", source_job_id="parent-7")
    assert job.job_id == "my-job-1"
    assert job.source_job_id == "parent-7"
    fetched = await store.get_job("my-job-1")
    assert fetched is not None
    assert fetched.source_job_id == "parent-7"


async def test_duplicate_id_is_an_error_and_keeps_the_first(store: Store) -> None:
    await store.add_job("task", {"n": 1}, job_id="dup")
    with pytest.raises(StoreError, match="dup"):
        await store.add_job("other", {"n": 2}, job_id="dup")
    job = await store.get_job("dup")
    assert job is not None
    assert (job.job_type, job.data) == ("task", {"n": 1})
    assert len(await store.list_jobs()) == 1
    # the failed insert left no trace, and the store is still usable
    assert [row["message"] for row in await store.job_history("dup")] == ["added"]
    await store.add_job("task", job_id="dup2")


@pytest.mark.parametrize(
    "data",
    [
        {"text": "héllo wörld ✓ 日本語 🚀", "nested": {"list": [1, 2.5, None, True]}},
        ["a", 1, {"b": None}],
        "just a string",
        42,
        {"blob": "x" * 1_048_576},
        {"unicode_blob": "é🚀" * 200_000},
    ],
    ids=["unicode", "list", "string", "number", "1MB", "unicode-1MB"],
)
async def test_payload_of_any_size_and_shape_round_trips(store: Store, data: object) -> None:
    job = await store.add_job("task", data)
    assert job.data == data
    fetched = await store.get_job(job.job_id)
    assert fetched is not None
    assert fetched.data == data
    claimed = await claim(store)
    assert claimed.data == data


async def test_payload_that_is_not_json_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="JSON"):
        await store.add_job("task", {"when": object()})
    assert await store.list_jobs() == []


@pytest.mark.parametrize("max_attempts", [0, -1])
async def test_max_attempts_must_be_positive(store: Store, max_attempts: int) -> None:
    with pytest.raises(StoreError, match="max_attempts"):
        await store.add_job("task", max_attempts=max_attempts)
    assert await store.list_jobs() == []


async def test_delayed_job_is_not_claimable_before_run_after(store: Store) -> None:
    before = time.time()
    job = await store.add_job("task", delay=60)
    assert job.run_after >= before + 60
    assert job.status == JobStatus.PENDING
    assert await store.claim_job("task", "w1") is None
    assert await store.claim_job(None, "w1") is None
    assert await store.claim_job_by_id(job.job_id, "w1") is None
    assert await store.next_job_ready_at("task") == pytest.approx(job.run_after)
    # an undelayed job added later is handed out first
    now_job = await store.add_job("task")
    assert (await claim(store)).job_id == now_job.job_id


async def test_negative_delay_means_now(store: Store) -> None:
    job = await store.add_job("task", delay=-30)
    assert job.run_after >= job.created_at
    assert (await claim(store)).job_id == job.job_id


async def test_machine_type_is_stored(store: Store) -> None:
    job = await store.add_job("task", machine_type="resizer")
    assert job.machine_type == "resizer"
    assert [j.job_id for j in await store.list_jobs(machine_type="resizer")] == [job.job_id]
    assert await store.list_jobs(machine_type="other") == []


# -- claim_job ----------------------------------------------------------------------------


async def test_claim_sets_the_lease(store: Store) -> None:
    job = await store.add_job("task", {"k": "v"})
    before = time.time()
    claimed = await store.claim_job("task", "worker-1", lease_seconds=30)
    assert claimed is not None
    assert claimed.job_id == job.job_id
    assert claimed.status == JobStatus.PROCESSING
    assert claimed.lease_owner == "worker-1"
    assert claimed.attempts == 1
    assert claimed.lease_expires is not None
    assert before + 30 <= claimed.lease_expires <= time.time() + 30
    assert claimed.started_at is not None
    assert before <= claimed.started_at <= time.time()
    assert await store.get_job(job.job_id) == claimed


async def test_claim_returns_none_when_the_queue_is_empty(store: Store) -> None:
    assert await store.claim_job("task", "w1") is None
    assert await store.claim_job(None, "w1") is None


async def test_claim_filters_by_job_type(store: Store) -> None:
    other = await store.add_job("other")
    mine = await store.add_job("task")
    assert (await claim(store, "task")).job_id == mine.job_id
    assert await store.claim_job("task", "w1") is None
    assert (await claim(store, "other")).job_id == other.job_id


async def test_claim_with_no_type_takes_any_type(store: Store) -> None:
    first = await store.add_job("alpha")
    second = await store.add_job("beta")
    assert (await claim(store, None)).job_id == first.job_id
    assert (await claim(store, None)).job_id == second.job_id
    assert await store.claim_job(None, "w1") is None


async def test_claim_order_is_priority_then_age(store: Store) -> None:
    low_old = await store.add_job("task", priority=0)
    high_old = await store.add_job("task", priority=5)
    low_new = await store.add_job("task", priority=0)
    high_new = await store.add_job("task", priority=5)
    negative = await store.add_job("task", priority=-3)
    top = await store.add_job("task", priority=100)
    order = [(await claim(store)).job_id for _ in range(6)]
    assert order == [
        top.job_id,
        high_old.job_id,
        high_new.job_id,
        low_old.job_id,
        low_new.job_id,
        negative.job_id,
    ]


async def test_claim_never_hands_out_a_job_twice(store: Store) -> None:
    added = {(await store.add_job("task")).job_id for _ in range(20)}
    claimed = [(await claim(store, worker=f"w{n % 3}")).job_id for n in range(20)]
    assert sorted(claimed) == sorted(added)
    assert await store.claim_job("task", "w9") is None


async def test_claim_skips_jobs_that_are_not_pending_or_failed(store: Store) -> None:
    completed = await store.add_job("task")
    await claim(store)
    assert await store.complete_job(completed.job_id)
    cancelled = await store.add_job("task")
    assert await store.cancel_job(cancelled.job_id)
    dead = await store.add_job("task", max_attempts=1)
    await claim(store)
    await store.fail_job(dead.job_id, "boom")
    await store.add_job("task")
    processing = await claim(store)  # held by w1, lease not expired
    assert processing.status == JobStatus.PROCESSING
    assert await store.claim_job("task", "w2") is None
    assert await store.claim_job(None, "w2") is None


async def test_claim_machine_type_semantics(store: Store) -> None:
    """A worker of a machine type takes jobs for that type or for any; None takes all."""
    for_b = await store.add_job("task", machine_type="b")
    for_a = await store.add_job("task", machine_type="a")
    for_any = await store.add_job("task")
    first = await store.claim_job("task", "wa", machine_type="a")
    second = await store.claim_job("task", "wa", machine_type="a")
    assert first is not None
    assert second is not None
    assert [first.job_id, second.job_id] == [for_a.job_id, for_any.job_id]
    assert await store.claim_job("task", "wa", machine_type="a") is None
    assert await store.claim_job("task", "wc", machine_type="c") is None
    untyped_worker = await store.claim_job("task", "wn")
    assert untyped_worker is not None
    assert untyped_worker.job_id == for_b.job_id


# -- claim_job_by_id ------------------------------------------------------------------------


async def test_claim_by_id(store: Store) -> None:
    await store.add_job("task", priority=9)
    wanted = await store.add_job("task")
    claimed = await store.claim_job_by_id(wanted.job_id, "w1", lease_seconds=15)
    assert claimed is not None
    assert claimed.job_id == wanted.job_id
    assert claimed.status == JobStatus.PROCESSING
    assert claimed.lease_owner == "w1"
    assert claimed.attempts == 1
    assert claimed.lease_expires is not None
    assert claimed.lease_expires >= time.time() + 14
    # already taken, unknown, or finished: nothing
    assert await store.claim_job_by_id(wanted.job_id, "w2") is None
    assert await store.claim_job_by_id("no-such-job", "w2") is None
    assert await store.complete_job(wanted.job_id)
    assert await store.claim_job_by_id(wanted.job_id, "w2") is None


async def test_claim_by_id_skips_cancelled_jobs(store: Store) -> None:
    job = await store.add_job("task")
    assert await store.cancel_job(job.job_id)
    assert await store.claim_job_by_id(job.job_id, "w1") is None


# -- complete_job -------------------------------------------------------------------------------


async def test_complete_stores_the_result(store: Store) -> None:
    job = await store.add_job("task")
    await claim(store)
    before = time.time()
    assert await store.complete_job(job.job_id, result={"out": "é", "n": [1, 2]}, worker="w1")
    done = await store.get_job(job.job_id)
    assert done is not None
    assert done.status == JobStatus.COMPLETED
    assert done.result == {"out": "é", "n": [1, 2]}
    assert done.lease_owner is None
    assert done.lease_expires is None
    assert done.completed_at is not None
    assert before <= done.completed_at <= time.time()
    assert done.attempts == 1


async def test_complete_without_result(store: Store) -> None:
    job = await store.add_job("task")
    await claim(store)
    assert await store.complete_job(job.job_id)
    done = await store.get_job(job.job_id)
    assert done is not None
    assert done.status == JobStatus.COMPLETED
    assert done.result is None


async def test_complete_only_a_processing_job(store: Store) -> None:
    pending = await store.add_job("task", job_id="p")
    assert not await store.complete_job(pending.job_id)
    assert not await store.complete_job("no-such-job")
    await claim(store)
    assert await store.complete_job(pending.job_id)
    assert not await store.complete_job(pending.job_id), "completed twice"
    cancelled = await store.add_job("task")
    await store.cancel_job(cancelled.job_id)
    assert not await store.complete_job(cancelled.job_id)
    job = await store.get_job(pending.job_id)
    assert job is not None
    assert job.status == JobStatus.COMPLETED


async def test_complete_checks_the_worker(store: Store) -> None:
    job = await store.add_job("task")
    await claim(store, worker="owner")
    assert not await store.complete_job(job.job_id, worker="intruder")
    still = await store.get_job(job.job_id)
    assert still is not None
    assert still.status == JobStatus.PROCESSING
    assert still.lease_owner == "owner"
    assert await store.complete_job(job.job_id, worker="owner")


# -- fail_job ------------------------------------------------------------------------------------


async def test_fail_with_attempts_left_backs_off(store: Store) -> None:
    job = await store.add_job("task", max_attempts=3)
    await claim(store)
    before = time.time()
    failed = await store.fail_job(job.job_id, "disk full", worker="w1")
    assert failed is not None
    assert failed.status == JobStatus.FAILED
    assert failed.error == "disk full"
    assert failed.attempts == 1
    assert failed.lease_owner is None
    assert failed.lease_expires is None
    assert failed.completed_at is None
    # first retry waits RETRY_BACKOFF_SECONDS (jittered down to half of it)
    assert before + RETRY_BACKOFF_SECONDS / 2 <= failed.run_after
    assert failed.run_after <= time.time() + RETRY_BACKOFF_SECONDS
    assert await store.get_job(job.job_id) == failed
    assert await store.claim_job("task", "w2") is None, "claimable during its backoff"
    assert await store.claim_job_by_id(job.job_id, "w2") is None
    assert await store.next_job_ready_at("task") == pytest.approx(failed.run_after)


async def test_failed_job_is_retried_then_dead_after_max_attempts(
    store: Store, end_backoff: Callable[[str], None]
) -> None:
    job = await store.add_job("task", max_attempts=3)
    backoffs = []
    for attempt in (1, 2):
        claimed = await claim(store, worker=f"w{attempt}")
        assert claimed.attempts == attempt
        failed = await store.fail_job(job.job_id, f"error {attempt}", worker=f"w{attempt}")
        assert failed is not None
        assert failed.status == JobStatus.FAILED
        backoffs.append(failed.run_after - failed.updated_at)
        end_backoff(job.job_id)
    assert RETRY_BACKOFF_SECONDS / 2 <= backoffs[0] <= RETRY_BACKOFF_SECONDS
    assert RETRY_BACKOFF_SECONDS <= backoffs[1] <= 2 * RETRY_BACKOFF_SECONDS, "not exponential"
    last = await claim(store, worker="w3")
    assert last.attempts == 3
    dead = await store.fail_job(job.job_id, "error 3", worker="w3")
    assert dead is not None
    assert dead.status == JobStatus.DEAD
    assert dead.error == "error 3"
    assert dead.completed_at is not None
    end_backoff(job.job_id)
    assert await store.claim_job("task", "w4") is None, "a dead job was handed out"
    history = await store.job_history(job.job_id)
    assert [(h["status"], h["attempt"], h["worker"], h["message"]) for h in history] == [
        ("pending", 0, None, "added"),
        ("processing", 1, "w1", None),
        ("failed", 1, "w1", "error 1"),
        ("processing", 2, "w2", None),
        ("failed", 2, "w2", "error 2"),
        ("processing", 3, "w3", None),
        ("dead", 3, "w3", "error 3"),
    ]


async def test_failing_twice_then_succeeding_shows_the_attempts(
    store: Store, end_backoff: Callable[[str], None]
) -> None:
    job = await store.add_job("task", max_attempts=3)
    for _ in range(2):
        await claim(store)
        await store.fail_job(job.job_id, "flaky")
        end_backoff(job.job_id)
    claimed = await claim(store)
    assert claimed.attempts == 3
    assert await store.complete_job(job.job_id, result="ok", worker="w1")
    done = await store.get_job(job.job_id)
    assert done is not None
    assert (done.status, done.attempts, done.result) == (JobStatus.COMPLETED, 3, "ok")


async def test_fail_without_retry_is_dead_at_once(store: Store) -> None:
    job = await store.add_job("task", max_attempts=5)
    await claim(store)
    dead = await store.fail_job(job.job_id, "bad input", retry=False)
    assert dead is not None
    assert dead.status == JobStatus.DEAD
    assert dead.attempts == 1
    assert dead.error == "bad input"


async def test_fail_checks_the_worker_and_the_status(store: Store) -> None:
    assert await store.fail_job("no-such-job", "x") is None
    job = await store.add_job("task")
    await claim(store, worker="owner")
    assert await store.fail_job(job.job_id, "x", worker="intruder") is None
    still = await store.get_job(job.job_id)
    assert still is not None
    assert still.status == JobStatus.PROCESSING
    assert still.error is None
    assert await store.complete_job(job.job_id, worker="owner")
    assert await store.fail_job(job.job_id, "too late") is None
    done = await store.get_job(job.job_id)
    assert done is not None
    assert done.status == JobStatus.COMPLETED
    assert done.error is None


# -- cancel, retry, remove, purge, reset ---------------------------------------------------------


async def test_cancel(store: Store) -> None:
    pending = await store.add_job("task")
    assert await store.cancel_job(pending.job_id)
    cancelled = await store.get_job(pending.job_id)
    assert cancelled is not None
    assert cancelled.status == JobStatus.CANCELLED
    assert cancelled.completed_at is not None
    assert await store.claim_job("task", "w1") is None
    assert not await store.cancel_job(pending.job_id), "cancelled twice"
    assert not await store.cancel_job("no-such-job")


async def test_cancel_a_processing_job_refuses_its_completion(store: Store) -> None:
    job = await store.add_job("task")
    await claim(store, worker="w1")
    assert await store.cancel_job(job.job_id)
    cancelled = await store.get_job(job.job_id)
    assert cancelled is not None
    assert cancelled.status == JobStatus.CANCELLED
    assert cancelled.lease_owner is None
    assert not await store.complete_job(job.job_id, worker="w1")
    assert await store.renew_leases("w1", 60) == 0


async def test_cancel_a_finished_job_is_refused(store: Store) -> None:
    job = await store.add_job("task")
    await claim(store)
    await store.complete_job(job.job_id)
    assert not await store.cancel_job(job.job_id)
    done = await store.get_job(job.job_id)
    assert done is not None
    assert done.status == JobStatus.COMPLETED


@pytest.mark.parametrize("how", ["dead", "cancelled", "failed"])
async def test_retry_puts_the_job_back_with_fresh_attempts(store: Store, how: str) -> None:
    job = await store.add_job("task", max_attempts=2 if how == "failed" else 1)
    if how == "cancelled":
        await store.cancel_job(job.job_id)
    else:
        await claim(store)
        await store.fail_job(job.job_id, "boom")
    before = await store.get_job(job.job_id)
    assert before is not None
    assert before.status == how
    assert await store.retry_job(job.job_id)
    again = await store.get_job(job.job_id)
    assert again is not None
    assert again.status == JobStatus.PENDING
    assert again.attempts == 0
    assert again.error is None
    assert again.completed_at is None
    assert again.run_after <= time.time()
    claimed = await claim(store)
    assert claimed.job_id == job.job_id
    assert claimed.attempts == 1


async def test_retry_refuses_live_and_completed_jobs(store: Store) -> None:
    pending = await store.add_job("task")
    assert not await store.retry_job(pending.job_id)
    await claim(store)
    assert not await store.retry_job(pending.job_id), "retried while processing"
    await store.complete_job(pending.job_id)
    assert not await store.retry_job(pending.job_id)
    assert not await store.retry_job("no-such-job")


async def test_remove(store: Store) -> None:
    job = await store.add_job("task")
    keep = await store.add_job("task")
    assert await store.remove_job(job.job_id)
    assert await store.get_job(job.job_id) is None
    assert await store.job_history(job.job_id) == []
    assert not await store.remove_job(job.job_id)
    assert not await store.remove_job("no-such-job")
    assert [j.job_id for j in await store.list_jobs()] == [keep.job_id]


async def _jobs_in_each_status(store: Store) -> dict[str, str]:
    ids = {}
    job = await store.add_job("task", max_attempts=1)
    await claim(store)
    await store.complete_job(job.job_id)
    ids["completed"] = job.job_id
    job = await store.add_job("task", max_attempts=1)
    await claim(store)
    await store.fail_job(job.job_id, "x")
    ids["dead"] = job.job_id
    job = await store.add_job("task", max_attempts=2)
    await claim(store)
    await store.fail_job(job.job_id, "x")
    ids["failed"] = job.job_id
    job = await store.add_job("task")
    await store.cancel_job(job.job_id)
    ids["cancelled"] = job.job_id
    job = await store.add_job("task")
    await claim(store)
    ids["processing"] = job.job_id
    ids["pending"] = (await store.add_job("task")).job_id
    counts = await store.job_counts()
    assert counts == dict.fromkeys(JobStatus.ALL, 1)
    return ids


async def test_purge_by_status(store: Store) -> None:
    ids = await _jobs_in_each_status(store)
    assert await store.purge_jobs(["completed", "dead"]) == 2
    assert await store.get_job(ids["completed"]) is None
    assert await store.get_job(ids["dead"]) is None
    assert await store.job_history(ids["dead"]) == []
    assert await store.purge_jobs(["completed"]) == 0
    remaining = {j.status for j in await store.list_jobs()}
    assert remaining == {"failed", "cancelled", "processing", "pending"}
    assert await store.purge_jobs([]) == 0
    assert await store.purge_jobs(["cancelled"]) == 1


async def test_purge_older_than(store: Store) -> None:
    ids = await _jobs_in_each_status(store)
    assert await store.purge_jobs(["completed"], older_than=3600) == 0
    assert await store.get_job(ids["completed"]) is not None
    assert await store.purge_jobs(["completed"], older_than=-1) == 1
    assert await store.get_job(ids["completed"]) is None


async def test_purge_unknown_status_is_an_error(store: Store) -> None:
    job = await store.add_job("task")
    with pytest.raises(StoreError, match="finished"):
        await store.purge_jobs(["pending", "finished"])
    assert await store.get_job(job.job_id) is not None


async def test_reset_processing(store: Store) -> None:
    first = await store.add_job("task")
    second = await store.add_job("task")
    untouched = await store.add_job("task")
    await claim(store, worker="w1")
    await claim(store, worker="w2")
    assert await store.reset_processing(older_than=3600) == 0
    assert await store.reset_processing() == 2
    for job_id in (first.job_id, second.job_id):
        job = await store.get_job(job_id)
        assert job is not None
        assert job.status == JobStatus.PENDING
        assert job.lease_owner is None
        assert job.lease_expires is None
    assert not await store.complete_job(first.job_id, worker="w1")
    assert await store.reset_processing() == 0
    order = [(await claim(store, worker="w3")).job_id for _ in range(3)]
    assert sorted(order) == sorted([first.job_id, second.job_id, untouched.job_id])


# -- queries ------------------------------------------------------------------------------------


async def test_get_unknown_job(store: Store) -> None:
    assert await store.get_job("no-such-job") is None


async def test_list_jobs_newest_first_with_filters(store: Store) -> None:
    a = await store.add_job("alpha")
    b = await store.add_job("beta")
    c = await store.add_job("alpha")
    d = await store.add_job("alpha")
    await store.cancel_job(d.job_id)

    def ids(jobs: list[Job]) -> list[str]:
        return [job.job_id for job in jobs]

    assert ids(await store.list_jobs()) == [d.job_id, c.job_id, b.job_id, a.job_id]
    assert ids(await store.list_jobs(limit=2)) == [d.job_id, c.job_id]
    assert ids(await store.list_jobs(limit=None)) == [d.job_id, c.job_id, b.job_id, a.job_id]
    assert ids(await store.list_jobs(job_type="alpha")) == [d.job_id, c.job_id, a.job_id]
    assert ids(await store.list_jobs(status="pending")) == [c.job_id, b.job_id, a.job_id]
    assert ids(await store.list_jobs(status=["cancelled", "pending"], job_type="alpha")) == [
        d.job_id,
        c.job_id,
        a.job_id,
    ]
    assert ids(await store.list_jobs(status=("cancelled",))) == [d.job_id]
    assert await store.list_jobs(status="completed") == []
    assert await store.list_jobs(job_type="gamma") == []


async def test_list_jobs_default_limit_is_100(store: Store) -> None:
    for _ in range(105):
        await store.add_job("task")
    assert len(await store.list_jobs()) == 100
    assert len(await store.list_jobs(limit=None)) == 105


async def test_job_counts_has_every_status(store: Store) -> None:
    assert await store.job_counts() == dict.fromkeys(JobStatus.ALL, 0)
    for _ in range(3):
        await store.add_job("task")
    await claim(store)
    counts = await store.job_counts()
    assert set(counts) == set(JobStatus.ALL)
    assert counts["pending"] == 2
    assert counts["processing"] == 1
    assert sum(counts.values()) == 3


async def test_job_history_is_ordered(store: Store) -> None:
    job = await store.add_job("task")
    await claim(store, worker="w1")
    await store.complete_job(job.job_id, worker="w1")
    history = await store.job_history(job.job_id)
    assert [(h["status"], h["attempt"], h["worker"]) for h in history] == [
        ("pending", 0, None),
        ("processing", 1, "w1"),
        ("completed", 1, "w1"),
    ]
    times = [h["at"] for h in history]
    assert times == sorted(times)
    assert await store.job_history("no-such-job") == []


async def test_job_history_of_cancel_retry_and_reset(store: Store) -> None:
    job = await store.add_job("task")
    await store.cancel_job(job.job_id)
    await store.retry_job(job.job_id)
    await claim(store)
    await store.reset_processing()
    history = await store.job_history(job.job_id)
    assert [(h["status"], h["attempt"], h["message"]) for h in history] == [
        ("pending", 0, "added"),
        ("cancelled", 0, "cancel_job"),
        ("pending", 0, "retry_job"),
        ("processing", 1, None),
        ("pending", 1, "reset"),
    ]


async def test_next_job_ready_at(store: Store) -> None:
    assert await store.next_job_ready_at("task") is None
    assert await store.next_job_ready_at(None) is None
    later = await store.add_job("task", delay=120)
    sooner = await store.add_job("task", delay=60)
    other = await store.add_job("other", delay=30)
    assert await store.next_job_ready_at("task") == pytest.approx(sooner.run_after)
    assert await store.next_job_ready_at(None) == pytest.approx(other.run_after)
    assert await store.next_job_ready_at("nothing") is None
    await store.cancel_job(sooner.job_id)
    assert await store.next_job_ready_at("task") == pytest.approx(later.run_after)
    ready = await store.add_job("task")
    at = await store.next_job_ready_at("task")
    assert at is not None
    assert at <= time.time()
    assert at == pytest.approx(ready.run_after)


async def test_claim_of_any_type_follows_priority_across_types(store: Store) -> None:
    low = await store.add_job("alpha", priority=1)
    high = await store.add_job("beta", priority=7)
    mid = await store.add_job("gamma", priority=4)
    delayed = await store.add_job("beta", priority=99, delay=60)
    order = [(await claim(store, None)).job_id for _ in range(3)]
    assert order == [high.job_id, mid.job_id, low.job_id]
    assert await store.claim_job(None, "w1") is None
    assert (await store.get_job(delayed.job_id)).status == JobStatus.PENDING  # type: ignore[union-attr]
