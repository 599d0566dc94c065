"""The charts' back-fill reads (``/api/series``), on every backend: transitions and job
attempt ends since a time, counted per time slot, up to a history id."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from statemachine_engine.database._records import StepRecord
from statemachine_engine.database.store import OperatorStore, Store


def operator(store: Store) -> OperatorStore:
    assert isinstance(store, OperatorStore)
    return store


def slots(rows: list[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], int]:
    return {tuple(int(row[k]) if k == "slot" else row[k] for k in keys): int(row["n"])
            for row in rows}  # fmt: skip


async def test_transitions_are_counted_per_slot_since_a_time_up_to_an_id(store: Store) -> None:
    reads = operator(store)
    steps = [StepRecord(None, "idle", "start", None, 1000.0),
             StepRecord("idle", "busy", "go", None, 1005.0),
             StepRecord("busy", "idle", "done", None, 1009.9),
             StepRecord("idle", "busy", "go", None, 1010.0),
             StepRecord("busy", "idle", "done", None, 1075.5)]  # fmt: skip
    await store.save_steps("w1", None, steps)
    upto = (await reads.metric_heads())["transitions"]
    await store.save_steps("w1", None, [StepRecord("idle", "busy", "go", None, 1076.0)])

    rows = await reads.metric_slots(
        "series_transitions", since=1005.0, slot_seconds=10, upto_id=upto
    )
    # 1000.0 is before `since`; 1076.0 after the id read up to.
    assert slots(rows, "slot") == {(100,): 2, (101,): 1, (107,): 1}
    everything = await reads.metric_slots(
        "series_transitions", since=0, slot_seconds=60, upto_id=upto + 1
    )
    assert slots(everything, "slot") == {(16,): 4, (17,): 2}
    assert (
        await reads.metric_slots(
            "series_transitions", since=2000.0, slot_seconds=10, upto_id=upto + 1
        )
        == []
    )


async def test_job_ends_are_the_attempts_that_completed_failed_or_died(
    store: Store, end_backoff: Callable[[str], None]
) -> None:
    reads = operator(store)
    began = time.time()
    for job_id in ("a", "b", "c", "d"):
        await store.add_job("render", {}, job_id=job_id, max_attempts=2)
    for job_id in ("a", "b", "c"):
        assert await store.claim_job_by_id(job_id, "w1") is not None
    assert await store.complete_job("a", worker="w1") is not None
    assert await store.fail_job("b", "try again", worker="w1") is not None  # failed: retried
    end_backoff("b")
    assert await store.claim_job_by_id("b", "w2") is not None
    assert await store.fail_job("b", "broken", worker="w2") is not None  # dead
    assert await reads.cancel_job("c")  # cancelled: not an end the charts count
    assert await store.fail_job("d", "never ran", retry=False) is not None  # no attempt
    upto = (await reads.metric_heads())["jobs"]
    assert await store.claim_job_by_id("b", "w3") is None

    # One slot as long as the epoch so far: every row in slot 1.
    rows = await reads.metric_slots(
        "series_job_ends", since=began - 1, slot_seconds=1e9, upto_id=upto
    )
    assert slots(rows, "slot", "outcome") == {(1, "completed"): 1, (1, "failed"): 1,
                                              (1, "dead"): 1}  # fmt: skip
    assert (
        await reads.metric_slots(
            "series_job_ends", since=time.time() + 60, slot_seconds=10, upto_id=upto
        )
        == []
    )
    assert await reads.metric_slots("series_job_ends", since=0, slot_seconds=10, upto_id=0) == []


async def test_slotted_reads_refuse_unknown_names_and_empty_slots(store: Store) -> None:
    reads = operator(store)
    with pytest.raises(ValueError, match="no slotted history"):
        await reads.metric_slots("metric_jobs", since=0, slot_seconds=10, upto_id=1)
    with pytest.raises(ValueError, match="more than 0"):
        await reads.metric_slots("series_transitions", since=0, slot_seconds=0, upto_id=1)
