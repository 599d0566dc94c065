"""One trace across machine processes: real ``statemachine`` processes traced with
``OTEL_TRACES_EXPORTER=console`` (one JSON span per line on stdout), the trace carried by
the store from a sender to the machine it sends an event to, and from a controller to the
machine it hands its job over to."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from statemachine_engine.database._sqlite import SqliteStore
from tests.support.files import write
from tests.support.processes import DEADLINE, MachineProcess, run_cli, wait_until

pytest.importorskip("opentelemetry.sdk")

StartMachine = Callable[..., MachineProcess]


@pytest.fixture(autouse=True)
def _traced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "tracing-test")


def spans(machine: MachineProcess) -> list[dict[str, Any]]:
    """The spans a process (and those it started) wrote to its stdout so far."""
    return [json.loads(line) for line in list(machine.stdout_lines) if line.startswith("{")]


def span(found: list[dict[str, Any]], name: str, **attributes: Any) -> dict[str, Any]:
    [one] = [
        s
        for s in found
        if s["name"] == name and all(s["attributes"].get(k) == v for k, v in attributes.items())
    ]
    return one


def add_job(job_id: str) -> None:
    async def add() -> None:
        store = SqliteStore(os.environ["STATEMACHINE_DB"])
        try:
            await store.add_job("task", {}, job_id=job_id)
        finally:
            await store.close()

    asyncio.run(add())


RECEIVER = """
initial_state: idle
transitions:
  - {from: idle, to: greeted, event: hello}
  - {from: greeted, to: done, event: logged}
final: [done]
actions:
  greeted:
    - {type: log, message: "hello from {event_data.payload.from}", success: logged}
"""

SENDER = """
initial_state: waiting
transitions:
  - {from: waiting, to: telling, event: new_job}
  - {from: waiting, to: waiting, event: no_jobs}
  - {from: telling, to: done, event: event_sent}
final: [done]
actions:
  waiting:
    - {type: check_database_queue, job_type: task, wait: 5}
  telling:
    - {type: send_event, target_machine: receiver, event_type: hello, payload: {from: sender}}
"""


def test_an_event_between_two_machine_processes_continues_one_trace(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    receiver = statemachine(write(tmp_path / "receiver.yaml", RECEIVER), "--log-json")
    receiver.expect(r'"to_state": "idle"')
    add_job("j1")
    sender = statemachine(write(tmp_path / "sender.yaml", SENDER))
    assert sender.wait() == 0, sender.stderr
    assert receiver.wait() == 0, receiver.stderr

    job = span(spans(sender), "job task", **{"statemachine.job_id": "j1"})
    send = span(spans(sender), "send_event")
    handled = span(spans(receiver), "event hello")
    trace_id = job["context"]["trace_id"]
    assert send["parent_id"] == job["context"]["span_id"]
    assert handled["context"]["trace_id"] == trace_id
    assert handled["parent_id"] == send["context"]["span_id"]
    assert handled["attributes"]["statemachine.machine"] == "receiver"
    assert handled["resource"]["attributes"]["service.name"] == "tracing-test"
    log = span(spans(receiver), "log")
    assert log["parent_id"] == handled["context"]["span_id"]
    # The receiver's log line carries the trace (JSON logs: trace_id without 0x).
    [line] = [json.loads(text) for text in receiver.stderr_lines if "hello from sender" in text]
    assert "0x" + line["trace_id"] == trace_id


CONTROLLER = """
initial_state: checking
transitions:
  - {{from: checking, to: spawning, event: new_job}}
  - {{from: checking, to: checking, event: no_jobs}}
  - {{from: spawning, to: waiting, event: spawned}}
  - {{from: waiting, to: waiting, event: still_running}}
  - {{from: waiting, to: completed, event: all_jobs_complete}}
  - {{from: waiting, to: failed, event: jobs_timeout}}
final: [completed, failed]
actions:
  checking:
    - {{type: check_database_queue, job_type: task, wait: 5}}
  spawning:
    - {{type: add_to_list, list: tracked_jobs, value: "{{current_job.job_id}}"}}
    - type: start_fsm
      yaml_path: "{child}"
      machine_name: "task_{{current_job.job_id}}"
      context_vars: ["current_job.job_id as job_id"]
      in_process: {in_process}
      success: spawned
  waiting:
    - {{type: wait_for_jobs, wait: 5, timeout: 30, pending: still_running}}
"""

CHILD = """
initial_state: working
transitions:
  - {from: working, to: completed, event: done}
final: [completed]
actions:
  working:
    - {type: log, message: "working on {job_id}"}
    - {type: complete_job, job_id: "{job_id}", success: done}
"""


@pytest.mark.parametrize("in_process", [False, True], ids=["processes", "in-process"])
def test_a_job_handed_over_continues_the_controller_s_trace(
    tmp_path: Path, statemachine: StartMachine, in_process: bool
) -> None:
    child = write(tmp_path / "child.yaml", CHILD)
    controller = write(
        tmp_path / "controller.yaml",
        CONTROLLER.format(child=child, in_process="true" if in_process else "false"),
    )
    add_job("j1")
    machine = statemachine(controller)
    assert machine.wait() == 0, machine.stderr

    def child_span() -> dict[str, Any] | None:
        found = [
            s
            for s in spans(machine)
            if s["name"] == "job task" and s["attributes"]["statemachine.machine"] == "task_j1"
        ]
        return found[0] if found else None

    # A child process writes its spans as it ends, perhaps after the controller.
    wait_until(lambda: child_span() is not None, DEADLINE, "the child's job span")
    held = span(spans(machine), "job task", **{"statemachine.machine": "controller"})
    handed = child_span()
    assert handed is not None
    assert held["attributes"]["statemachine.outcome"] == "handed_over"
    assert handed["attributes"]["statemachine.outcome"] == "completed"
    assert handed["attributes"]["statemachine.attempt"] == 1
    assert handed["context"]["trace_id"] == held["context"]["trace_id"]
    assert handed["parent_id"] == held["context"]["span_id"]
    work = span(spans(machine), "log", **{"statemachine.machine": "task_j1"})
    assert work["parent_id"] == handed["context"]["span_id"]


def test_an_exporter_not_installed_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin_nowhere")
    result = run_cli(write(tmp_path / "receiver.yaml", RECEIVER), cwd=tmp_path)
    assert result.returncode == 1
    assert "error: OTEL_TRACES_EXPORTER names 'zipkin_nowhere', which is not installed" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
