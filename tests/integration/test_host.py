"""Many machines in one process: the MachineHost API, ``--instances`` and in-process start_fsm."""

from __future__ import annotations

import asyncio
import gc
import os
import re
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from statemachine_engine.core._host import MachineHost
from statemachine_engine.database import open_store
from statemachine_engine.database._delivery import deliver
from statemachine_engine.messaging._control import MachineAlreadyRunning, hosting_pid
from tests.support.files import write
from tests.support.processes import MachineProcess, control_path, moved, run_cli, send
from tests.support.recorder import Recorder

StartMachine = Callable[..., MachineProcess]

WAITER = """
initial_state: waiting
transitions:
  - {from: waiting, to: completed, event: go}
actions:
  completed:
    - {type: log, message: "{machine_name} got {event_data.payload.n}"}
"""


async def test_a_host_runs_many_instances_of_one_config_each_reached_by_its_name(
    tmp_path: Path,
) -> None:
    config = write(tmp_path / "waiter.yaml", WAITER)
    count = 200
    async with MachineHost() as host:
        recorders = {}
        for n in range(count):
            recorder = Recorder()
            host.spawn(config, machine_name=f"waiter_{n:03d}", observers=[recorder])
            recorders[f"waiter_{n:03d}"] = recorder
        assert not gc.isenabled(), "200 machines starting: the cyclic collector waits"
        await asyncio.gather(*(r.entered("waiting") for r in recorders.values()))
        store = open_store()
        try:
            for name in recorders:
                await deliver(store, name, "go", {"n": name[-3:]})
        finally:
            await store.close()
        results = await host.wait()
    assert results == {name: "completed" for name in recorders}
    assert not host.failures
    assert gc.isenabled(), "every machine started: the collector runs again"
    # One parsed config and one transition table serve every instance.
    assert len(host._configs) == 1
    assert len(host._tables) == 1


async def test_events_from_another_process_reach_a_hosted_machine(tmp_path: Path) -> None:
    config = write(tmp_path / "waiter.yaml", WAITER)
    async with MachineHost() as host:
        recorders = {name: Recorder() for name in ("a_1", "a_2")}
        for name, recorder in recorders.items():
            host.spawn(config, machine_name=name, observers=[recorder])
        await asyncio.gather(*(r.entered("waiting") for r in recorders.values()))
        # Each name's control path leads to the host's one socket (a hard link to it).
        host_socket = control_path("a_2").with_name(f"host-{os.getpid()}.sock")
        assert control_path("a_2").samefile(host_socket)
        result = await asyncio.to_thread(
            run_cli,
            "send-event",
            "--target",
            "a_2",
            "--type",
            "go",
            "--payload",
            '{"n": 2}',
            cwd=tmp_path,
            argv=[*_db_cli()],
        )
        assert result.returncode == 0, result.stderr
        await recorders["a_2"].entered("completed")
        assert recorders["a_1"].states == ["waiting"]
        host.stop()
        await host.wait()
    assert not control_path("a_2").exists()  # links are removed when the machines end


async def test_a_lone_hosted_machine_accepts_datagrams_without_a_target(tmp_path: Path) -> None:
    config = write(tmp_path / "waiter.yaml", WAITER)
    async with MachineHost() as host:
        recorder = Recorder()
        host.spawn(config, machine_name="solo", observers=[recorder])
        await recorder.entered("waiting")
        send("solo", "go", {"n": 1})  # the earlier implementation's wire format
        await recorder.entered("completed")
        await host.wait()


async def test_a_name_runs_once(tmp_path: Path, statemachine: StartMachine) -> None:
    config = write(tmp_path / "waiter.yaml", WAITER)
    async with MachineHost() as host:
        host.spawn(config, machine_name="taken")
        with pytest.raises(MachineAlreadyRunning, match="'taken' is already running"):
            host.spawn(config, machine_name="taken")
        # A machine process refuses a name a host serves...
        result = await asyncio.to_thread(run_cli, config, "--machine-name", "taken", cwd=tmp_path)
        assert result.returncode == 1
        assert "'taken' is already running" in result.stderr
        # ...and a host refuses a name a machine process serves.
        other = statemachine(config, "--machine-name", "elsewhere")
        await asyncio.to_thread(other.expect, moved("elsewhere", None, "start", "waiting"))
        with pytest.raises(MachineAlreadyRunning, match=f"pid {other.pid}"):
            host.spawn(config, machine_name="elsewhere")
        host.stop()
        await host.wait()
        other.stop()


