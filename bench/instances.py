"""Many machines in one process, and one machine in a process: memory and idle CPU.

Starts ``statemachine waiter.yaml --instances N`` (durable, on SQLite, each instance
waiting for an event in a state with no timers), waits until every instance has entered
its first state, then reads the process's resident memory and, once start-up's tail has
settled, its CPU time over an idle window (which includes the host's heartbeat). Then the
RSS of one machine process, and of the earlier implementation's beside it.

    python bench/instances.py [--instances 10000] [--idle 30] [--statemachine PATH]
                              [--reference PATH]

Bars (issue 15): 10,000 instances in one process all in their first state within 2 s,
at most 150 MB, idle CPU under 0.05 % over 60 s (``--idle 60``); one machine process no
more than the earlier implementation's ~25 MB RSS (bench/startup.py judges 0.85x).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import figure, header, is_editable

CONFIG = """
name: waiter
initial_state: waiting
transitions:
  - {from: waiting, to: completed, event: go}
actions:
  waiting:
    - {type: log, message: "READY {machine_name}"}
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """CPU time of process ``pid`` (all its threads), from the scheduler's nanosecond
    counter: utime + stime come in clock ticks (10 ms), too coarse for an idle process
    (three ticks in a minute are 0.05 %)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def count_waiting(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            row = conn.execute(
                "SELECT count(*) FROM machine_state WHERE current_state = 'waiting' "
                "AND actions_done = 1"
            ).fetchone()
    except sqlite3.OperationalError:  # not created yet
        return 0
    return int(row[0])


def settle(pid: int, limit: float = 30.0) -> None:
    """Wait until start-up's tail (log lines, batched realtime records) is over."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(1.0)
        if cpu_seconds(pid) == before:
            return


def start(argv: list[str], workdir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "STATEMACHINE_SOCKET_DIR": str(workdir / "s")}
    env.pop("STATEMACHINE_DB", None)
    return subprocess.Popen(
        argv, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def wait_for_line(process: subprocess.Popen[bytes], marker: bytes) -> None:
    assert process.stderr is not None
    for line in process.stderr:
        if marker in line:
            return
    raise RuntimeError(f"exited ({process.wait()}) before printing {marker!r}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def many_instances(statemachine: str, count: int, idle: float, workdir: Path) -> None:
    config = workdir / "waiter.yaml"
    config.write_text(CONFIG)
    started = time.perf_counter()
    process = start([statemachine, str(config), "--instances", str(count)], workdir)
    # Thousands of log lines: read them off so the pipe never fills.
    assert process.stderr is not None
    drain = subprocess.Popen(["cat"], stdin=process.stderr, stdout=subprocess.DEVNULL)
    try:
        db = workdir / "data" / "pipeline.db"
        while count_waiting(db) < count:
            if process.poll() is not None:
                raise RuntimeError(f"statemachine exited with {process.returncode}")
            time.sleep(0.05)  # (the figure is late by up to this much)
        ready = time.perf_counter() - started
        rss = rss_mb(process.pid)
        settle(process.pid)
        cpu_before = cpu_seconds(process.pid)
        time.sleep(idle)
        cpu_idle = (cpu_seconds(process.pid) - cpu_before) / idle * 100
        rss_after = rss_mb(process.pid)
    finally:
        stop(process)
        drain.wait()
    figure(
        f"{count:,} instances: all in their first state after",
        ready,
        "s",
        bar="<= 2 s",
        ok=ready <= 2.0,
    )
    figure(f"{count:,} instances: RSS of the process", rss, "MB", bar="<= 150 MB", ok=rss <= 150)
    figure(f"  after {idle:.0f} s idle", rss_after, "MB")
    figure(
        f"{count:,} instances: idle CPU over {idle:.0f} s",
        cpu_idle,
        "%",
        bar="< 0.05 %",
        ok=cpu_idle < 0.05,
    )
    per_machine = rss * 1024 / count
    print(f"   (idle CPU {cpu_idle:.4f} %; {per_machine:.1f} KB a machine, interpreter included)")


def one_machine_rss(statemachine: str, workdir: Path, name: str) -> float:
    """RSS of a machine process once it has entered its first state."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "waiter.yaml"
    if not config.exists():  # rewritten, it would be parsed again: a config cache miss
        config.write_text(CONFIG)
    process = start([statemachine, str(config), "--machine-name", name], workdir)
    try:
        wait_for_line(process, f"READY {name}".encode())
        settle(process.pid)  # the same for both implementations: start-up's tail is over
        return rss_mb(process.pid)
    finally:
        stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--idle", type=float, default=30.0, help="idle window, seconds")
    parser.add_argument("--statemachine", default=shutil.which("statemachine"))
    parser.add_argument(
        "--reference",
        default=os.environ.get("STATEMACHINE_REFERENCE", "/tmp/refvenv/bin/statemachine"),
    )
    args = parser.parse_args()
    if not args.statemachine:
        sys.exit("statemachine is not on PATH: pip install -e . first")
    reference = args.reference if args.reference and Path(args.reference).exists() else None
    header("machine instances: memory and idle CPU")
    print(f"   earlier implementation: {reference or 'not installed (see --reference)'}")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "s").mkdir(mode=0o700)
        many_instances(args.statemachine, args.instances, args.idle, workdir)
        # The first run of a config parses its YAML (and caches the result); later runs
        # of an unchanged config start from the cache without loading PyYAML.
        first = one_machine_rss(args.statemachine, workdir / "one", "solo1")
        ours = one_machine_rss(args.statemachine, workdir / "one", "solo2")
        theirs = None
        if reference:
            one_machine_rss(reference, workdir / "reference", "solo1")
            theirs = one_machine_rss(reference, workdir / "reference", "solo2")
        figure("one machine process: RSS, first run of its config", first, "MB")
        figure(
            "one machine process: RSS",
            ours,
            "MB",
            bar="<= earlier implementation (25 MB)",
            ok=ours <= (theirs or 25.0),
            reference=theirs,
        )
    if is_editable(args.statemachine):
        print("   note: an editable install's import hook adds ~1 MB of RSS here; measure a")
        print("   regular install: python -m venv /tmp/v && /tmp/v/bin/pip install .")
        print("   then: python bench/instances.py --statemachine /tmp/v/bin/statemachine")


if __name__ == "__main__":
    main()
