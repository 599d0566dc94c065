"""Reports the store answers in one go: the error history (transitions on an error
event and dead jobs, with the machine that last held each)."""

from __future__ import annotations

import time

from statemachine_engine.database.store import OperatorStore


async def _transition(store: OperatorStore, machine: str, to_state: str, event: str) -> None:
    await store.save_transition(
        machine, from_state="a", to_state=to_state, event=event, context={}, timers=[]
    )


async def test_error_history_has_error_transitions_and_dead_jobs(store: OperatorStore) -> None:
    await _transition(store, "worker", "b", "next")
    await _transition(store, "worker", "broken", "job_failed")
    await _transition(store, "controller", "broken", "error")
    await _transition(store, "controller", "b", "errors_seen")  # not an error event
    await _transition(store, "controller", "broken", "validation_error")
    await store.add_job("task", job_id="dead-1", max_attempts=1)
    assert await store.claim_job("task", "worker") is not None
    assert await store.fail_job("dead-1", "model crashed", worker="worker")
    await store.add_job("task", job_id="cancelled-1")
    assert await store.cancel_job("cancelled-1")

    entries = await store.error_history()
    assert [(e.kind, e.machine, e.event or e.error) for e in entries] == [
        ("dead_job", "worker", "model crashed"),
        ("transition", "controller", "validation_error"),
        ("transition", "controller", "error"),
        ("transition", "worker", "job_failed"),
    ]
    assert entries[0].job_id == "dead-1"
    assert (entries[-1].from_state, entries[-1].to_state) == ("a", "broken")
    assert [e.kind for e in await store.error_history("worker")] == ["dead_job", "transition"]
    assert [e.kind for e in await store.error_history("controller", limit=1)] == ["transition"]
    assert await store.error_history("nobody") == []
    later = time.time() + 60
    assert await store.error_history(since=later) == []
