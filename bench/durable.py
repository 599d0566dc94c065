"""Durable transitions per second: one machine, one process, every transition committed.

The machine loops ``a -> b -> a ...`` driven by a tiny action that returns its event at
once (it counts in the context), until N transitions, then ends in ``completed``. With
a store each transition commits the new state, the context and the state history in
one SQLite transaction; the wall time of ``engine.run()`` is measured. Each sync mode
runs in a fresh subprocess with ``STATEMACHINE_SQLITE_SYNC`` set before the store opens.

    python bench/durable.py [--transitions N]

Bar (DESIGN.md): >= 5,000 durable transitions/s for one machine (state the sync mode;
SQLite here commits ~55,000 small WAL transactions/s with synchronous=NORMAL, ~8,000/s
with FULL). The earlier implementation keeps state only in memory: no such figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import figure, header
from _stores import bare_commits_per_second

BAR = 5_000
MODES = ("NORMAL", "FULL")

CONFIG = """
name: durable-bench
initial_state: a
states: [a, b, completed]
transitions:
  - {{from: a, to: b, event: next}}
  - {{from: b, to: a, event: next}}
  - {{from: a, to: completed, event: done}}
  - {{from: b, to: completed, event: done}}
actions:
  a:
    - {{type: tick, limit: {limit}}}
  b:
    - {{type: tick, limit: {limit}}}
"""

TICK_ACTION = '''
from statemachine_engine.actions import BaseAction


class TickAction(BaseAction):
    """Count a transition; ``next`` until ``limit`` is reached, then ``done``."""

    async def execute(self, context):
        count = context.get("ticks", 0) + 1
        context["ticks"] = count
        return "done" if count >= int(self.get_config_value("limit")) else "next"
'''


def run_once(transitions: int, durable: bool) -> dict[str, float]:
    """One run in this process: returns the transition count and the wall time."""
    from statemachine_engine.config.loader import config_from_text
    from statemachine_engine.core import StateMachineEngine
    from statemachine_engine.core.action_loader import ActionLoader

    with tempfile.TemporaryDirectory() as tmp:
        actions_dir = Path(tmp) / "actions"
        actions_dir.mkdir()
        (actions_dir / "tick_action.py").write_text(TICK_ACTION)
        loader = ActionLoader(actions_dir)
        # `transitions - 1` ticks then `done`: a->b ... plus the last one into `completed`.
        config = config_from_text(CONFIG.format(limit=transitions), is_known_action=loader.is_known)
        store = None
        raw = 0.0
        if durable:
            raw = bare_commits_per_second(Path(tmp) / "raw.db")
            from statemachine_engine.database._sqlite import SqliteStore

            store = SqliteStore(Path(tmp) / "durable.db")
        engine = StateMachineEngine(
            config, machine_name="durable-bench", action_loader=loader, store=store
        )

        async def main() -> tuple[str, float]:
            start = time.perf_counter()
            final = await engine.run()
            return final, time.perf_counter() - start

        final, elapsed = asyncio.run(main())
        assert final == "completed", final
        committed = transitions
        if store is not None:
            asyncio.run(store.close())
            with contextlib.closing(sqlite3.connect(Path(tmp) / "durable.db")) as check:
                rows = check.execute(  # the bench checks what was committed
                    "SELECT count(*) FROM state_history WHERE machine_name = 'durable-bench'"
                ).fetchone()[0]
            # The history also holds the entry into the initial state.
            committed = rows - 1
            assert committed == transitions, (committed, transitions)
    return {"transitions": committed, "seconds": elapsed, "raw_commits": raw}


def run_mode(transitions: int, mode: str) -> tuple[float, float]:
    """Durable transitions/s in a fresh subprocess with the given synchronous mode."""
    env = {**os.environ, "STATEMACHINE_SQLITE_SYNC": mode}
    result = subprocess.run(
        [sys.executable, __file__, "--transitions", str(transitions), "--child", "durable"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"durable run ({mode}) failed:\n{result.stderr}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return data["transitions"] / data["seconds"], data["raw_commits"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transitions", type=int, default=20_000)
    parser.add_argument("--child", choices=["durable", "memory"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_once(args.transitions, args.child == "durable")))
        return

    header("durable transitions, one machine")
    print(f"   {args.transitions:,} transitions a -> b -> a ... -> completed, SQLite WAL")
    for mode in MODES:
        rate, raw = run_mode(args.transitions, mode)
        figure(
            f"durable transitions/s (synchronous={mode})",
            rate,
            "/s",
            bar=">= 5,000/s",
            ok=rate >= BAR,
        )
        figure(f"  bare SQLite commits/s on this disk ({mode})", raw, "/s")
    memory = run_once(args.transitions, durable=False)
    in_memory = memory["transitions"] / memory["seconds"]
    figure("  the same machine in memory (no store)", in_memory, "/s")
    print("   earlier implementation: not measured (it keeps machine state only in memory)")


if __name__ == "__main__":
    main()
