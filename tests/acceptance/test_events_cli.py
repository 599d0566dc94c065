"""`statemachine-events`: the live stream of what machines do, and its replay."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import EXAMPLES
from tests.support.files import write
from tests.support.processes import MachineProcess, moved, run_cli, send, socket_dir

StartMachine = Callable[..., MachineProcess]
EVENTS = [sys.executable, "-m", "statemachine_engine.tools.events"]


def start_monitor(statemachine: StartMachine, *args: str) -> MachineProcess:
    monitor = statemachine("--format", "json", *args, argv=EVENTS)
    monitor.expect(r"listening on ")
    return monitor


def json_events(monitor: MachineProcess) -> list[dict[str, object]]:
    return [json.loads(line) for line in monitor.stdout_lines if line.startswith("{")]


def test_a_machine_streams_its_life_to_the_monitor(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    monitor = start_monitor(statemachine, "--duration", "30")
    hello = statemachine(EXAMPLES / "hello" / "hello.yaml")
    assert hello.wait() == 0
    monitor.proc.send_signal(signal.SIGINT)
    assert monitor.wait() in (0, 130)

    events = json_events(monitor)
    kinds = [event["type"] for event in events]
    assert kinds[0] == "machine_registered"
    assert kinds[-1] == "machine_terminated"
    assert {event["machine_name"] for event in events} == {"hello"}
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
    changes = [
        (e["payload"]["from_state"], e["payload"]["event_trigger"], e["payload"]["to_state"])  # type: ignore[index]
        for e in events
        if e["type"] == "state_change"
    ]
    assert changes[0] == (None, "start", "greeting")
    assert changes[-1] == ("counting", "enough", "completed")
    messages = [e["payload"]["message"] for e in events if e["type"] == "activity_log"]  # type: ignore[index]
    assert messages[0] == "Hello from hello!"
    assert messages[-1] == "Done: counted to 3."
    assert events[-1]["payload"]["final_state"] == "completed"  # type: ignore[index]


def test_history_replays_recorded_events_and_filters_by_machine(tmp_path: Path) -> None:
    assert run_cli(EXAMPLES / "hello" / "hello.yaml", cwd=tmp_path).returncode == 0
    result = run_cli(
        "--history", "4", "--duration", "0", "--format", "json", cwd=tmp_path, argv=EVENTS
    )
    assert result.returncode == 0, result.stderr
    replayed = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["type"] for e in replayed] == [
        "state_change",
        "activity_log",
        "action_finished",
        "machine_terminated",
    ]
    assert replayed[2]["payload"]["action"] == "log"
    assert replayed[2]["payload"]["failed"] is False
    other = run_cli(
        "--history", "5", "--machine", "nobody", "--duration", "0", cwd=tmp_path, argv=EVENTS
    )
    assert other.returncode == 0
    assert other.stdout == ""


PONGER = """
initial_state: idle
transitions:
  - {from: idle, to: busy, event: ping}
  - {from: busy, to: idle, event: continue}
  - {from: "*", to: stopped, event: stop}
actions:
  busy:
    - {type: log, message: "pinged"}
"""


def test_killing_the_monitor_never_disturbs_machines(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    monitor = start_monitor(statemachine)
    machine = statemachine(write(tmp_path / "ponger.yaml", PONGER))
    machine.expect(moved("ponger", None, "start", "idle"))
    monitor.kill()
    for _ in range(3):
        send("ponger", "ping")
        machine.expect(moved("ponger", "busy", "continue", "idle"))
    send("ponger", "stop")
    assert machine.wait() == 0
    assert "Traceback" not in machine.stderr


def test_sigterm_stops_the_monitor_cleanly(statemachine: StartMachine) -> None:
    """A requested stop: exit 0, and the socket file is gone (as after Ctrl-C)."""
    monitor = start_monitor(statemachine)
    assert (socket_dir() / "events.sock").exists()
    monitor.proc.send_signal(signal.SIGTERM)
    assert monitor.wait() == 0, monitor.stderr
    assert not (socket_dir() / "events.sock").exists()
    assert "Traceback" not in monitor.stderr


def test_one_listener_at_a_time_and_a_stale_socket_is_reclaimed(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    monitor = start_monitor(statemachine)
    second = run_cli("--duration", "0", cwd=tmp_path, argv=EVENTS)
    assert second.returncode == 1
    assert second.stderr.strip().startswith("statemachine-events: error: another monitor")
    monitor.kill()  # leaves its socket file behind
    assert (socket_dir() / "events.sock").exists()
    third = run_cli("--duration", "0", cwd=tmp_path, argv=EVENTS)
    assert third.returncode == 0, third.stderr


def test_each_store_feeds_its_own_monitor(tmp_path: Path, statemachine: StartMachine) -> None:
    """Two projects on one host: a monitor of one store hears only that store's machines."""
    one, two = str(tmp_path / "one.db"), str(tmp_path / "two.db")
    monitor = start_monitor(statemachine, "--db", one, "--duration", "30")
    assert "for the machines of" in monitor.stderr
    other = statemachine(EXAMPLES / "hello" / "hello.yaml", "--db", two)
    assert other.wait() == 0
    mine = statemachine(EXAMPLES / "hello" / "hello.yaml", "--db", one)
    assert mine.wait() == 0
    monitor.proc.send_signal(signal.SIGINT)
    assert monitor.wait() in (0, 130)
    events = json_events(monitor)
    registered = [e for e in events if e["type"] == "machine_registered"]
    assert len(registered) == 1, "the machine of the other store is not heard"


def test_negative_or_huge_counts_are_usage_errors(tmp_path: Path) -> None:
    for flags, says in (
        (["--duration", "-1"], "--duration: must be 0 or more seconds: -1"),
        (["--history", "-5"], "--history: must be 0 to 100000: -5"),
        (["--history", "9" * 20], "--history: must be 0 to 100000"),
    ):
        result = run_cli(*flags, cwd=tmp_path, argv=EVENTS)
        assert result.returncode == 2, result.stderr
        assert says in result.stderr.splitlines()[-1]
        assert "Traceback" not in result.stderr
