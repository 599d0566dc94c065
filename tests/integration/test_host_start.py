"""A host's machines starting together: one read says which inboxes hold events, and
no event sent before or after a machine's name is taken is missed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from statemachine_engine.core._host import MachineHost
from statemachine_engine.core._registrations import Registrations
from statemachine_engine.database import open_store
from statemachine_engine.database._delivery import deliver
from statemachine_engine.database._records import Registration
from statemachine_engine.database._sqlite import SqliteStore
from tests.support.files import write
from tests.support.recorder import Recorder

WAITER = """
initial_state: waiting
transitions:
  - {from: waiting, to: completed, event: go}
actions:
  waiting:
    - {type: log, message: "{machine_name} waits"}
  completed:
    - {type: log, message: "{machine_name} got {event_data.payload.n}"}
"""


def _registration(name: str) -> Registration:
    return Registration(name, "waiter", None, None, None)


async def test_the_read_after_registering_names_the_inboxes_holding_events(
    store: SqliteStore,
) -> None:
    await store.send_event("has_one", "go")
    await store.send_event("has_a_delayed_one", "go", due_at=time.time() + 3600)
    handled = await store.send_event("had_one", "go")
    await store.mark_events([handled], "processed")
    names = ["empty", "has_one", "has_a_delayed_one", "had_one"]
    together = Registrations(store)
    registered = await asyncio.gather(
        *(together.register(_registration(name), None) for name in names)
    )
    assert {name: empty for name, (_, empty) in zip(names, registered, strict=True)} == {
        "empty": True,
        "has_one": False,
        "has_a_delayed_one": False,
        "had_one": True,
    }
    assert all(previous is None for previous, _ in registered)
    records = await store.load_machines(names)
    assert {name: records[name].status for name in names} == dict.fromkeys(names, "running")


async def test_events_sent_before_and_after_the_start_reach_machines_started_together(
    tmp_path: Path,
) -> None:
    """A machine whose inbox held an event when its name was taken reads it at once; one
    read empty then is woken by the next event sent to it, from this process or another
    connection (which finds its wake address)."""
    config = write(tmp_path / "waiter.yaml", WAITER)
    names = [f"together_{n:03d}" for n in range(300)]  # more than one batch
    other = open_store()
    try:
        await deliver(other, names[5], "go", {"n": "before"})
        await deliver(other, names[280], "go", {"n": "before"})
        async with MachineHost() as host:
            recorders = {}
            for name in names:
                recorders[name] = Recorder()
                host.spawn(config, machine_name=name, observers=[recorders[name]])
            await recorders[names[5]].entered("completed")
            await recorders[names[280]].entered("completed")
            await asyncio.gather(*(r.entered("waiting") for r in recorders.values()))
            await deliver(other, names[0], "go", {"n": "from another connection"})
            await recorders[names[0]].entered("completed")
            host_store = host._store
            assert host_store is not None
            await deliver(host_store, names[299], "go", {"n": "from this process"})
            await recorders[names[299]].entered("completed")
            assert recorders[names[5]].messages[-1] == f"{names[5]} got before"
            assert recorders[names[0]].messages[-1] == f"{names[0]} got from another connection"
            host.stop()
            results = await host.wait()
    finally:
        await other.close()
    done = {names[0], names[5], names[280], names[299]}
    assert {name for name, state in results.items() if state == "completed"} == done
    assert not host.failures
