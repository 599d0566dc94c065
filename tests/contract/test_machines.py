"""Durable machine state: registration, transitions, restarts and history."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from statemachine_engine.database.store import Store, StoreError
from tests.support.pids import ended_pid


async def register(store: Store, name: str = "m1", **overrides: Any) -> Any:
    options: dict[str, Any] = {
        "config_name": "worker",
        "config_path": "/etc/worker.yaml",
        "pid": 1234,
        "host": "host-a",
    }
    options.update(overrides)
    return await store.register_machine(name, **options)


async def transition(
    store: Store,
    to_state: str,
    *,
    name: str = "m1",
    from_state: str | None = None,
    event: str = "go",
    context: dict[str, Any] | None = None,
    timers: list[tuple[str, float]] | None = None,
    consumed_event_id: int | None = None,
    job_id: str | None = None,
) -> None:
    await store.save_transition(
        name,
        from_state=from_state,
        to_state=to_state,
        event=event,
        context=context or {},
        timers=timers or [],
        consumed_event_id=consumed_event_id,
        job_id=job_id,
    )


async def test_first_registration_has_no_previous_record(store: Store) -> None:
    assert await register(store) is None
    assert await store.load_machine("m1") is None, "no state until the first transition"


async def test_register_returns_the_previous_record(store: Store) -> None:
    await register(store, pid=1)
    await transition(store, "waiting", event="start", context={"n": 1})
    await store.finish_machine("m1", "stopped")
    previous = await register(store, pid=2, host="host-b", config_path="/new.yaml")
    assert previous is not None
    assert previous.machine_name == "m1"
    assert previous.current_state == "waiting"
    assert previous.context == {"n": 1}
    assert previous.pid == 1
    assert previous.host == "host-a"
    assert previous.status == "stopped"
    now = await store.load_machine("m1")
    assert now is not None
    assert (now.pid, now.host, now.status) == (2, "host-b", "running")
    assert now.config_path == "/new.yaml"
    assert now.current_state == "waiting", "registering does not reset the state"
    assert now.context == {"n": 1}


async def test_register_records_the_config_hash_and_returns_the_previous_one(
    store: Store,
) -> None:
    await register(store, config_hash="aaaa")
    await transition(store, "waiting", event="start")
    await store.finish_machine("m1", "stopped")
    previous = await register(store, config_hash="bbbb")
    assert previous is not None
    assert previous.config_hash == "aaaa"
    now = await store.load_machine("m1")
    assert now is not None
    assert now.config_hash == "bbbb"
    await register(store)  # a config not read from a file has no hash
    again = await store.load_machine("m1")
    assert again is not None
    assert again.config_hash is None


async def test_save_transition_stores_state_context_and_timers(store: Store) -> None:
    await register(store)
    deadline = time.time() + 30
    context = {"job_id": "j1", "nested": {"list": [1, "é"]}, "none": None}
    await transition(
        store,
        "processing",
        from_state="waiting",
        event="new_job",
        context=context,
        timers=[("timeout(30)", deadline), ("timeout(60)", deadline + 30)],
    )
    record = await store.load_machine("m1")
    assert record is not None
    assert record.current_state == "processing"
    assert record.context == context
    assert record.timers == [("timeout(30)", deadline), ("timeout(60)", deadline + 30)]
    assert record.actions_done is False
    assert record.config_name == "worker"
    assert record.config_path == "/etc/worker.yaml"
    assert record.status == "running"


async def test_context_values_json_cannot_hold_are_kept_as_text(store: Store) -> None:
    await register(store)
    await transition(store, "s", context={"when": object(), "ok": 1})
    record = await store.load_machine("m1")
    assert record is not None
    assert record.context["ok"] == 1
    assert isinstance(record.context["when"], str)


async def test_save_transition_consumes_the_event_in_the_same_commit(
    store: Store, store_factory: Callable[[], Store]
) -> None:
    await register(store)
    consumed = await store.send_event("m1", "go")
    waiting = await store.send_event("m1", "later")
    await transition(store, "next", consumed_event_id=consumed, job_id="j9")
    other = store_factory()  # what another process sees once the call returned
    assert [e.id for e in await other.pending_events("m1")] == [waiting]
    [event] = await other.list_events(target="m1", status="processed")
    assert event.id == consumed
    assert event.processed_at is not None
    record = await other.load_machine("m1")
    assert record is not None
    assert record.current_state == "next"
    [row] = await other.transition_history("m1")
    assert (row.to_state, row.event, row.job_id) == ("next", "go", "j9")


async def test_a_failed_transition_leaves_nothing_behind(store: Store) -> None:
    """State, history and the consumed event are one transaction: all or nothing."""
    await register(store)
    await transition(store, "first", context={"n": 1})
    event_id = await store.send_event("m1", "go")
    with pytest.raises(StoreError):
        await store.save_transition(
            "m1",
            from_state="first",
            to_state="second",
            event=None,  # type: ignore[arg-type]  # the history row cannot be written
            context={"n": 2},
            timers=[],
            consumed_event_id=event_id,
        )
    record = await store.load_machine("m1")
    assert record is not None
    assert (record.current_state, record.context) == ("first", {"n": 1})
    assert [e.id for e in await store.pending_events("m1")] == [event_id]
    assert [row.to_state for row in await store.transition_history("m1")] == ["first"]
    await transition(store, "second", consumed_event_id=event_id)  # still usable
    assert await store.pending_events("m1") == []


async def test_save_transition_of_an_unregistered_machine_is_kept(store: Store) -> None:
    await transition(store, "orphan", name="never-registered", context={"a": 1})
    record = await store.load_machine("never-registered")
    assert record is not None
    assert (record.current_state, record.context) == ("orphan", {"a": 1})


async def test_mark_actions_done(store: Store) -> None:
    await register(store)
    await transition(store, "processing", context={"step": 1})
    await store.mark_actions_done("m1", {"step": 2, "result": "ok"})
    record = await store.load_machine("m1")
    assert record is not None
    assert record.actions_done is True
    assert record.context == {"step": 2, "result": "ok"}
    assert record.current_state == "processing"
    await transition(store, "done", context={"step": 3})
    after = await store.load_machine("m1")
    assert after is not None
    assert after.actions_done is False, "a new state's actions have not run yet"


async def test_heartbeat(store: Store) -> None:
    await register(store)
    await transition(store, "s")
    first = await store.load_machine("m1")
    assert first is not None
    mark = time.time()
    await store.heartbeat("m1")
    second = await store.load_machine("m1")
    assert second is not None
    assert first.heartbeat_at <= mark <= second.heartbeat_at
    assert second.current_state == "s"
    await store.heartbeat("unknown-machine")  # a no-op, not an error
    assert await store.load_machine("unknown-machine") is None


async def test_heartbeat_process_touches_every_running_machine_of_that_process(
    store: Store,
) -> None:
    for name in ("h1", "h2", "h3"):
        await register(store, name)
    await register(store, "other-pid", pid=99)
    await register(store, "other-host", host="host-b")
    await store.finish_machine("h3", "finished")
    before = {r.machine_name: r.heartbeat_at for r in await store.list_machines()}
    mark = time.time()
    await store.heartbeat_process(1234, "host-a")
    after = {r.machine_name: r.heartbeat_at for r in await store.list_machines()}
    assert after["h1"] >= mark
    assert after["h2"] >= mark
    for name in ("h3", "other-pid", "other-host"):
        assert after[name] == before[name]


async def test_a_process_heartbeat_is_one_row_and_ends_with_the_process(store: Store) -> None:
    await register(store, "h1")
    registered = (await store.list_machines())[0].heartbeat_at
    await store.heartbeat_process(1234, "host-a")
    await store.heartbeat_process(1234, "host-a")  # again: the same row, renewed
    [beaten] = await store.list_machines()
    assert beaten.heartbeat_at >= registered
    await store.forget_process_heartbeat(1234, "host-a")
    [forgotten] = await store.list_machines()
    assert forgotten.heartbeat_at == registered, "its own heartbeat is what is left"


@pytest.mark.parametrize("status", ["finished", "stopped"])
async def test_finish_machine(store: Store, status: str) -> None:
    await register(store)
    await transition(store, "completed")
    await store.finish_machine("m1", status)
    record = await store.load_machine("m1")
    assert record is not None
    assert record.status == status
    assert record.current_state == "completed"


async def test_finish_machine_with_an_unknown_status_is_an_error(store: Store) -> None:
    await register(store)
    await transition(store, "s")
    with pytest.raises(StoreError):
        await store.finish_machine("m1", "exploded")
    record = await store.load_machine("m1")
    assert record is not None
    assert record.status == "running"


async def test_forget_machine(store: Store) -> None:
    await register(store)
    await transition(store, "s")
    await register(store, name="m2")
    await transition(store, "t", name="m2")
    assert await store.forget_machine("m1")
    assert await store.load_machine("m1") is None
    assert [m.machine_name for m in await store.list_machines()] == ["m2"]
    assert not await store.forget_machine("m1")
    assert await register(store) is None, "a forgotten machine starts over"


async def test_list_machines_sorted_by_name(store: Store) -> None:
    for name in ("zeta", "alpha", "mid"):
        await register(store, name=name)
        await transition(store, f"in-{name}", name=name, context={"name": name})
    machines = await store.list_machines()
    assert [m.machine_name for m in machines] == ["alpha", "mid", "zeta"]
    assert [m.current_state for m in machines] == ["in-alpha", "in-mid", "in-zeta"]
    assert machines[0].context == {"name": "alpha"}


async def test_transition_history(store: Store) -> None:
    await register(store)
    await register(store, name="m2")
    await transition(store, "a", from_state=None, event="start")
    await transition(store, "b", from_state="a", event="next", job_id="j1")
    mark = time.time()
    await transition(store, "x", name="m2", event="start")
    await transition(store, "c", from_state="b", event="finish")
    history = await store.transition_history("m1")
    assert [(r.from_state, r.to_state, r.event) for r in history] == [
        ("b", "c", "finish"),
        ("a", "b", "next"),
        (None, "a", "start"),
    ]
    assert history[1].job_id == "j1"
    assert all(r.machine_name == "m1" for r in history)
    assert [r.at for r in history] == sorted((r.at for r in history), reverse=True)
    assert [r.to_state for r in await store.transition_history()] == ["c", "x", "b", "a"]
    assert [r.to_state for r in await store.transition_history(limit=2)] == ["c", "x"]
    assert [r.to_state for r in await store.transition_history(since=mark)] == ["c", "x"]
    assert [r.to_state for r in await store.transition_history("m1", since=mark)] == ["c"]
    assert await store.transition_history("nobody") == []


async def test_transition_history_default_limit_is_20(store: Store) -> None:
    await register(store)
    for n in range(25):
        await transition(store, f"s{n}")
    history = await store.transition_history("m1")
    assert len(history) == 20
    assert history[0].to_state == "s24"


async def test_restart_resumes_from_another_handle(
    store: Store, store_factory: Callable[[], Store]
) -> None:
    await register(store, pid=ended_pid())  # a process that crashed
    await transition(store, "processing", context={"job_id": "j1"}, timers=[("timeout(5)", 9.5)])
    await store.close()
    restarted = store_factory()
    previous = await register(restarted, pid=2)
    assert previous is not None
    assert previous.current_state == "processing"
    assert previous.context == {"job_id": "j1"}
    assert previous.timers == [("timeout(5)", 9.5)]
    assert previous.actions_done is False


async def test_cleanup_history_deletes_old_transitions_a_batch_at_a_time(store: Store) -> None:
    for n in range(5):
        await store.save_transition(
            "m1", from_state=None, to_state=f"s{n}", event="go", context={}, timers=[]
        )
    assert await store.cleanup_history(3600) == 0  # none an hour old
    assert len(await store.transition_history("m1")) == 5
    told: list[int] = []
    assert await store.cleanup_history(1e-6, batch=2, progress=told.append) == 5
    assert told == [2, 4]  # after each full batch: 2, 2, then 1 and done
    assert await store.transition_history("m1") == []
