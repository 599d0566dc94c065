"""``add_job`` through real engines on a real SQLite file: a controller machine queues
jobs (once per id), and a worker process waiting on the queue takes them at once.

Engines built in the test's process are awaited through their state changes; worker
processes through their log lines. Nothing sleeps.
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.database.models.job import JobStatus
from tests.support.engines import Machines
from tests.support.files import write
from tests.support.processes import MachineProcess, moved


@pytest.fixture
async def machines(store: SqliteStore) -> AsyncIterator[Machines]:
    """Durable engines on the test's store."""
    async with Machines(store=store, machine_name="controller") as factory:
        yield factory


CONTROLLER = """
    initial_state: idle
    events: [order]
    transitions:
      - {from: idle, to: queueing, event: order}
      - {from: queueing, to: idle, event: job_added}
      - {from: queueing, to: duplicate, event: job_exists}
      - {from: queueing, to: refused, event: error}
      - {from: duplicate, to: idle, event: continue}
      - {from: refused, to: idle, event: continue}
    actions:
      queueing:
        - type: add_job
          job_type: render
          job_id: "order-{event_data.payload.id}"
          data: "{event_data.payload}"
          priority: "{prio}"
          delay: 5m
          max_attempts: 5
          machine_type: gpu
          store_as: last_job
      duplicate:
        - {type: log, message: "already queued: {last_job}"}
      refused:
        - {type: log, message: "refused: {last_error}"}
    """


async def test_a_controller_queues_a_job_once_per_id(
    store: SqliteStore, machines: Machines
) -> None:
    engine, recorder, _ = machines.start(CONTROLLER, initial_context={"prio": 7})
    await recorder.entered("idle")
    first = {"id": 1, "file": "a.png", "sizes": [64, 128], "meta": {"by": "ada"}}

    before = time.time()
    engine.send_event("order", first)
    await recorder.entered("idle", times=2)

    job = await store.get_job("order-1")
    assert job is not None
    assert job.data == first  # the payload mapping itself, its types kept
    assert job.priority == 7  # "{prio}": an int, not its text
    assert (job.job_type, job.machine_type, job.max_attempts) == ("render", "gpu", 5)
    assert job.status == JobStatus.PENDING
    assert before + 300 <= job.run_after <= time.time() + 300
    assert engine.context["last_job"] == "order-1"

    engine.send_event("order", {"id": 1, "file": "b.png"})
    await recorder.entered("idle", times=3)

    assert recorder.changes[-2:] == [
        ("queueing", "duplicate", "job_exists"),
        ("duplicate", "idle", "continue"),
    ]
    assert recorder.messages == ["already queued: order-1"]
    assert await store.get_job("order-1") == job  # nothing changed
    assert [row["message"] for row in await store.job_history("order-1")] == ["added"]
    assert len(await store.list_jobs()) == 1


async def test_an_unusable_option_is_the_error_event_and_queues_nothing(
    store: SqliteStore, machines: Machines
) -> None:
    engine, recorder, _ = machines.start(CONTROLLER, initial_context={"prio": "urgent"})
    await recorder.entered("idle")

    engine.send_event("order", {"id": 2})
    await recorder.entered("refused")

    assert recorder.messages == ["refused: add_job: priority must be a whole number, not 'urgent'"]
    assert await store.list_jobs() == []


GENERATED = """
    initial_state: queueing
    transitions:
      - {from: queueing, to: completed, event: job_added}
    actions:
      queueing:
        - {type: add_job, job_type: thumbnail, data: {file: "{file}", size: "{size}"},
           store_as: queued}
    """


async def test_a_generated_id_is_stored_where_store_as_says(
    store: SqliteStore, machines: Machines
) -> None:
    engine, recorder = await machines.run(
        GENERATED, initial_context={"file": "x.png", "size": 64, "job_id": "parent-9"}
    )

    job_id = engine.context["queued"]
    assert job_id.startswith("job_")
    job = await store.get_job(job_id)
    assert job is not None
    assert job.data == {"file": "x.png", "size": 64}
    assert job.source_job_id == "parent-9"  # the job the controller held
    assert recorder.changes[-1] == ("queueing", "completed", "job_added")


# -- a worker process takes what a controller queued ------------------------------------

WORKER = """
    name: Render worker
    initial_state: waiting
    transitions:
      - {from: waiting, to: processing, event: new_job}
      - {from: waiting, to: waiting, event: no_jobs}
      - {from: processing, to: waiting, event: job_completed}
    actions:
      waiting:
        - {type: check_database_queue, job_type: render, wait: 60}
      processing:
        - {type: complete_job, result: "{file}", success: job_completed}
    """

QUEUE_ONE = """
    initial_state: queueing
    transitions:
      - {from: queueing, to: completed, event: job_added}
    actions:
      queueing:
        - {type: add_job, job_type: render, job_id: r1, data: {file: "c.png"}}
    """


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="wake-up sockets")
async def test_a_waiting_worker_takes_a_job_a_controller_queued_at_once(
    tmp_path: Path,
    db: Path,
    store: SqliteStore,
    machines: Machines,
    statemachine: Callable[..., MachineProcess],
) -> None:
    config = write(tmp_path / "worker.yaml", WORKER)
    worker = statemachine(config, "--db", db, "--machine-name", "w1", "--debug")
    worker.expect(r"\[w1\] no job ready; waiting up to 60s")  # blocked on the empty queue

    await machines.run(QUEUE_ONE)

    # Within the 15 s the expectation allows, well before the worker's 60 s wait ends:
    # the commit woke it.
    worker.expect(moved("w1", "processing", "job_completed", "waiting"))
    job = await store.get_job("r1")
    assert job is not None
    assert (job.status, job.result) == (JobStatus.COMPLETED, "c.png")
    assert worker.stop() == 0, worker.stderr
