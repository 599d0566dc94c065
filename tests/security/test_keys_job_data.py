"""Who may set a key: job data never replaces or removes the operator's, the config's or
an action's keys (issue 13, point 2).

A real ``statemachine`` worker runs with an ``--initial-context``; jobs are added to its
SQLite store; its activity log lines (stderr) show what its context held.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from statemachine_engine.database._sqlite import SqliteStore
from tests.support.files import write
from tests.support.processes import MachineProcess, moved

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /bin/bash")

WORKER = """
    initial_state: waiting
    transitions:
      - {from: waiting, to: processing, event: new_job}
      - {from: waiting, to: waiting, event: no_jobs}
      - {from: processing, to: reporting, event: job_done}
      - {from: reporting, to: waiting, event: reported}
    actions:
      waiting:
        - {type: check_database_queue, job_type: task, wait: 30}
      processing:
        - type: set_context
          key: mine
          value: "set by an action"
        - type: bash
          command: "ls {opts|raw} >> {log_file}"
      reporting:
        - type: log
          message: "job {job_id}: opts=[{opts}] log_file=[{log_file}] mine=[{mine}] file=[{file}]"
          success: reported
"""


def _open_gate(fifo: Path) -> None:
    """Let the job's ``read line < gate.fifo`` go on (blocks until it reads)."""
    with open(fifo, "w") as gate:
        gate.write("go\n")


@pytest.fixture
async def store() -> AsyncIterator[SqliteStore]:
    handle = SqliteStore(Path(os.environ["STATEMACHINE_DB"]))
    try:
        yield handle
    finally:
        await handle.close()


async def test_job_data_cannot_replace_or_remove_operator_keys(
    tmp_path: Path, store: SqliteStore, statemachine: Callable[..., MachineProcess]
) -> None:
    config = write(tmp_path / "worker.yaml", WORKER)
    hostile = await store.add_job(
        "task",
        {
            "opts": "-l; touch pwned",
            "log_file": "elsewhere.log",
            "mine": "from the job",
            "file": "a.txt",
        },
    )
    worker = statemachine(
        config,
        "--initial-context",
        '{"opts": "-l", "log_file": "operator.log"}',
    )
    line = worker.expect(re.escape(f"job {hostile.job_id}: "))
    # The operator's and the action's values are used; a key nobody else set is the job's.
    assert "opts=[-l] log_file=[operator.log] mine=[set by an action] file=[a.txt]" in line
    assert not (tmp_path / "pwned").exists()
    assert not (tmp_path / "elsewhere.log").exists()
    assert (tmp_path / "operator.log").read_text().strip()  # `ls -l` wrote there

    # After the job, the next job (whose data has none of those keys) still sees the
    # operator's keys; only the key the first job introduced is gone.
    plain = await store.add_job("task", {})
    line = worker.expect(re.escape(f"job {plain.job_id}: "))
    assert "opts=[-l] log_file=[operator.log] mine=[set by an action] file=[{file}]" in line
    assert not (tmp_path / "pwned").exists()
    assert worker.stop() == 0


async def test_the_keys_a_job_introduced_survive_a_restart_and_go_after_it(
    tmp_path: Path, store: SqliteStore, statemachine: Callable[..., MachineProcess]
) -> None:
    """The record of which keys the job introduced is saved with the context: a worker
    that crashed mid-job and is restarted (still holding the job's lease) removes the
    job's keys after it, and only those. (A worker stopped with SIGTERM gives its job
    back instead; see tests/security/test_shell_orphans.py.)"""
    config = write(
        tmp_path / "worker.yaml",
        WORKER.replace('"ls {opts|raw} >> {log_file}"', '"read line < gate.fifo"'),
    )
    os.mkfifo(tmp_path / "gate.fifo")
    first = await store.add_job("task", {"opts": "-x", "file": "a.txt"})
    worker = statemachine(config, "--initial-context", '{"opts": "-l", "log_file": "op.log"}')
    worker.expect(moved("worker", "waiting", "new_job", "processing"))
    worker.kill()  # mid-job: the bash action waits on the FIFO
    again = statemachine(config)  # resumes; no --initial-context this time
    again.expect(re.escape("[worker] resumed in 'processing'"))
    _open_gate(tmp_path / "gate.fifo")
    line = again.expect(re.escape(f"job {first.job_id}: "))
    assert "opts=[-l] log_file=[op.log] mine=[set by an action] file=[a.txt]" in line
    second = await store.add_job("task", {})
    again.expect(moved("worker", "waiting", "new_job", "processing"))
    _open_gate(tmp_path / "gate.fifo")
    line = again.expect(re.escape(f"job {second.job_id}: "))
    assert "opts=[-l] log_file=[op.log] mine=[set by an action] file=[{file}]" in line
    assert again.stop() == 0
