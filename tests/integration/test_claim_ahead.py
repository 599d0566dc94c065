"""Jobs claimed ahead: a worker that runs through jobs fast claims several in one
transaction, and gives back unused those it has not started, on a real SQLite file.

The window that sizes a batch (what the worker finishes in 20 ms at its pace) is
widened for these tests, so the batch is the ``prefetch`` the config allows however busy
the machine running them is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from statemachine_engine.core import _jobs
from statemachine_engine.core._jobs import JobTracker
from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.database.models.job import JobStatus
from tests.support.engines import Machines
from tests.support.recorder import LogWatcher


@pytest.fixture(autouse=True)
def wide_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_jobs, "AHEAD_WINDOW_SECONDS", 3600.0)


@pytest.fixture
async def machines(store: SqliteStore) -> AsyncIterator[Machines]:
    async with Machines(store=store, machine_name="worker") as factory:
        yield factory


async def statuses(store: SqliteStore, job_ids: list[str]) -> list[tuple[str, int, str | None]]:
    found = []
    for job_id in job_ids:
        job = await store.get_job(job_id)
        assert job is not None
        found.append((job.status, job.attempts, job.lease_owner))
    return found


async def test_the_first_claim_takes_one_job_and_the_next_claims_ahead(
    store: SqliteStore,
) -> None:
    for number in range(6):
        await store.add_job("a", job_id=f"a{number}")
    tracker = JobTracker("w")
    # No pace is known before the first job: one job, however much prefetch allows.
    first = await tracker.claim_next(store, {"job_type": "a", "prefetch": 3})
    assert first is not None
    assert first.job_id == "a0"
    assert await statuses(store, ["a1"]) == [(JobStatus.PENDING, 0, None)]
    second = await tracker.claim_next(store, {"job_type": "a", "prefetch": 3})
    assert second is not None
    assert second.job_id == "a1"
    assert await statuses(store, ["a2", "a3", "a4", "a5"]) == [
        (JobStatus.PROCESSING, 1, "w"),
        (JobStatus.PROCESSING, 1, "w"),
        (JobStatus.PROCESSING, 1, "w"),
        (JobStatus.PENDING, 0, None),
    ]
    # The jobs claimed ahead come next, without the store.
    third = await tracker.claim_next(store, {"job_type": "a", "prefetch": 3})
    assert third is not None
    assert (third.job_id, third.attempts) == ("a2", 1)


async def test_a_claim_of_another_kind_gives_the_jobs_ahead_back(store: SqliteStore) -> None:
    for number in range(4):
        await store.add_job("a", job_id=f"a{number}")
    await store.add_job("b", job_id="b0")
    tracker = JobTracker("w")
    for _ in range(2):
        await tracker.claim_next(store, {"job_type": "a", "prefetch": 5})
    assert await statuses(store, ["a2", "a3"]) == [(JobStatus.PROCESSING, 1, "w")] * 2
    other = await tracker.claim_next(store, {"job_type": "b", "prefetch": 5})
    assert other is not None
    assert other.job_id == "b0"
    assert await statuses(store, ["a2", "a3"]) == [(JobStatus.PENDING, 0, None)] * 2
    history = await store.job_history("a2")
    assert history[-1]["message"] == "given back unused"


async def test_jobs_ahead_waiting_too_long_go_back_at_the_next_renewal(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(4):
        await store.add_job("a", job_id=f"a{number}")
    tracker = JobTracker("w")
    for _ in range(2):
        await tracker.claim_next(store, {"job_type": "a", "prefetch": 5})
    await tracker.renew(store)
    assert await statuses(store, ["a2", "a3"]) == [(JobStatus.PROCESSING, 1, "w")] * 2
    monkeypatch.setattr(_jobs, "AHEAD_MAX_AGE_SECONDS", 0.0)
    await tracker.renew(store)
    assert await statuses(store, ["a1", "a2", "a3"]) == [
        (JobStatus.PROCESSING, 1, "w"),
        (JobStatus.PENDING, 0, None),
        (JobStatus.PENDING, 0, None),
    ]


WORKER = """
    initial_state: waiting
    transitions:
      - {from: waiting, to: working, event: new_job}
      - {from: working, to: waiting, event: go}
      - {from: waiting, to: idle, event: no_jobs}
    actions:
      waiting:
        - {type: check_database_queue, job_type: task, prefetch: 4, wait: 5}
    """


async def test_a_stopped_worker_gives_back_the_jobs_it_claimed_ahead(
    store: SqliteStore, machines: Machines
) -> None:
    job_ids = [f"j{number}" for number in range(10)]
    for job_id in job_ids:
        await store.add_job("task", job_id=job_id)
    engine, recorder, _ = machines.start(WORKER)
    for done in range(3):
        await recorder.until(lambda done=done: recorder.states.count("working") == done + 1)
        engine.send_event("go")
    await recorder.until(lambda: recorder.states.count("working") == 4)
    # Working on j3 (j0..j2 completed when the next check came). The second check
    # claimed j1 with j2..j5 ahead; j4 and j5 are still waiting to be started.
    assert engine.context["job_id"] == "j3"
    assert await statuses(store, ["j4", "j5", "j6"]) == [
        (JobStatus.PROCESSING, 1, engine.worker_id),
        (JobStatus.PROCESSING, 1, engine.worker_id),
        (JobStatus.PENDING, 0, None),
    ]
    await machines.stop(engine)
    found = await statuses(store, job_ids)
    assert [status for status, _, _ in found[:3]] == [JobStatus.COMPLETED] * 3
    # Stopped before finishing j3 and before starting j4 and j5: all back, attempts
    # unused.
    assert found[3:] == [(JobStatus.PENDING, 0, None)] * 7


async def test_jobs_ahead_of_a_worker_stuck_on_one_go_back_after_a_while(
    store: SqliteStore,
    machines: Machines,
    log_watcher: LogWatcher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_jobs, "AHEAD_MAX_AGE_SECONDS", 0.05)
    job_ids = [f"j{number}" for number in range(6)]
    for job_id in job_ids:
        await store.add_job("task", job_id=job_id)
    engine, recorder, _ = machines.start(WORKER)
    await recorder.until(lambda: recorder.states.count("working") == 1)
    engine.send_event("go")
    await recorder.until(lambda: recorder.states.count("working") == 2)
    # Working on j1 with j2..j5 claimed ahead, and no `go` coming: the heartbeat gives
    # them back on its own, so that other workers can take them.
    await log_watcher.until("jobs_ahead_given_back")
    found = await statuses(store, job_ids)
    assert found[1] == (JobStatus.PROCESSING, 1, engine.worker_id)
    assert found[2:] == [(JobStatus.PENDING, 0, None)] * 4
