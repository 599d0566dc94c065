"""No silent dead ends: every way a machine could sit stuck ends loudly (issue 12, point 4).

Each test runs ``statemachine`` and ``statemachine-db`` as real processes against the
test's own SQLite file (``STATEMACHINE_DB``, set per test by ``tests/conftest.py``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.support.files import create_store, write
from tests.support.processes import MODULE, MachineProcess, moved, run_cli, send

DB_CLI = [sys.executable, "-m", "statemachine_engine.database.cli"]
StartMachine = Callable[..., MachineProcess]


def errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The ``statemachine: error:`` lines (a traceback would fail the test)."""
    assert "Traceback" not in result.stderr + result.stdout
    return [line for line in result.stderr.splitlines() if ": error: " in line]


def db(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd, argv=DB_CLI)


# -- refused at load -----------------------------------------------------------------------

TYPO = """\
name: typo
initial_state: a
events: [go]
transitions:
  - {from: a, to: compelted, event: go}
actions:
  a:
    - {type: log, message: "starting", success: go}
"""


def test_a_typo_in_a_target_state_refuses_the_start_naming_file_line_and_fix(
    tmp_path: Path,
) -> None:
    config = write(tmp_path / "typo.yaml", TYPO)
    result = run_cli(config, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    [line] = errors(result)
    assert line.startswith(f"statemachine: error: {config}:5: SM101 error state 'compelted'")
    assert "has no way out" in line
    assert "add a transition from it, or list it under final:" in line
    assert "--start-->" not in result.stderr  # it never started


def test_every_error_that_leaves_a_state_stuck_gets_its_own_line(tmp_path: Path) -> None:
    text = TYPO.replace("  - {from: a, to: compelted, event: go}\n", "").replace(
        "transitions:\n",
        "transitions:\n  - {from: a, to: compelted, event: go}\n"
        "  - {from: a, to: stuk, event: go2}\n",
    )
    text = text.replace("events: [go]", "events: [go, go2]")
    config = write(tmp_path / "typos.yaml", text)
    result = run_cli(config, cwd=tmp_path)
    assert result.returncode == 1
    lines = errors(result)
    assert [re.findall(r":(\d+): (SM\d+)", line) for line in lines] == [
        [("5", "SM101")],
        [("6", "SM101")],
    ]
    assert "'compelted'" in lines[0]
    assert "'stuk'" in lines[1]


WORKER = """\
name: worker
initial_state: waiting
events: [stop]
transitions:
  - {from: waiting, to: working, event: new_job}
  - {from: waiting, to: waiting, event: no_jobs}
  - {from: working, to: waiting, event: job_done}
  - {from: "*", to: stopped, event: stop}
actions:
  waiting:
    - {type: check_database_queue, wait: 5}
  working:
    - {type: bash, command: "true"}
"""


def test_a_worker_whose_no_jobs_loop_is_missing_is_refused(tmp_path: Path) -> None:
    broken = WORKER.replace("  - {from: waiting, to: waiting, event: no_jobs}\n", "")
    config = write(tmp_path / "worker.yaml", broken)
    result = run_cli(config, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    [line] = errors(result)
    assert line.startswith(f"statemachine: error: {config}:10: SM106 error check_database_queue")
    assert "'no_jobs'" in line
    assert "waiting --no_jobs--> waiting" in line


def test_lint_warnings_are_printed_one_line_each_and_the_machine_runs(tmp_path: Path) -> None:
    text = """\
name: warned
initial_state: a
transitions:
  - {from: a, to: completed, event: go}
  - {from: a, to: completed, event: ping}
actions:
  a:
    - {type: log, message: "hello", success: go}
"""
    config = write(tmp_path / "warned.yaml", text)
    result = run_cli(config, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if " WARNING " in line]
    assert len(warnings) == 1, result.stderr
    assert f"{config}:5: SM202 warning event 'ping'" in warnings[0]
    assert "a --go--> completed" in result.stderr


# -- resuming where the config changed ------------------------------------------------------

GHOST = """\
name: ghost
initial_state: a
events: [go, back, stop]
transitions:
  - {from: a, to: b, event: go}
  - {from: b, to: a, event: back}
  - {from: "*", to: stopped, event: stop}
"""


def park_in_b(config: Path, statemachine: StartMachine) -> None:
    """Run ``ghost`` into state ``b`` and stop it there (SIGTERM: exit 0)."""
    machine = statemachine(config)
    machine.expect(moved("ghost", None, "start", "a"))
    send("ghost", "go")
    machine.expect(moved("ghost", "a", "go", "b"))
    assert machine.stop() == 0


def test_resuming_in_a_state_the_config_lost_is_refused_then_set_state_moves_it(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    config = write(tmp_path / "ghost.yaml", GHOST)
    machine = statemachine(config)
    machine.expect(moved("ghost", None, "start", "a"))
    send("ghost", "go")
    machine.expect(moved("ghost", "a", "go", "b"))
    running = db("set-state", "ghost", "a", cwd=tmp_path)
    assert running.returncode == 1
    [line] = errors(running)
    assert line.startswith(f"statemachine-db: error: machine 'ghost' is running (pid {machine.pid}")
    assert line.endswith("stop it first, then set its state")
    assert machine.stop() == 0

    write(config, GHOST.replace("to: b,", "to: c,").replace("from: b,", "from: c,"))
    refused = run_cli(config, cwd=tmp_path)
    assert refused.returncode == 1
    [line] = errors(refused)
    assert line.startswith("statemachine: error: machine 'ghost' was in state 'b', which ")
    assert "--fresh" in line
    assert "'statemachine-db set-state ghost STATE'" in line
    assert "(states: a, c, stopped)" in line

    unknown = db("set-state", "ghost", "b", cwd=tmp_path)
    assert unknown.returncode == 1
    assert errors(unknown) == [
        f"statemachine-db: error: {config} has no state 'b'; its states: a, c, stopped"
    ]
    moved_ = db("set-state", "ghost", "c", cwd=tmp_path)
    assert moved_.returncode == 0, moved_.stderr
    assert moved_.stdout.strip() == (
        "machine 'ghost' moved from 'b' to 'c'; it resumes there when it next starts"
    )

    resumed = statemachine(config)
    # The refused start left the record alone: this is the first run under the new config.
    resumed.expect(r"\[ghost\] resumes in 'c' under a changed config")
    resumed.expect(r"\[ghost\] resumed in 'c'")
    send("ghost", "back")
    resumed.expect(moved("ghost", "c", "back", "a"))
    assert resumed.stop() == 0
    history = db("transition-history", "--machine", "ghost", "--format", "json", cwd=tmp_path)
    events = [row["event"] for row in json.loads(history.stdout)]
    assert events[:3] == ["back", "set-state", "go"]


def test_a_machine_resumed_under_a_changed_config_warns(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    config = write(tmp_path / "ghost.yaml", GHOST)
    park_in_b(config, statemachine)

    same = statemachine(config)
    same.expect(r"\[ghost\] resumed in 'b'")
    assert same.stop() == 0
    assert "changed config" not in same.stderr

    write(config, GHOST + "# edited\n")
    changed = statemachine(config)
    line = changed.expect(r"\[ghost\] resumes in 'b' under a changed config")
    assert " WARNING " in line
    assert str(config) in line
    changed.expect(r"\[ghost\] resumed in 'b'")
    assert changed.stop() == 0


# -- failures nobody handled ------------------------------------------------------------------

FAILS_AT_THE_END = """\
name: cleanup
initial_state: work
transitions:
  - {from: work, to: completed, event: job_done}
actions:
  work:
    - {type: bash, command: "true"}
  completed:
    - {type: bash, command: "echo disk full >&2; exit 3"}
"""


def test_ending_right_after_an_unhandled_error_exits_1_with_the_reason(tmp_path: Path) -> None:
    config = write(tmp_path / "cleanup.yaml", FAILS_AT_THE_END)
    result = run_cli(config, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    warnings = [line for line in result.stderr.splitlines() if " WARNING " in line]
    assert "[cleanup] bash command failed: command exited with status 3: disk full" in (warnings[0])
    assert (
        "[cleanup] bash action in 'completed' failed (command exited with status 3: disk "
        "full) and no transition from 'completed' takes its error event 'error'"
    ) in warnings[1]
    assert errors(result)[-1] == (
        "statemachine: error: ended in 'completed' right after an action failed (command "
        "exited with status 3: disk full) and no transition took its error event 'error'"
    )


def test_an_unhandled_error_the_config_moves_on_from_still_ends_with_0(tmp_path: Path) -> None:
    text = """\
name: moves_on
initial_state: work
transitions:
  - {from: work, to: completed, event: done}
actions:
  work:
    - {type: bash, command: "exit 2"}
    - {type: log, message: "carrying on", success: done}
"""
    config = write(tmp_path / "moves_on.yaml", text)
    result = run_cli(config, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "failed (command exited with status 2) and no transition from 'work'" in result.stderr
    assert "work --done--> completed" in result.stderr


def test_a_job_going_dead_is_a_warning(tmp_path: Path) -> None:
    added = db("add-job", "--type", "t", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    job_id = added.stdout.split()[0]
    text = """\
name: failing
initial_state: waiting
transitions:
  - {from: waiting, to: working, event: new_job}
  - {from: waiting, to: waiting, event: no_jobs}
  - {from: working, to: completed, event: job_failed}
actions:
  waiting:
    - {type: check_database_queue, wait: 5}
  working:
    - {type: fail_job, retry: false, reason: "no disk"}
"""
    config = write(tmp_path / "failing.yaml", text)
    result = run_cli(config, cwd=tmp_path, argv=MODULE)
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stderr.splitlines() if "is dead" in line]
    assert " WARNING " in line
    assert f"job {job_id} is dead (out of attempts after 1): no disk" in line


# -- configs written for the earlier implementation still start ------------------------------


@pytest.mark.parametrize(
    ("name", "machine"),
    [
        ("simple_worker.yaml", "simple_worker"),
        ("timeout_worker.yaml", "timeout_worker"),
        ("custom_actions_worker.yaml", "custom_worker"),
    ],
)
def test_every_compat_config_passes_the_start_up_lint(
    statemachine: StartMachine,
    compat_config: Callable[[str], Path],
    name: str,
    machine: str,
) -> None:
    actions = EXAMPLES / "custom_actions" / "actions"
    process = statemachine(compat_config(name), "--actions-dir", actions)
    process.expect(rf"\[{machine}\] --start--> ")
    assert process.stop() == 0
    assert ": error: " not in process.stderr


def test_set_state_of_a_machine_the_store_never_saw_is_an_error(tmp_path: Path) -> None:
    create_store()
    result = db("set-state", "nobody", "a", cwd=tmp_path)
    assert result.returncode == 1
    assert errors(result) == [
        "statemachine-db: error: no machine named 'nobody' has run against this store "
        "(statemachine-db machine-state lists them)"
    ]


def test_set_state_without_a_store_creates_none(tmp_path: Path) -> None:
    result = db(
        "set-state", "nobody", "a", "--db", str(tmp_path / "data" / "none.db"), cwd=tmp_path
    )
    assert result.returncode == 1
    assert "no store at" in result.stderr
    assert not (tmp_path / "data").exists()


def test_set_state_waits_out_the_name_lease_of_a_machine_on_another_host(
    tmp_path: Path,
) -> None:
    """Silent for longer than 'stale' but not for as long as it holds its name: it may be
    alive (a long lock wait), so its state is not moved under it."""
    import os
    import sqlite3
    import time

    create_store()
    with sqlite3.connect(os.environ["STATEMACHINE_DB"]) as conn:
        for name, silent in (("recent", 30.0), ("gone", 90.0)):
            conn.execute(
                "INSERT INTO machine_state (machine_name, config_name, current_state, pid, "
                "host, status, started_at, heartbeat_at, updated_at) "
                "VALUES (?, 'w', 'a', 1, 'elsewhere', 'running', ?, ?, ?)",
                (name, time.time() - 100, time.time() - silent, time.time() - 100),
            )
    refused = db("set-state", "recent", "b", cwd=tmp_path)
    assert refused.returncode == 1
    [line] = errors(refused)
    assert "machine 'recent' may still be running (pid 1 on elsewhere" in line
    moved_on = db("set-state", "gone", "b", cwd=tmp_path)
    assert moved_on.returncode == 0, moved_on.stderr
