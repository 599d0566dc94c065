"""``start_fsm``: a machine starts others as processes of their own."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from statemachine_engine.actions.builtin.start_fsm_action import initial_context
from tests.support.files import write
from tests.support.processes import MachineProcess, moved

StartMachine = Callable[..., MachineProcess]

CHILD = """
initial_state: working
transitions:
  - {from: working, to: completed, event: done}
actions:
  working:
    - {type: log, message: "child {machine_name}: {job.name} / {renamed} / {job_id}"}
    - {type: send_event, target_machine: parent, event_type: child_done, success: done}
"""

PARENT = """
initial_state: spawning
transitions:
  - {from: spawning, to: waiting, event: success}
  - {from: waiting, to: completed, event: child_done}
actions:
  spawning:
    - type: start_fsm
      yaml_path: "{child_config}"
      machine_name: "child_{job.id}"
      context_vars: [job, "job.name as renamed", "job.id as job_id"]
      store_pid: true
  completed:
    - {type: log, message: "children: {spawned_pids|length}"}
"""


def test_a_child_machine_starts_with_its_context_and_reports_back(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    child = write(tmp_path / "child.yaml", CHILD)
    parent = statemachine(
        write(tmp_path / "parent.yaml", PARENT),
        "--initial-context",
        f'{{"job": {{"id": 7, "name": "seven"}}, "child_config": "{child}"}}',
    )
    # The child writes to the parent's stderr.
    parent.expect(re.escape("[child_7] child child_7: seven / seven / 7"))
    parent.expect(moved("parent", "waiting", "child_done", "completed"))
    parent.expect(re.escape("[parent] children: 1"))
    assert parent.wait() == 0


def test_context_vars_paths_and_aliases() -> None:
    context = {"job": {"id": 3, "tags": ["a"]}, "name": "n"}
    assert initial_context(["name", "job.id", "job.tags as labels", "missing"], context) == {
        "name": "n",
        "id": 3,
        "labels": ["a"],
    }
    assert initial_context("name", context) == {"name": "n"}
    assert initial_context(None, context) == {}
