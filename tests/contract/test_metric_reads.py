"""What ``/metrics`` reads from the store, on every backend: gauges as they are, and
history rows in an id range, grouped in the database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from statemachine_engine.database.store import OperatorStore, Store
from statemachine_engine.monitoring._metrics import ACTION_BUCKETS, RUN_BUCKETS, WAIT_BUCKETS


def operator(store: Store) -> OperatorStore:
    assert isinstance(store, OperatorStore)
    return store


def counts(rows: list[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], int]:
    """``n`` summed by ``keys`` (a histogram's buckets added up)."""
    found: dict[tuple[Any, ...], int] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        found[key] = found.get(key, 0) + int(row["n"])
    return found


async def test_job_history_gives_each_claims_wait_and_each_attempts_end(
    store: Store, end_backoff: Callable[[str], None]
) -> None:
    reads = operator(store)
    await store.add_job("render", {}, job_id="a")
    await store.add_job("render", {}, job_id="b", max_attempts=2)
    await store.add_job("upload", {}, job_id="c")
    await store.add_job("upload", {}, job_id="later", delay=3600)  # not due: never claimed
    heads = await reads.metric_heads()

    for job_id in ("a", "b", "c"):
        assert await store.claim_job_by_id(job_id, "w1") is not None
    assert await store.complete_job("a", worker="w1") is not None
    assert await store.fail_job("b", "try again", worker="w1") is not None  # failed, retried
    end_backoff("b")
    assert await store.claim_job_by_id("b", "w2") is not None
    assert await store.fail_job("b", "broken", worker="w2") is not None  # dead
    assert await reads.cancel_job("c")
    upto = (await reads.metric_heads())["jobs"]

    waits = await reads.metric_history(
        "metric_job_waits", after_id=0, upto_id=upto, bounds=WAIT_BUCKETS
    )
    assert counts(waits, "job_type") == {("render",): 3, ("upload",): 1}
    assert all(row["total"] >= 0 for row in waits)
    runs = await reads.metric_history(
        "metric_job_runs", after_id=0, upto_id=upto, bounds=RUN_BUCKETS
    )
    assert counts(runs, "job_type", "outcome") == {
        ("render", "completed"): 1,
        ("render", "failed"): 1,
        ("render", "dead"): 1,
        ("upload", "cancelled"): 1,
    }
    # Read in two ranges, each row is counted once: the adds before `heads`, nothing of it.
    before = await reads.metric_history(
        "metric_job_waits", after_id=0, upto_id=heads["jobs"], bounds=WAIT_BUCKETS
    )
    assert before == []
    again = await reads.metric_history(
        "metric_job_runs", after_id=upto, upto_id=upto + 100, bounds=RUN_BUCKETS
    )
    assert again == []


async def test_a_delayed_jobs_claim_is_counted_once_it_falls_due(store: Store) -> None:
    reads = operator(store)
    await store.add_job("render", {}, job_id="slow", delay=0.2)
    due = time.time() + 0.2
    while await store.claim_job_by_id("slow", "w1") is None:
        assert time.time() < due + 10, "the job never fell due"
        await asyncio.sleep(0.01)  # nothing tells when a job falls due: poll briefly
    upto = (await reads.metric_heads())["jobs"]
    (wait,) = await reads.metric_history(
        "metric_job_waits", after_id=0, upto_id=upto, bounds=WAIT_BUCKETS
    )
    assert wait["n"] == 1
    assert wait["total"] >= 0


async def test_transitions_and_actions_are_grouped_with_their_machines_config(
    store: Store,
) -> None:
    reads = operator(store)
    await store.register_machine(
        "w1", config_name="Worker", config_path="/p/worker.yaml", pid=1, host="elsewhere"
    )
    for source, target, event in ((None, "idle", "start"), ("idle", "busy", "go"),
                                  ("busy", "idle", "done"), ("idle", "busy", "go")):  # fmt: skip
        await store.save_transition(
            "w1", from_state=source, to_state=target, event=event, context={}, timers=[]
        )
    await store.record_realtime("w1", "action_finished", {"action": "bash", "seconds": 0.2,
                                                          "failed": True})  # fmt: skip
    await store.record_realtime("w1", "action_finished", {"action": "bash", "seconds": 0.002,
                                                          "failed": False})  # fmt: skip
    await store.record_realtime("w1", "action_finished", {"action": "bash", "seconds": "slow"})
    await store.record_realtime("w1", "action_finished", {"seconds": 1})
    await store.record_realtime("w1", "state_change", {"to_state": "idle"})
    heads = await reads.metric_heads()

    moves = await reads.metric_history(
        "metric_transitions", after_id=0, upto_id=heads["transitions"]
    )
    assert counts(moves, "config_path", "from_state", "to_state", "event") == {
        ("/p/worker.yaml", None, "idle", "start"): 1,
        ("/p/worker.yaml", "idle", "busy", "go"): 2,
        ("/p/worker.yaml", "busy", "idle", "done"): 1,
    }
    actions = await reads.metric_history(
        "metric_actions", after_id=0, upto_id=heads["realtime"], bounds=ACTION_BUCKETS
    )
    assert counts(actions, "config_path", "action", "failed", "bucket") == {
        ("/p/worker.yaml", "bash", 1, 5): 1,  # 0.2 s: within 0.5
        ("/p/worker.yaml", "bash", 0, 1): 1,  # 0.002 s: within 0.005
    }


async def test_gauges_count_what_is_there_now(store: Store) -> None:
    reads = operator(store)
    await store.add_job("render", {}, job_id="r1")
    await store.add_job("render", {}, job_id="r2")
    assert await store.claim_job_by_id("r2", "w1") is not None
    await store.send_event("inbox", "now")
    await store.send_event("inbox", "later", due_at=time.time() + 3600)
    cancelled = await store.send_event("other", "later", due_at=time.time() + 3600)
    await reads.cancel_event(cancelled)
    await store.register_machine(
        "w1", config_name="Worker", config_path="/p/worker.yaml", pid=1, host="elsewhere"
    )
    gauges = await reads.metric_gauges()
    assert counts(gauges["metric_jobs"], "job_type", "status") == {
        ("render", "pending"): 1,
        ("render", "processing"): 1,
    }
    assert counts(gauges["metric_inbox_pending"], "target_machine") == {("inbox",): 1}
    assert counts(gauges["metric_events_dropped"], "target_machine") == {("other",): 1}
    (machine,) = gauges["metric_machines"]
    assert machine["config_path"] == "/p/worker.yaml"
    assert (machine["status"], machine["stale"], machine["n"]) == ("running", 0, 1)