async def test_machines_starting_together_register_together_and_a_taken_name_is_refused(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    """Machines spawned in one go register their names in one transaction; one whose name
    a live process holds is refused as alone (with its pid), the others start, and each
    first state is committed before its observers hear of it."""
    config = write(tmp_path / "waiter.yaml", WAITER)
    other = statemachine(config, "--machine-name", "batch_07", "--no-control-socket")
    await asyncio.to_thread(other.expect, moved("batch_07", None, "start", "waiting"))
    names = [f"batch_{n:02d}" for n in range(80)]
    async with MachineHost() as host:
        assert host._registrations is not None, "SQLite takes many names at once"
        recorders = {}
        for name in names:
            recorders[name] = Recorder()
            host.spawn(config, machine_name=name, observers=[recorders[name]])
        started = [name for name in names if name != "batch_07"]
        await asyncio.gather(*(recorders[name].entered("waiting") for name in started))
        await host.wait("batch_07")
        refused = host.failures["batch_07"]
        assert isinstance(refused, MachineAlreadyRunning)
        assert f"pid {other.pid}" in str(refused)
        assert "'batch_07' is already running against" in str(refused)
        store = open_store()  # another connection: what is committed
        try:
            records = await store.load_machines(names)
        finally:
            await store.close()
        assert {name: records[name].current_state for name in started} == dict.fromkeys(
            started, "waiting"
        )
        assert records["batch_07"].pid == other.pid, "the refused name changed nothing"
        host.stop()
        await host.wait()
    other.stop()


async def test_a_host_without_a_store_runs_machines_in_memory(tmp_path: Path) -> None:
    config = write(tmp_path / "waiter.yaml", WAITER)
    async with MachineHost(durable=False, control=False, event_socket_path=False) as host:
        recorder = Recorder()
        engine = host.spawn(config, machine_name="mem", observers=[recorder])
        await recorder.entered("waiting")
        engine.send_event("go", {"n": 0})
        assert await host.wait() == {"mem": "completed"}
    assert not os.path.exists(os.environ["STATEMACHINE_DB"])  # noqa: ASYNC240 - after the loop work


def test_instances_flag_runs_several_machines_in_one_process(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    config = write(tmp_path / "waiter.yaml", WAITER)
    machines = statemachine(config, "--instances", "3", "--machine-name", "w")
    for n in (1, 2, 3):
        machines.expect(moved(f"w_00{n}", None, "start", "waiting"))
    for n in (1, 2, 3):
        result = run_cli(
            "send-event",
            "--target",
            f"w_00{n}",
            "--type",
            "go",
            "--payload",
            f'{{"n": {n}}}',
            cwd=tmp_path,
            argv=_db_cli(),
        )
        assert result.returncode == 0, result.stderr
    for n in (1, 2, 3):
        machines.expect(re.escape(f"[w_00{n}] w_00{n} got {n}"))
    assert machines.wait() == 0


def test_several_configs_run_in_one_process(tmp_path: Path, statemachine: StartMachine) -> None:
    first = write(tmp_path / "first.yaml", "initial_state: completed\n")
    second = write(tmp_path / "second.yaml", "initial_state: stopped\n")
    machines = statemachine(first, second)
    machines.expect(moved("first", None, "start", "completed"))
    machines.expect(moved("second", None, "start", "stopped"))
    assert machines.wait() == 0


def test_one_name_for_several_configs_is_refused(tmp_path: Path) -> None:
    config = write(tmp_path / "a.yaml", "initial_state: completed\n")
    result = run_cli(config, config, cwd=tmp_path)
    assert result.returncode == 2
    assert "two machines would be named 'a'" in result.stderr
    result = run_cli(config, config, "--machine-name", "x", cwd=tmp_path)
    assert result.returncode == 2
    assert "--machine-name names one machine" in result.stderr


CHILD = """
initial_state: working
transitions:
  - {from: working, to: completed, event: wake_up}
actions:
  working:
    - {type: sleep, duration: 0}
  completed:
    - {type: send_event, target_machine: parent, event_type: child_done, payload: {n: "{n}"}}
"""

PARENT = """
initial_state: spawning
transitions:
  - {from: spawning, to: spawning, event: spawned}
  - {from: spawning, to: waiting, event: list_empty}
  - {from: waiting, to: counting, event: child_done}
  - {from: counting, to: waiting, event: not_yet}
  - {from: counting, to: completed, event: all_done}
actions:
  spawning:
    - {type: pop_from_list, list: todo, store_as: n, success: popped}
    - type: start_fsm
      yaml_path: "{child_config}"
      machine_name: "child_{n}"
      context_vars: [n]
      in_process: true
      success: spawned
  counting:
    - {type: add_to_list, list: done, value: "{event_data.payload.n}"}
    - {type: bash, command: "test {done|length} -ge {expected}", success: all_done, error: not_yet}
"""


def test_start_fsm_in_process_runs_children_beside_their_parent(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    child = write(tmp_path / "child.yaml", CHILD)
    parent = statemachine(
        write(tmp_path / "parent.yaml", PARENT),
        "--initial-context",
        f'{{"todo": [1, 2, 3], "child_config": "{child}", "expected": 3}}',
    )
    for n in (1, 2, 3):
        parent.expect(moved(f"child_{n}", "working", "wake_up", "completed"))
    parent.expect(moved("parent", "counting", "all_done", "completed"))
    assert parent.wait() == 0
    # Every child ran in the parent's process.
    assert parent.count(r"started child_\d in this process") == 3


def _db_cli() -> list[str]:
    from tests.support.processes import console_script

    return console_script("statemachine-db") or [
        __import__("sys").executable,
        "-m",
        "statemachine_engine.database.cli",
    ]


def test_a_control_path_hard_linked_to_a_live_host_socket_names_its_host(
    tmp_path: Path,
) -> None:
    host_socket = tmp_path / "host-4242.sock"
    reader = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    reader.bind(str(host_socket))
    link = tmp_path / "control-m.sock"
    os.link(host_socket, link)
    try:
        assert hosting_pid(link) == 4242
    finally:
        reader.close()
    assert hosting_pid(link) is None, "nobody reads it any more: a stale link"
