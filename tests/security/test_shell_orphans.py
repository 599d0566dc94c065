"""No orphans, no wasted attempts (issue 13, point 5).

An action's process tree dies with its machine however the machine dies: the shell
gets SIGKILL with it (``PR_SET_PDEATHSIG``), what the shell forked is killed by the
action's watch process at once, and, should the watch be gone too, by the next run
under the same name before anything runs again. A graceful SIGTERM mid-job gives the
job back at once, its attempt not used up. Real machine
processes, real bash; process exits are learned from pidfds, never by sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from statemachine_engine.actions._process_groups import (
    ACTION_GROUP_KEY,
    dying_with_parent,
    end_left_group,
    group_record,
)
from tests.support.fifo import Fifo
from tests.support.files import sql, write
from tests.support.pids import Reaper
from tests.support.processes import MachineProcess, moved, run_cli

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG, pidfds and /proc"
)

StartMachine = Callable[..., MachineProcess]

SLEEPER = """
name: sleeper
initial_state: working
transitions:
  - {{from: working, to: completed, event: job_done}}
  - {{from: "*", to: stopped, event: stop}}
actions:
  working:
    - type: bash
      command: {command}
"""


@pytest.fixture
def survivors(reaper: Reaper) -> Iterator[Reaper]:
    """Processes a failing test might leave running: killed at the end, and reported."""
    yield reaper
    left = reaper.finish()
    assert not left, f"processes outlived their machine: {left}"


def _start(statemachine: StartMachine, tmp_path: Path, command: str, fifo: Fifo) -> MachineProcess:
    config = write(tmp_path / "sleeper.yaml", SLEEPER.format(command=json.dumps(command)))
    return statemachine(
        config, "--machine-name", "sleeper", "--initial-context", json.dumps({"fifo": str(fifo)})
    )


def test_the_action_dies_with_a_killed_machine(
    tmp_path: Path, statemachine: StartMachine, fifo: Fifo, survivors: Reaper
) -> None:
    machine = _start(statemachine, tmp_path, "echo $$ > {fifo}; exec sleep 1000", fifo)
    [sleep] = survivors.watch(int(fifo.readline()))
    machine.kill()  # SIGKILL: the machine cannot clean anything up
    assert sleep.exited(), "the action's process outlived its SIGKILLed machine"


def _group_watch(pgid: int) -> int:
    """The pid of the watch process over action group ``pgid``."""
    marker = f"statemachine-group-watch\0{pgid}\0".encode()
    found = []
    for entry in os.listdir("/proc"):
        with contextlib.suppress(OSError):
            if entry.isdigit() and marker in Path(f"/proc/{entry}/cmdline").read_bytes():
                found.append(int(entry))
    assert len(found) == 1, f"watches over group {pgid}: {found}"
    return found[0]


def test_what_the_shell_forked_dies_with_a_killed_machine(
    tmp_path: Path, statemachine: StartMachine, fifo: Fifo, survivors: Reaper
) -> None:
    """No restart needed: the action's watch kills its group when the machine dies, so
    nothing of the run goes on beside a worker that takes the job over later."""
    # The shell forks `sleep` (a fork does not inherit PR_SET_PDEATHSIG): it survives
    # the shell and is re-parented, like any grandchild of a real command.
    machine = _start(statemachine, tmp_path, "sleep 1000 & echo $! > {fifo}; wait", fifo)
    [left] = survivors.watch(int(fifo.readline()))
    [watch] = survivors.watch(_group_watch(os.getpgid(left.pid)))
    machine.kill()  # SIGKILL to its process group: the watch, in a session of its own, stays
    assert left.exited(), "what the action's shell forked outlived its SIGKILLed machine"
    assert watch.exited(), "the watch stayed after it did its work"


def test_the_watch_ends_with_its_action(
    tmp_path: Path, statemachine: StartMachine, fifo: Fifo, survivors: Reaper
) -> None:
    os.mkfifo(tmp_path / "gate.fifo")
    machine = _start(statemachine, tmp_path, "echo $$ > {fifo}; read line < gate.fifo", fifo)
    pgid = int(fifo.readline())
    [watch] = survivors.watch(_group_watch(pgid))
    with open(tmp_path / "gate.fifo", "w") as gate:  # the command goes on, and ends
        gate.write("go\n")
    machine.expect(moved("sleeper", "working", "job_done", "completed"))
    assert machine.wait() == 0
    assert watch.exited(timeout=0), "the watch outlived its action"


def test_a_restart_kills_what_the_killed_run_left_before_running_again(
    tmp_path: Path, statemachine: StartMachine, fifo: Fifo, survivors: Reaper
) -> None:
    """The last resort, when the watch died with the machine (a kill of every process
    of the user, say): the next run kills the recorded group before it runs again."""
    command = "sleep 1000 & echo $! > {fifo}; wait"
    first = _start(statemachine, tmp_path, command, fifo)
    [left] = survivors.watch(int(fifo.readline()))
    group = sql(os.environ["STATEMACHINE_DB"], "SELECT context FROM machine_state")
    recorded = json.loads(group[0][0])[ACTION_GROUP_KEY]
    assert recorded["pgid"] == os.getpgid(left.pid)
    [watch] = survivors.watch(_group_watch(recorded["pgid"]))
    os.kill(watch.pid, signal.SIGKILL)
    assert watch.exited()
    first.kill()
    assert not left.exited(timeout=0)
    second = _start(statemachine, tmp_path, command, fifo)
    second.expect(r"killed process group \d+ left running by its previous run")
    [rerun] = survivors.watch(int(fifo.readline()))
    # The re-run's command only started once the left-over group was gone.
    assert left.exited(timeout=0), "the re-run started beside the previous run's process"
    assert rerun.pid != left.pid
    assert second.stop() == 0
    assert rerun.exited(), "the action's process outlived its stopped machine"


WORKER = """
name: worker
initial_state: waiting
transitions:
  - {{from: waiting, to: processing, event: new_job}}
  - {{from: waiting, to: waiting, event: no_jobs}}
  - {{from: processing, to: waiting, event: job_done}}
