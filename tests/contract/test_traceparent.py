"""The trace context a job or an event carries: kept as given, read back with the job or
event, and refused (not kept) when malformed."""

from __future__ import annotations

import pytest

from statemachine_engine.database.store import Store

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
OTHER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
MALFORMED = [
    "",
    "not a traceparent",
    "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",  # upper case
    "00-00000000000000000000000000000000-b7ad6b7169203331-01",  # zero trace id
    "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  # zero span id
    "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # not version 00
    TRACEPARENT + "-extra",
    TRACEPARENT + "\n",
    "x" * 10_000,
]


async def test_a_job_keeps_its_traceparent_through_claim_and_handover(store: Store) -> None:
    job = await store.add_job("task", traceparent=TRACEPARENT)
    assert job.traceparent == TRACEPARENT
    claimed = await store.claim_job("task", "controller")
    assert claimed is not None
    assert claimed.traceparent == TRACEPARENT
    moved = await store.hand_over_job(
        job.job_id, attempt=claimed.attempts, worker="child", lease_seconds=30
    )
    assert moved is not None
    assert moved.traceparent == TRACEPARENT
    batch = await store.claim_jobs(None, "w", limit=3)
    assert batch == []
    await store.add_job("task", job_id="plain")
    [plain] = await store.claim_jobs("task", "w", limit=3)
    assert plain.traceparent is None


async def test_a_job_without_a_trace_takes_the_first_one_only(store: Store) -> None:
    job = await store.add_job("task")
    assert job.traceparent is None
    await store.trace_job(job.job_id, TRACEPARENT)
    await store.trace_job(job.job_id, OTHER)  # the first trace stays
    await store.trace_job(job.job_id, "junk")
    stored = await store.get_job(job.job_id)
    assert stored is not None
    assert stored.traceparent == TRACEPARENT


async def test_an_event_keeps_its_traceparent(store: Store) -> None:
    await store.send_event("target", "go", {"n": 1}, source="sender", traceparent=TRACEPARENT)
    await store.send_event("target", "plain")
    first, second = await store.pending_events("target")
    assert (first.event_type, first.traceparent) == ("go", TRACEPARENT)
    assert (second.event_type, second.traceparent) == ("plain", None)


#: Rows of a store at version 9, written before jobs and events kept a trace.
VERSION_9_ROWS = (
    "INSERT INTO jobs (job_id, job_type, run_after, created_at, updated_at)"
    " VALUES ('old-job', 'task', 0, 0, 0)",
    "INSERT INTO machine_events (target_machine, event_type, created_at)"
    " VALUES ('m', 'old-event', 0)",
)


async def check_version_9_rows(store: Store) -> None:
    """The rows of :data:`VERSION_9_ROWS` are kept, with no trace; new ones keep theirs."""
    old = await store.get_job("old-job")
    assert old is not None
    assert old.traceparent is None
    [event] = await store.pending_events("m")
    assert (event.event_type, event.traceparent) == ("old-event", None)
    assert (await store.add_job("task", traceparent=TRACEPARENT)).traceparent == TRACEPARENT


@pytest.mark.parametrize("malformed", MALFORMED)
async def test_a_malformed_traceparent_is_not_kept(store: Store, malformed: str) -> None:
    job = await store.add_job("task", traceparent=malformed)
    assert job.traceparent is None
    await store.send_event("target", "go", traceparent=malformed)
    [event] = await store.pending_events("target")
    assert event.traceparent is None
