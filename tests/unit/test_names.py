"""Who holds a machine name: pure rules over a record, the clock and a pid check."""

from __future__ import annotations

import pytest

from statemachine_engine.database._names import (
    NAME_LEASE_SECONDS,
    live_holder,
    machine_of_worker,
    refuse_if_held,
    worker_id,
)
from statemachine_engine.database.models.machine_state import MachineStateRecord
from statemachine_engine.errors import MachineAlreadyRunning

NOW = 1_000_000.0


def record(**fields: object) -> MachineStateRecord:
    values: dict[str, object] = {
        "machine_name": "w",
        "current_state": "idle",
        "pid": 42,
        "host": "here",
        "status": "running",
        "heartbeat_at": NOW - 5,
    }
    values.update(fields)
    return MachineStateRecord(**values)  # type: ignore[arg-type]


def holder(rec: MachineStateRecord | None, *, alive: bool = True, pid: int = 7) -> object:
    return live_holder(rec, pid=pid, host="here", now=NOW, pid_alive=lambda _: alive)


def test_a_live_fresh_holder_on_this_host_keeps_the_name() -> None:
    assert holder(record()) is not None


@pytest.mark.parametrize(
    ("rec", "alive", "why"),
    [
        (None, True, "no record"),
        (record(status="stopped"), True, "stopped"),
        (record(status="finished"), True, "finished"),
        (record(), False, "its process is gone"),
        (record(heartbeat_at=NOW - NAME_LEASE_SECONDS - 1), True, "silent past the lease"),
        (record(pid=None), True, "no pid recorded"),
    ],
)
def test_the_name_is_free(rec: MachineStateRecord | None, alive: bool, why: str) -> None:
    assert holder(rec, alive=alive) is None, why


def test_this_very_process_may_take_its_name_again() -> None:
    assert holder(record(pid=7), pid=7) is None


def test_another_host_holds_until_its_lease_runs_out() -> None:
    """Its pid means nothing here: only its heartbeat counts."""
    assert holder(record(host="there"), alive=False) is not None
    stale = record(host="there", heartbeat_at=NOW - NAME_LEASE_SECONDS - 1)
    assert holder(stale, alive=True) is None


def test_the_refusal_names_the_holder_and_the_store() -> None:
    with pytest.raises(MachineAlreadyRunning) as refused:
        refuse_if_held(
            record(), pid=7, host="here", now=NOW, location="/srv/p.db", pid_alive=lambda _: True
        )
    assert str(refused.value) == (
        "machine 'w' is already running against /srv/p.db (pid 42 on here, last heartbeat "
        "5s ago); stop it first or choose another --machine-name"
    )
    assert (refused.value.machine_name, refused.value.pid, refused.value.host) == ("w", 42, "here")


@pytest.mark.parametrize(
    ("worker", "machine"),
    [("render@web1", "render"), ("a@b@web1", "a@b"), ("renderer-1", "renderer-1"),
     ("@web1", "@web1"), ("render@", "render")],
)  # fmt: skip
def test_a_worker_id_names_its_machine(worker: str, machine: str) -> None:
    assert machine_of_worker(worker) == machine


def test_a_machine_claims_as_its_name_at_its_host() -> None:
    assert worker_id("render", "web1") == "render@web1"
    assert machine_of_worker(worker_id("render")) == "render"