actions:
  waiting:
    - {{type: check_database_queue, job_type: task, wait: 30}}
  processing:
    - type: bash
      command: {command}
"""


def test_sigterm_mid_job_gives_the_job_back_unused(
    tmp_path: Path, statemachine: StartMachine, fifo: Fifo, survivors: Reaper
) -> None:
    db = os.environ["STATEMACHINE_DB"]
    command = json.dumps(f"echo $$ > {fifo}; exec sleep 1000")
    config = write(tmp_path / "worker.yaml", WORKER.format(command=command))
    added = run_cli(
        "add-job", "job-1", "--type", "task", "--max-attempts", "1",
        cwd=tmp_path, argv=[sys.executable, "-m", "statemachine_engine.database.cli"],
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    worker = statemachine(config, "--machine-name", "w1")
    [action] = survivors.watch(int(fifo.readline()))
    assert sql(db, "SELECT status, attempts FROM jobs") == [("processing", 1)]
    assert worker.stop() == 0  # SIGTERM, graceful
    assert action.exited()
    # At once: no lease had to run out, and its only attempt is still there.
    assert sql(db, "SELECT status, attempts, lease_owner FROM jobs") == [("pending", 0, None)]
    worker.expect(r"gave job job-1 back unused")
    # Another worker takes it and runs its only attempt.
    again = statemachine(config, "--machine-name", "w2")
    [rerun] = survivors.watch(int(fifo.readline()))
    assert sql(db, "SELECT status, attempts, lease_owner FROM jobs")[0][:2] == ("processing", 1)
    again.kill()
    assert rerun.exited()


@pytest.mark.parametrize("way", ["setpriv", "preexec"])
def test_both_ways_of_dying_with_the_parent_work(way: str, survivors: Reaper) -> None:
    """``setpriv --pdeathsig`` where installed, else the ``preexec_fn``: both hold."""
    if way == "setpriv" and not dying_with_parent().prefix:
        pytest.skip("setpriv --pdeathsig is not available here")
    script = (
        "import subprocess\n"
        "from statemachine_engine.actions._process_groups import (\n"
        "    dying_with_parent, die_with_parent)\n"
        f"spawn = dying_with_parent() if {way == 'setpriv'!r} else None\n"
        "prefix = list(spawn.prefix) if spawn else []\n"
        "pre = spawn.preexec if spawn else die_with_parent()\n"
        # The child says when it runs its command: PR_SET_PDEATHSIG is set by then (a
        # parent killed between the fork and setpriv's prctl would leave it unset).
        "child = subprocess.Popen([*prefix, 'sh', '-c', 'echo; exec sleep 1000'],\n"
        "                         preexec_fn=pre, stdout=subprocess.PIPE)\n"
        "child.stdout.readline()\n"
        "print(child.pid, flush=True)\n"
        "child.wait()\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    [child] = survivors.watch(int(parent.stdout.readline()))
    parent.kill()
    parent.wait()
    parent.stdout.close()
    assert child.exited(), f"the child outlived its parent ({way})"


def test_a_restart_kills_only_the_group_it_recorded(survivors: Reaper) -> None:
    """A group id reused since (another boot, another leader) is never killed."""
    sleeper = subprocess.Popen(["sleep", "1000"], start_new_session=True)
    try:
        [watched] = survivors.watch(sleeper.pid)
        record = group_record(sleeper.pid)
        for stale in ({"boot": "another-boot"}, {"start": record["start"] - 1}):
            assert not asyncio.run(end_left_group("m", {**record, **stale}))
            assert not watched.exited(timeout=0)
        assert asyncio.run(end_left_group("m", record))
        assert watched.exited()
    finally:
        sleeper.kill()
        sleeper.wait()
