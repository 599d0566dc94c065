"""A controller starting machine processes: how long until all are in their first state.

The start_fsm process pattern: a controller pops a task off a list and starts a child
machine process for it (``start_fsm``), 100 times. Each child enters its first state,
logs a line there, and ends. The clock runs from launching the controller until the
store shows every child's first transition (its ``start`` into ``started``, polled
every 20 ms); the children's processes are then waited for. Start-up is paid once per
child: what one costs (`bench/startup.py`) times how many the cores run at once.

    python bench/spawn.py [--children 100] [--statemachine PATH]

Bar (issue 15): 100 children, all in their first state within 3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import figure, header
from _stores import BenchDatabase

BAR_SECONDS = 3.0
POLL_SECONDS = 0.02
TIMEOUT_SECONDS = 120.0

CONTROLLER = """
name: controller
initial_state: dispatching
transitions:
  - {from: dispatching, to: spawning, event: item_popped}
  - {from: spawning, to: dispatching, event: spawned}
  - {from: dispatching, to: completed, event: list_empty}
actions:
  dispatching:
    - {type: pop_from_list, list: tasks, store_as: task}
  spawning:
    - {type: start_fsm, yaml_path: CHILD, machine_name: "child_{task}", success: spawned}
"""

CHILD = """
name: child
initial_state: started
transitions:
  - {from: started, to: completed, event: logged}
actions:
  started:
    - {type: log, message: "child {machine_name} started", success: logged}
"""


def started_children(db: BenchDatabase) -> int:
    try:
        count = db.scalar(
            "SELECT count(DISTINCT machine_name) FROM state_history "
            "WHERE machine_name LIKE 'child_%' AND to_state = 'started'"
        )
    except sqlite3.OperationalError:  # not created yet
        return 0
    return int(count or 0)


def children_running(db: BenchDatabase) -> bool:
    """Whether a child has not ended yet (its temporary directory goes with the bench)."""
    return bool(
        db.scalar(
            "SELECT count(*) FROM machine_state WHERE machine_name LIKE 'child_%' "
            "AND status = 'running'"
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=100)
    parser.add_argument("--statemachine", default=shutil.which("statemachine"))
    args = parser.parse_args()
    if not args.statemachine:
        sys.exit("statemachine is not on PATH: pip install -e . first")
    header(f"a controller starting {args.children} machine processes (start_fsm)")
    with tempfile.TemporaryDirectory(prefix="spawn-bench-") as tmp:
        workdir = Path(tmp)
        child = workdir / "child.yaml"
        child.write_text(CHILD)
        controller = workdir / "controller.yaml"
        controller.write_text(CONTROLLER.replace("CHILD", str(child)))
        path = workdir / "spawn.db"
        db = BenchDatabase(str(path), "sqlite")
        env = {**os.environ, "STATEMACHINE_SOCKET_DIR": str(workdir / "s")}
        env.pop("STATEMACHINE_DB", None)
        tasks = json.dumps({"tasks": list(range(1, args.children + 1))})
        argv = [args.statemachine, str(controller), "--db", str(path), "--initial-context", tasks]
        started = time.perf_counter()
        process = subprocess.Popen(
            argv, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            while (count := started_children(db)) < args.children:
                if time.perf_counter() - started > TIMEOUT_SECONDS:
                    sys.exit(f"only {count} of {args.children} children started")
                if process.poll() not in (None, 0):
                    sys.exit(f"the controller exited with {process.returncode}")
                time.sleep(POLL_SECONDS)
            seconds = time.perf_counter() - started
            process.wait(TIMEOUT_SECONDS)
        finally:
            if process.poll() is None:
                process.kill()
        deadline = time.perf_counter() + TIMEOUT_SECONDS
        while children_running(db) and time.perf_counter() < deadline:
            time.sleep(POLL_SECONDS)  # the children end before their directory goes
    figure(
        f"{args.children} children in their first state after",
        seconds,
        "s",
        bar=f"<= {BAR_SECONDS:g} s",
        ok=seconds <= BAR_SECONDS,
        digits=2,
    )
    figure("  per child", seconds / args.children * 1000, "ms")
    print(f"   on {os.cpu_count()} cores; controller exit code {process.returncode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
