"""Adding jobs: a job whose id is already queued (``JobExists``), and many jobs in one
transaction (``add_jobs``)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from statemachine_engine.database._new_jobs import NewJob
from statemachine_engine.database.models.job import JobStatus
from statemachine_engine.database.store import Store, StoreError
from statemachine_engine.errors import JobExists

# -- one job whose id is already queued ---------------------------------------------------


async def test_adding_an_id_already_queued_raises_job_exists_and_changes_nothing(
    store: Store,
) -> None:
    first = await store.add_job("task", {"n": 1}, job_id="once", priority=2)
    with pytest.raises(JobExists) as raised:
        await store.add_job("other", {"n": 2}, job_id="once", priority=9, max_attempts=7)
    assert raised.value.job_id == "once"
    assert isinstance(raised.value, StoreError)  # callers that catch StoreError still do
    assert str(raised.value) == "a job with id 'once' already exists"
    assert await store.get_job("once") == first
    assert [row["message"] for row in await store.job_history("once")] == ["added"]


async def test_an_id_already_queued_is_refused_whatever_the_job_became(store: Store) -> None:
    await store.add_job("task", job_id="done-already")
    claimed = await store.claim_job("task", "w1")
    assert claimed is not None
    assert await store.complete_job("done-already", worker="w1")
    with pytest.raises(JobExists):
        await store.add_job("task", job_id="done-already")
    job = await store.get_job("done-already")
    assert job is not None
    assert job.status == JobStatus.COMPLETED


# -- many jobs in one transaction ---------------------------------------------------------


async def test_add_jobs_queues_every_field_in_order(store: Store) -> None:
    before = time.time()
    jobs = [
        NewJob("task", {"n": 1}, "a", priority=5, max_attempts=2, machine_type="gpu"),
        NewJob("task", None, "b", delay=3600.0, source_job_id="parent"),
        NewJob("other", {"nested": {"list": [1, 2.5, None, "x"]}}, "c"),
    ]
    assert await store.add_jobs(jobs) == ["a", "b", "c"]

    a, b, c = [await store.get_job(job_id) for job_id in "abc"]
    assert a is not None
    assert b is not None
    assert c is not None
    assert (a.job_type, a.data, a.priority, a.max_attempts, a.machine_type) == (
        "task",
        {"n": 1},
        5,
        2,
        "gpu",
    )
    assert a.status == JobStatus.PENDING
    assert before <= a.created_at <= a.run_after <= time.time()
    assert (b.data, b.priority, b.max_attempts, b.source_job_id) == ({}, 0, 3, "parent")
    assert b.run_after >= before + 3600.0
    assert c.data == {"nested": {"list": [1, 2.5, None, "x"]}}
    assert [job.id for job in (a, b, c)] == sorted(job.id or 0 for job in (a, b, c))
    for job_id in "abc":
        assert [row["message"] for row in await store.job_history(job_id)] == ["added"]
    claimed = await store.claim_job("task", "w1", machine_type="gpu")
    assert claimed is not None
    assert claimed.job_id == "a"


async def test_add_jobs_stores_any_text_as_add_job_does(store: Store) -> None:
    text = "emoji 😀, quotes \"' \\, tab\t, é, 漢字"
    data = {"text": text + " NUL \x00", text: [text, 1.5e300, -0, True, None]}
    one = await store.add_job(f"type {text}", data, job_id=f"one {text}", machine_type=text)
    [many_id] = await store.add_jobs(
        [NewJob(f"type {text}", data, f"many {text}", 0, 3, 0.0, text)]
    )
    many = await store.get_job(many_id)
    assert many is not None
    assert many_id == f"many {text}"
    assert (many.job_type, many.data, many.machine_type) == (one.job_type, one.data, text)
    assert many.data == data


async def test_add_jobs_skips_ids_already_queued_and_repeated(store: Store) -> None:
    kept = await store.add_job("task", {"v": "old"}, job_id="old")
    added = await store.add_jobs(
        [
            NewJob("task", {"v": "new"}, "old"),
            NewJob("task", {"v": 1}, "fresh"),
            NewJob("task", {"v": 2}, "fresh"),
            NewJob("task", {"v": 3}, "other"),
        ]
    )
    assert added == ["fresh", "other"]
    assert await store.get_job("old") == kept
    fresh = await store.get_job("fresh")
    assert fresh is not None
    assert fresh.data == {"v": 1}  # the first of the repeated id
    assert len(await store.list_jobs()) == 3
    assert [row["message"] for row in await store.job_history("old")] == ["added"]


async def test_add_jobs_generates_ids_for_jobs_without_one(store: Store) -> None:
    added = await store.add_jobs([NewJob("task") for _ in range(50)])
    assert len(set(added)) == 50
    assert {job.job_id for job in await store.list_jobs(limit=None)} == set(added)


async def test_add_jobs_of_nothing_adds_nothing(store: Store) -> None:
    assert await store.add_jobs([]) == []
    assert await store.job_counts() in ({}, {status: 0 for status in JobStatus.ALL})


async def test_add_jobs_refuses_a_bad_job_and_adds_none_of_the_batch(store: Store) -> None:
    with pytest.raises(StoreError, match="max_attempts"):
        await store.add_jobs([NewJob("task", job_id="good"), NewJob("task", max_attempts=0)])
    with pytest.raises(StoreError, match="nan"):
        await store.add_jobs([NewJob("task", job_id="good"), NewJob("task", {"x": float("nan")})])
    assert await store.list_jobs() == []


@pytest.mark.parametrize(
    ("numbers", "refused"),
    [
        ({"priority": 2**31}, "priority must be from -2147483648 to 2147483647, not 2147483648"),
        ({"priority": -(2**63) - 1}, "priority must be from -2147483648 to 2147483647"),
        ({"max_attempts": 2**31}, "max_attempts must be from 1 to 2147483647"),
        ({"delay": 1e300}, "delay must be at most 100 years ahead (3155760000 seconds)"),
        ({"delay": float("inf")}, "delay must be a number of seconds of 0 or more"),
    ],
)
async def test_numbers_some_backend_or_listing_cannot_hold_are_refused_by_every_one(
    store: Store, numbers: dict[str, float], refused: str
) -> None:
    """Each dialect refuses them alike (SQLite would store a priority PostgreSQL's
    column cannot hold, and a time no listing can show), whole batches too."""
    with pytest.raises(StoreError, match=re.escape(refused)):
        await store.add_job("task", **numbers)
    with pytest.raises(StoreError, match=re.escape(refused)):
        await store.add_jobs([NewJob("task", job_id="good"), NewJob("task")._replace(**numbers)])
    assert await store.list_jobs() == []


async def test_the_edges_of_those_numbers_are_taken(store: Store) -> None:
    low = await store.add_job("task", priority=-(2**31), max_attempts=2**31 - 1, delay=0)
    high = await store.add_job("task", priority=2**31 - 1, delay=99 * 365 * 86400.0)
    assert (low.priority, low.max_attempts, high.priority) == (-(2**31), 2**31 - 1, 2**31 - 1)
    assert [job.job_id for job in await store.list_jobs(limit=10**30)] == [
        high.job_id,
        low.job_id,
    ]  # a limit no table reaches is no limit


async def test_a_thousand_jobs_in_one_call(store: Store) -> None:
    jobs = [NewJob("bulk", {"n": n}, f"job-{n:04d}", priority=n % 3) for n in range(1000)]
    assert len(await store.add_jobs(jobs)) == 1000
    counts = await store.job_counts()
    assert counts[JobStatus.PENDING] == 1000
    first = await store.claim_job("bulk", "w1")
    assert first is not None
    assert (first.job_id, first.priority) == ("job-0002", 2)


async def test_jobs_added_in_bulk_wake_a_waiting_worker(
    store: Store, store_factory: Callable[[], Store]
) -> None:
    worker = store_factory()
    listener = await worker.listener()
    mark = listener.mark("jobs")
    await store.add_jobs([NewJob("task", job_id="wake")])
    assert await listener.wait("jobs", mark, 10.0)
