"""Completions in batches (``Store.complete_jobs``), on every dialect: one transaction,
each completion fenced as ``complete_job``'s is, committed before the call returns."""

from __future__ import annotations

from collections.abc import Callable

from statemachine_engine.database.models.job import JobCompletion, JobStatus
from statemachine_engine.database.store import Store


async def claimed(store: Store, count: int, worker: str = "w1") -> list[str]:
    for number in range(count):
        await store.add_job("task", job_id=f"b{number}")
    jobs = await store.claim_jobs("task", worker, limit=count)
    assert len(jobs) == count
    return [job.job_id for job in jobs]


async def test_a_batch_completes_every_job_it_names_with_its_result(store: Store) -> None:
    ids = await claimed(store, 3)
    done = await store.complete_jobs(
        [JobCompletion(job_id, "w1", 1, {"n": number}) for number, job_id in enumerate(ids)]
    )
    assert done == [True, True, True]
    for number, job_id in enumerate(ids):
        job = await store.get_job(job_id)
        assert job is not None
        assert (job.status, job.result, job.lease_owner) == (
            JobStatus.COMPLETED,
            {"n": number},
            None,
        )
        history = await store.job_history(job_id)  # type: ignore[attr-defined]
        assert [(row["status"], row["worker"]) for row in history][-1] == ("completed", "w1")


async def test_each_completion_of_a_batch_is_fenced_on_its_own(store: Store) -> None:
    first, second, third, fourth = await claimed(store, 4)
    assert await store.cancel_job(fourth)  # type: ignore[attr-defined]
    done = await store.complete_jobs(
        [
            JobCompletion(first, "w1", 1),
            JobCompletion(second, "someone-else", 1),  # not its lease holder
            JobCompletion(third, "w1", 2),  # not its attempt
            JobCompletion(fourth, "w1", 1),  # cancelled meanwhile
            JobCompletion("no-such-job"),
        ]
    )
    assert done == [True, False, False, False, False]
    statuses = [
        getattr(await store.get_job(job_id), "status", None)
        for job_id in (first, second, third, fourth)
    ]
    assert statuses == ["completed", "processing", "processing", "cancelled"]
    history = await store.job_history(second)  # type: ignore[attr-defined]
    assert "completed" not in [row["status"] for row in history]


async def test_a_job_named_twice_in_a_batch_is_completed_once_by_its_first(
    store: Store,
) -> None:
    [job_id] = await claimed(store, 1)
    done = await store.complete_jobs(
        [JobCompletion(job_id, "w1", 1, "first"), JobCompletion(job_id, "w1", 1, "second")]
    )
    assert done == [True, False]
    job = await store.get_job(job_id)
    assert job is not None
    assert job.result == "first"
    history = await store.job_history(job_id)  # type: ignore[attr-defined]
    assert [row["status"] for row in history].count("completed") == 1


async def test_a_batch_is_seen_by_another_handle_once_the_call_returned(
    store: Store, store_factory: Callable[[], Store]
) -> None:
    other_store = store_factory()
    ids = await claimed(store, 2)
    assert await store.complete_jobs([JobCompletion(job_id, "w1") for job_id in ids]) == [
        True,
        True,
    ]
    for job_id in ids:
        job = await other_store.get_job(job_id)
        assert job is not None
        assert job.status == JobStatus.COMPLETED


async def test_an_empty_batch_does_nothing(store: Store) -> None:
    assert await store.complete_jobs([]) == []
