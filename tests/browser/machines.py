"""What the browser tests do beside the page: start the example worker, run
``statemachine-db`` in the test's directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.support.processes import MachineProcess, console_script, moved, run_cli

#: The ``statemachine`` fixture: starts ``statemachine *args`` in the test's directory.
Start = Callable[..., MachineProcess]


def start_worker(statemachine: Start, name: str) -> MachineProcess:
    """The simple_worker example as machine ``name``, once it waits for jobs."""
    machine = statemachine("simple_worker.yaml", "--machine-name", name)
    machine.expect(moved(name, None, "start", "waiting"))
    return machine


def db(*args: str, cwd: Path) -> str:
    """``statemachine-db *args``'s output; it must succeed."""
    argv = console_script("statemachine-db")
    assert argv is not None
    result = run_cli(*args, cwd=cwd, argv=argv)
    assert result.returncode == 0, result.stderr
    return result.stdout
