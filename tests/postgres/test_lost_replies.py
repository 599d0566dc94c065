"""A write whose connection is lost after it committed, before its reply arrived: the
store runs it again on a new connection, and still tells what the first run did.

The relay (tests/support/reply_cutter.py) drops the server's reply to one write and
closes that connection: the server committed it, the client never heard.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from statemachine_engine.database._job_search import JobSearch
from statemachine_engine.database._postgres import PostgresStore
from statemachine_engine.database.models.job import JobCompletion, JobStatus, NewJob
from tests.support.reply_cutter import ReplyCutter, reply_cutter


@pytest.fixture
async def relayed(url: str) -> AsyncIterator[tuple[ReplyCutter, PostgresStore]]:
    """A store whose connections go through a relay that can lose a reply."""
    async with reply_cutter(url) as (cutter, through):
        store = PostgresStore(through)
        try:
            yield cutter, store
        finally:
            await store.close()


async def claimed(store: PostgresStore, *job_ids: str) -> list[int]:
    """Add and claim ``job_ids`` as worker ``w``; their attempts."""
    attempts = []
    for job_id in job_ids:
        await store.add_job("task", job_id=job_id)
        job = await store.claim_job("task", "w")
        assert job is not None
        assert job.job_id == job_id
        attempts.append(job.attempts)
    return attempts


async def completed_once(store: PostgresStore, job_id: str) -> None:
    job = await store.get_job(job_id)
    assert job is not None
    assert job.status == JobStatus.COMPLETED
    history = [row["status"] for row in await store.job_history(job_id)]
    assert history == ["pending", "processing", "completed"]


async def test_a_completion_whose_reply_was_lost_is_told_as_completed(
    relayed: tuple[ReplyCutter, PostgresStore],
) -> None:
    cutter, store = relayed
    (attempt,) = await claimed(store, "j1")
    cutter.lose_next_reply()
    assert await store.complete_job("j1", worker="w", attempt=attempt)
    assert cutter.cut == 1
    await completed_once(store, "j1")


async def test_completions_in_one_statement_whose_reply_was_lost_are_told_as_completed(
    relayed: tuple[ReplyCutter, PostgresStore],
) -> None:
    cutter, store = relayed
    attempts = await claimed(store, "j1", "j2")
    cutter.lose_next_reply()
    completions = [
        JobCompletion(job_id, "w", a, None)
        for job_id, a in zip(["j1", "j2"], attempts, strict=False)
    ]
    assert await store.complete_jobs(completions) == [True, True]
    assert cutter.cut == 1
    for job_id in ("j1", "j2"):
        await completed_once(store, job_id)


async def test_a_carried_completion_whose_reply_was_lost_is_told_as_completed(
    relayed: tuple[ReplyCutter, PostgresStore],
) -> None:
    cutter, store = relayed
    (attempt,) = await claimed(store, "j1")
    told: list[bool] = []
    heard = asyncio.Event()

    def outcome(done: bool) -> None:
        told.append(done)
        heard.set()

    store.complete_job_with_next_write(JobCompletion("j1", "w", attempt, None), outcome)
    cutter.lose_next_reply()
    await store.add_job("task", job_id="carrier")  # commits the completion with it
    await asyncio.wait_for(heard.wait(), 10)
    assert told == [True]
    assert cutter.cut == 1
    await completed_once(store, "j1")
    assert await store.get_job("carrier") is not None


async def test_a_write_without_a_probe_carrying_one_that_has_runs_again_alone(
    relayed: tuple[ReplyCutter, PostgresStore],
) -> None:
    cutter, store = relayed
    (attempt,) = await claimed(store, "j1")
    await store.add_job("task", job_id="j2")
    told: list[bool] = []
    store.complete_job_with_next_write(JobCompletion("j1", "w", attempt, None), told.append)
    cutter.lose_next_reply()
    # The completion's probe finds the transaction committed; the removal has no probe
    # (what it deleted leaves nothing to find), so it runs again on its own, and finds
    # nothing to delete.
    assert not await store.remove_job("j2")
    assert told == [True]
    assert cutter.cut == 1
    await completed_once(store, "j1")
    assert await store.get_job("j2") is None


async def test_a_refusal_stays_a_refusal_when_the_reply_was_lost(
    relayed: tuple[ReplyCutter, PostgresStore], store: PostgresStore
) -> None:
    cutter, relayed_store = relayed
    (attempt,) = await claimed(relayed_store, "j1")
    assert await store.cancel_job("j1")  # an operator, meanwhile
    cutter.lose_next_reply()
    assert not await relayed_store.complete_job("j1", worker="w", attempt=attempt)
    assert cutter.cut == 1
    job = await store.get_job("j1")
    assert job is not None
    assert job.status == JobStatus.CANCELLED


async def test_a_completion_by_another_lease_is_not_taken_for_ours(
    relayed: tuple[ReplyCutter, PostgresStore], store: PostgresStore
) -> None:
    cutter, relayed_store = relayed
    (attempt,) = await claimed(relayed_store, "j1")
    assert await store.complete_job("j1")  # an operator completes it, unfenced
    cutter.lose_next_reply()
    assert not await relayed_store.complete_job("j1", worker="w", attempt=attempt)
    assert cutter.cut == 1


async def test_jobs_added_whose_reply_was_lost_are_told_as_added(
    relayed: tuple[ReplyCutter, PostgresStore],
) -> None:
    cutter, store = relayed
    await store.add_job("task", job_id="before")  # the schema is made before the cut
    cutter.lose_next_reply()
    job = await store.add_job("task", job_id="j1")
    assert job.job_id == "j1"
    cutter.lose_next_reply()
    assert await store.add_jobs([NewJob("task", job_id="j2"), NewJob("task", job_id="j3")]) == [
        "j2",
        "j3",
    ]
    assert cutter.cut == 2


async def test_an_event_whose_reply_was_lost_is_in_the_inbox_once(
    relayed: tuple[ReplyCutter, PostgresStore],
) -> None:
    cutter, store = relayed
    await store.add_job("task", job_id="before")
    cutter.lose_next_reply()
    event_id = await store.send_event("m", "go", {"n": 1}, source="test")
    assert cutter.cut == 1
    assert [event.id for event in await store.pending_events("m")] == [event_id]


async def test_a_claim_whose_reply_was_lost_hands_over_the_job_it_took(
    relayed: tuple[ReplyCutter, PostgresStore],
) -> None:
    cutter, store = relayed
    for n in range(4):
        await store.add_job("task", job_id=f"j{n}")
    cutter.lose_next_reply()
    job = await store.claim_job("task", "w")
    assert job is not None
    assert (job.job_id, job.attempts) == ("j0", 1)
    cutter.lose_next_reply()
    batch = await store.claim_jobs("task", "w", limit=2)
    assert [(job.job_id, job.attempts) for job in batch] == [("j1", 1), ("j2", 1)]
    assert cutter.cut == 2
    held = await store.list_jobs(status=JobStatus.PROCESSING, limit=None)
    assert sorted(job.job_id for job in held) == ["j0", "j1", "j2"]  # none taken unseen


async def test_a_failure_whose_reply_was_lost_is_told_as_recorded(
    relayed: tuple[ReplyCutter, PostgresStore],
) -> None:
    cutter, store = relayed
    (attempt,) = await claimed(store, "j1")
    cutter.lose_next_reply()
    failed = await store.fail_job("j1", "broken", worker="w", attempt=attempt)
    assert failed is not None
    assert failed.status == JobStatus.FAILED
    assert cutter.cut == 1
    history = [row["status"] for row in await store.job_history("j1")]
    assert history == ["pending", "processing", "failed"]


async def test_a_transition_whose_reply_was_lost_is_recorded_once(
    relayed: tuple[ReplyCutter, PostgresStore],
) -> None:
    cutter, store = relayed
    await store.add_job("task", job_id="before")
    cutter.lose_next_reply()
    await store.save_transition(
        "m", from_state="a", to_state="b", event="go", context={}, timers=()
    )
    assert cutter.cut == 1
    assert [(row.from_state, row.to_state) for row in await store.transition_history("m")] == [
        ("a", "b")
    ]


async def test_a_write_whose_request_was_lost_runs_again(
    relayed: tuple[ReplyCutter, PostgresStore],
) -> None:
    cutter, store = relayed
    (attempt,) = await claimed(store, "j1")
    cutter.lose_next_request()
    assert await store.complete_job("j1", worker="w", attempt=attempt)
    cutter.lose_next_request()
    event_id = await store.send_event("m", "go", source="test")
    assert cutter.cut == 2
    await completed_once(store, "j1")
    assert [event.id for event in await store.pending_events("m")] == [event_id]


async def operators_changes(store: PostgresStore, job_id: str) -> list[tuple[str, str]]:
    """The job's history rows written by an operator's cancel or retry."""
    rows = await store.job_history(job_id)
    return [
        (row["status"], row["message"])
        for row in rows
        if row["message"] in ("cancel_job", "retry_job")
    ]


async def test_an_operator_s_cancel_whose_reply_was_lost_is_told_as_done(
    relayed: tuple[ReplyCutter, PostgresStore],
) -> None:
    cutter, store = relayed
    await claimed(store, "j1")
    cutter.lose_next_reply()
    assert await store.cancel_job("j1")
    cutter.lose_next_reply()
    assert await store.retry_job("j1")
    assert cutter.cut == 2
    assert await operators_changes(store, "j1") == [
        ("cancelled", "cancel_job"),
        ("pending", "retry_job"),
    ]


async def test_an_operator_s_reset_whose_reply_was_lost_tells_how_many(
    relayed: tuple[ReplyCutter, PostgresStore],
) -> None:
    cutter, store = relayed
    await claimed(store, "j1", "j2")
    cutter.lose_next_reply()
    assert await store.reset_processing() == 2
    assert cutter.cut == 1
    assert (await store.job_counts())["pending"] == 2


async def test_changes_to_every_match_whose_reply_was_lost_tell_how_many(
    relayed: tuple[ReplyCutter, PostgresStore],
) -> None:
    cutter, store = relayed
    for job_id in ("j1", "j2", "j3"):
        await store.add_job("task", job_id=job_id)
    cutter.lose_next_reply()
    assert await store.cancel_matching(JobSearch(job_types=("task",))) == 3
    cutter.lose_next_reply()
    assert await store.retry_matching(JobSearch(job_ids=("j1", "j2"))) == 2
    assert cutter.cut == 2
    assert await operators_changes(store, "j1") == [
        ("cancelled", "cancel_job"),
        ("pending", "retry_job"),
    ]
