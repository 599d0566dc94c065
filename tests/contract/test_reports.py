"""Operators' reports the store answers in one query: the error history."""

from __future__ import annotations

import time
from collections.abc import Callable

from statemachine_engine.database.models.machine_state import (
    DEAD_JOB,
    ERROR_TRANSITION,
    ErrorRecord,
)
from statemachine_engine.database.store import Store


async def transition(store: Store, name: str, from_state: str | None, to: str, event: str) -> None:
    await store.save_transition(
        name, from_state=from_state, to_state=to, event=event, context={}, timers=[]
    )


async def dead_job(store: Store, job_id: str, worker: str, error: str = "boom") -> None:
    await store.add_job("task", {}, job_id=job_id, max_attempts=1)
    claimed = await store.claim_job_by_id(job_id, worker)
    assert claimed is not None
    failed = await store.fail_job(job_id, error, worker=worker)
    assert failed is not None
    assert failed.status == "dead"


async def test_error_transitions_are_those_of_an_error_event(store: Store) -> None:
    events = ["start", "error", "job_failed", "some_error", "errors", "failed", "JOB_FAILED"]
    for event in events:
        await transition(store, "m1", "a", "b", event)
    found = await store.error_history()
    assert [record.event for record in found] == ["some_error", "job_failed", "error"]
    assert {record.kind for record in found} == {ERROR_TRANSITION}
    assert found[0].as_dict() == {
        "kind": "transition",
        "at": found[0].at,
        "machine": "m1",
        "job_id": None,
        "event": "some_error",
        "from_state": "a",
        "to_state": "b",
        "error": None,
    }


async def test_dead_jobs_carry_the_machine_that_held_them_last(store: Store) -> None:
    await dead_job(store, "j1", "worker-a", "out of memory")
    [record] = await store.error_history()
    assert (record.kind, record.job_id, record.machine, record.error) == (
        DEAD_JOB,
        "j1",
        "worker-a",
        "out of memory",
    )
    assert (record.event, record.from_state, record.to_state) == (None, None, None)
    job = await store.get_job("j1")
    assert job is not None
    assert record.at == job.completed_at or record.at == job.updated_at


async def test_failed_jobs_with_attempts_left_are_not_errors_yet(store: Store) -> None:
    await store.add_job("task", {}, job_id="j1", max_attempts=3)
    await store.claim_job_by_id("j1", "w")
    await store.fail_job("j1", "flaky", worker="w")
    assert await store.error_history() == []


async def test_newest_first_across_both_kinds(store: Store) -> None:
    await dead_job(store, "old", "m1")
    await transition(store, "m1", "a", "b", "error")
    await dead_job(store, "new", "m2")
    found = await store.error_history()
    assert [(record.kind, record.job_id) for record in found] == [
        (DEAD_JOB, "new"),
        (ERROR_TRANSITION, None),
        (DEAD_JOB, "old"),
    ]
    assert [record.at for record in found] == sorted((r.at for r in found), reverse=True)


async def test_filters_by_machine_since_and_limit(store: Store) -> None:
    await dead_job(store, "j-m1", "m1")
    await transition(store, "m2", "a", "b", "error")
    mark = time.time()
    await transition(store, "m1", "b", "c", "step_failed")
    await dead_job(store, "j-m2", "m2")

    def summary(found: list[ErrorRecord]) -> list[tuple[str, str | None, str | None]]:
        return [(r.kind, r.machine, r.job_id) for r in found]

    assert summary(await store.error_history("m1")) == [
        (ERROR_TRANSITION, "m1", None),
        (DEAD_JOB, "m1", "j-m1"),
    ]
    assert summary(await store.error_history("m2", since=mark)) == [(DEAD_JOB, "m2", "j-m2")]
    assert summary(await store.error_history(since=mark)) == [
        (DEAD_JOB, "m2", "j-m2"),
        (ERROR_TRANSITION, "m1", None),
    ]
    assert summary(await store.error_history(limit=1)) == [(DEAD_JOB, "m2", "j-m2")]
    assert len(await store.error_history(limit=3)) == 3
    assert await store.error_history("nobody") == []


async def test_the_limit_holds_for_each_kind_and_in_all(store: Store) -> None:
    for n in range(5):
        await transition(store, "m1", "a", "b", "error")
        await dead_job(store, f"j{n}", "m1")
    found = await store.error_history(limit=4)
    assert [record.kind for record in found] == [DEAD_JOB, ERROR_TRANSITION] * 2
    assert [record.job_id for record in found if record.kind == DEAD_JOB] == ["j4", "j3"]
    assert len(await store.error_history()) == 10


async def test_a_dead_job_seen_from_another_handle(
    store: Store, store_factory: Callable[[], Store]
) -> None:
    await dead_job(store, "j1", "m1")
    [record] = await store_factory().error_history("m1")
    assert record.job_id == "j1"
