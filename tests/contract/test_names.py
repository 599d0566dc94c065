"""A machine name is held in the store: one live process per name, on every backend."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import pytest

from statemachine_engine.database._records import MachineStateRecord, Registration
from statemachine_engine.database.store import Store, WakeAddress
from statemachine_engine.errors import MachineAlreadyRunning
from tests.support.pids import ended_pid, zombie_pid

HERE = socket.gethostname()


async def register(store: Store, name: str = "worker", **overrides: Any) -> Any:
    options: dict[str, Any] = {
        "config_name": "worker",
        "config_path": "/etc/worker.yaml",
        "pid": os.getpid(),
        "host": HERE,
    }
    options.update(overrides)
    return await store.register_machine(name, **options)


async def test_a_live_process_on_this_host_keeps_its_name(store: Store) -> None:
    holder = os.getppid()  # alive, and not this process
    await register(store, pid=holder)
    with pytest.raises(MachineAlreadyRunning) as refused:
        await register(store)
    message = str(refused.value)
    assert f"pid {holder} on {HERE}" in message
    assert "'worker' is already running against" in message
    assert refused.value.pid == holder
    record = await store.load_machine("worker") or (await store.list_machines())[0]
    assert record.pid == holder, "the refused process changed nothing"


async def test_a_gone_process_on_this_host_loses_its_name_at_once(store: Store) -> None:
    await register(store, pid=ended_pid())
    await register(store)
    [record] = await store.list_machines()
    assert record.pid == os.getpid()


async def test_a_zombie_holder_loses_its_name_at_once(store: Store) -> None:
    """A machine killed a moment ago is a zombie until its parent reaps it."""
    with zombie_pid() as pid:
        await register(store, pid=pid)
        await register(store)
    [record] = await store.list_machines()
    assert record.pid == os.getpid()


async def test_another_host_keeps_the_name_until_its_lease_runs_out(store: Store) -> None:
    await register(store, host="elsewhere", pid=1)
    with pytest.raises(MachineAlreadyRunning, match="pid 1 on elsewhere"):
        await register(store)
    # Silent for longer than the lease: the other host's process is presumed dead.
    await register(store, lease_seconds=-1.0)
    [record] = await store.list_machines()
    assert (record.host, record.pid) == (HERE, os.getpid())


async def test_a_name_renewed_by_its_process_heartbeat_is_taken_as_read(store: Store) -> None:
    """The taking compares the heartbeat it judged (the process's, here) with the
    record's as it stands: equal, the name is taken (not read again forever)."""
    await register(store, host="elsewhere", pid=1)
    await store.heartbeat_process(1, "elsewhere")
    with pytest.raises(MachineAlreadyRunning, match="pid 1 on elsewhere"):
        await register(store)
    await register(store, lease_seconds=-1.0)
    [record] = await store.list_machines()
    assert (record.host, record.pid) == (HERE, os.getpid())


async def test_a_live_pid_with_a_stale_heartbeat_loses_the_name(store: Store) -> None:
    """A pid alive on this host whose heartbeat stopped is not a machine any more (the
    pid was reused, or the process hangs)."""
    await register(store, pid=os.getppid())
    await register(store, lease_seconds=-1.0)
    [record] = await store.list_machines()
    assert record.pid == os.getpid()


async def test_a_stopped_or_finished_machine_frees_its_name(store: Store) -> None:
    for status in ("stopped", "finished"):
        await register(store, pid=os.getppid())
        await store.finish_machine("worker", status)
        await register(store)
        await store.finish_machine("worker", status)


async def test_the_same_process_may_register_a_name_again(store: Store) -> None:
    """A process whose machine ended without finishing (an internal error) runs it again."""
    await register(store)
    await register(store)


async def test_names_are_independent(store: Store) -> None:
    await register(store, "a", pid=os.getppid())
    await register(store, "b")
    assert sorted(r.machine_name for r in await store.list_machines()) == ["a", "b"]


async def test_the_wake_address_is_recorded_while_running(store: Store) -> None:
    assert await store.wake_address("worker") is None
    await register(store, wake_address="/run/x/control-worker.sock")
    assert await store.wake_address("worker") == WakeAddress("/run/x/control-worker.sock", HERE)
    await store.finish_machine("worker", "stopped")
    assert await store.wake_address("worker") is None, "a stopped machine is not woken"
    await register(store)
    assert await store.wake_address("worker") is None, "a new run records its own address"


async def test_inbox_heads_name_each_inbox_that_received_events(store: Store) -> None:
    assert await store.last_event_id() == 0
    assert await store.inbox_heads(0) == []
    a1 = await store.send_event("a", "go")
    b1 = await store.send_event("b", "go")
    a2 = await store.send_event("a", "go")
    assert await store.last_event_id() == a2
    assert sorted(await store.inbox_heads(0)) == [("a", a2), ("b", b1)]
    assert await store.inbox_heads(b1) == [("a", a2)]
    assert await store.inbox_heads(a2) == []
    await store.mark_events([a1, a2], "processed")
    assert sorted(await store.inbox_heads(0)) == [("a", a2), ("b", b1)], (
        "heads count events received, consumed or not"
    )


async def test_pending_heads_name_each_inbox_holding_unconsumed_events(store: Store) -> None:
    assert await store.pending_heads() == []
    a1 = await store.send_event("a", "go")
    b1 = await store.send_event("b", "go")
    a2 = await store.send_event("a", "go")
    assert sorted(await store.pending_heads()) == [("a", a2), ("b", b1)]
    await store.mark_events([a2], "processed")
    assert sorted(await store.pending_heads()) == [("a", a1), ("b", b1)]
    await store.mark_events([a1, b1], "dropped")
    assert await store.pending_heads() == []


def registration(name: str) -> Registration:
    return Registration(name, "worker", "/etc/worker.yaml", "abc123", None)


async def test_names_registered_together_are_judged_as_one_by_one(store: Store) -> None:
    """A host's machines register in one transaction (one by one where the store cannot):
    a name a live process holds is refused with the error a lone registration gets, a
    gone holder's name is taken with its record to resume, a new name is taken."""
    holder = os.getppid()
    await register(store, "held", pid=holder)
    await register(store, "orphaned", pid=ended_pid())
    await store.save_transition(
        "orphaned", from_state=None, to_state="idle", event="start", context={}, timers=[]
    )
    names = ["held", "orphaned", "new"]
    recorded = await store.load_machines(names)
    assert sorted(recorded) == ["held", "orphaned"]
    held, orphaned, new = await store.register_machines(
        [registration(name) for name in names], recorded, pid=os.getpid(), host=HERE
    )
    assert isinstance(held, MachineAlreadyRunning)
    assert f"pid {holder} on {HERE}" in str(held)
    assert "'held' is already running against" in str(held)
    assert isinstance(orphaned, MachineStateRecord)
    assert orphaned.current_state == "idle"
    assert new is None
    after = await store.load_machines(names)
    assert after["held"].pid == holder, "the refused name changed nothing"
    assert (after["orphaned"].pid, after["new"].pid) == (os.getpid(), os.getpid())
    assert after["new"].config_hash == "abc123"


async def test_a_name_taken_between_the_read_and_the_write_is_judged_again(
    store: Store,
) -> None:
    recorded = await store.load_machines(["raced"])
    holder = os.getppid()
    await register(store, "raced", pid=holder)  # after the read: the write finds it moved
    [result] = await store.register_machines(
        [registration("raced")], recorded, pid=os.getpid(), host=HERE
    )
    assert isinstance(result, MachineAlreadyRunning)
    assert f"pid {holder}" in str(result)


async def test_waiting_inboxes_name_those_holding_unconsumed_events(store: Store) -> None:
    await store.send_event("pending", "go")
    await store.send_event("delayed", "go", due_at=time.time() + 365 * 24 * 3600.0)
    handled = await store.send_event("handled", "go")
    await store.mark_events([handled], "processed")
    names = ["pending", "delayed", "handled", "never"]
    assert await store.waiting_inboxes(names) == {"pending", "delayed"}
    assert await store.waiting_inboxes(["never"]) == set()
    assert await store.waiting_inboxes([]) == set()
