"""Group commit: steps taken while more events wait commit together, and keep every
guarantee of one commit per step (docs/durability.md, "Steps that commit together").

What is committed is read from the SQLite file with a connection of the test's own, as
another process would see it.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from statemachine_engine.core.engine import StateMachineEngine
from statemachine_engine.database._sqlite import SqliteStore
from tests.support.engines import PINGPONG, Machines, run_to_end
from tests.support.files import sql, write
from tests.support.processes import MachineProcess, wait_until
from tests.support.recorder import Recorder


def committed(db: Path) -> dict[str, Any]:
    """What the store holds of ``pingpong``, read in one snapshot."""
    conn = sqlite3.connect(db, timeout=30)
    try:
        with conn:
            pings = conn.execute(
                "SELECT count(*) FROM state_history WHERE machine_name = 'pingpong' "
                "AND event = 'ping'"
            ).fetchone()[0]
            processed = conn.execute(
                "SELECT count(*) FROM machine_events WHERE target_machine = 'pingpong' "
                "AND event_type = 'ping' AND status = 'processed'"
            ).fetchone()[0]
            state = conn.execute(
                "SELECT current_state FROM machine_state WHERE machine_name = 'pingpong'"
            ).fetchone()
    finally:
        conn.close()
    return {"pings": pings, "processed": processed, "state": state and state[0]}


async def send_backlog(store: SqliteStore, pings: int) -> None:
    for _ in range(pings):
        await store.send_event("pingpong", "ping", {}, source="test")
    await store.send_event("pingpong", "stop", {}, source="test")


class CommittedWhenTold(Recorder):
    """Checks, each time it hears of a transition, that the store already holds it."""

    def __init__(self, db: Path) -> None:
        super().__init__()
        self.db = db
        self.heard = 0
        self.ahead: list[tuple[int, int]] = []

    def state_changed(
        self, machine: StateMachineEngine, source: str | None, target: str, event: Any
    ) -> None:
        super().state_changed(machine, source, target, event)
        self.heard += 1
        [(rows,)] = sql(self.db, "SELECT count(*) FROM state_history")
        if rows < self.heard:
            self.ahead.append((self.heard, rows))


async def test_a_drained_backlog_commits_in_groups_and_loses_nothing(
    machines: Machines, store: SqliteStore, db: Path
) -> None:
    await send_backlog(store, 1200)
    commits: list[str] = []
    store.connector._conn.set_trace_callback(  # type: ignore[attr-defined]
        lambda statement: commits.append(statement) if statement == "COMMIT" else None
    )
    observer = CommittedWhenTold(db)
    engine, _ = machines.build(PINGPONG, store=store, machine_name="pingpong")
    engine.observers.append(observer)
    assert await run_to_end(engine) == "stopped"

    assert committed(db) == {"pings": 1200, "processed": 1200, "state": "stopped"}
    [(stop_status,)] = sql(db, "SELECT status FROM machine_events WHERE event_type = 'stop'")
    assert stop_status == "processed"
    # 1,202 steps (start, the pings, stop); a commit per step would be 1,202 commits.
    assert len(commits) < 50, len(commits)
    # Observers heard of each step only once the store held it.
    assert observer.heard == 1202
    assert observer.ahead == []


async def test_an_event_no_transition_takes_is_dropped_with_its_reason_in_the_group(
    machines: Machines, store: SqliteStore, db: Path
) -> None:
    await store.send_event("pingpong", "ping", {}, source="test")
    await store.send_event("pingpong", "bogus", {}, source="test")
    await send_backlog(store, 1)
    engine, _ = machines.build(PINGPONG, store=store, machine_name="pingpong")
    assert await run_to_end(engine) == "stopped"
    rows = sql(db, "SELECT event_type, status, reason FROM machine_events ORDER BY id")
    assert rows == [
        ("ping", "processed", None),
        ("bogus", "dropped", "no transition from 'b' on 'bogus'"),
        ("ping", "processed", None),
        ("stop", "processed", None),
    ]


PROBE_ACTION = '''
import sqlite3

from statemachine_engine.actions import BaseAction


class ProbeAction(BaseAction):
    """Records how many transitions the store held when it ran (it reaches outside)."""

    async def execute(self, context):
        conn = sqlite3.connect(self.get_config_value("db"))
        try:
            [(rows,)] = conn.execute("SELECT count(*) FROM state_history").fetchall()
        finally:
            conn.close()
        context.setdefault("seen", []).append(rows)
        return self.success_event
'''


async def test_an_action_reaching_outside_runs_after_the_steps_before_it_are_committed(
    actions_dir: Path, store: SqliteStore, db: Path
) -> None:
    write(actions_dir / "probe_action.py", PROBE_ACTION)
    async with Machines(actions_dir) as factory:
        await send_backlog(store, 6)
        config = f"""
name: pingpong
initial_state: a
transitions:
  - {{from: a, to: b, event: ping}}
  - {{from: b, to: a, event: back}}
  - {{from: a, to: stopped, event: stop}}
actions:
  b:
    - {{type: log, message: "in b"}}
    - {{type: probe, db: "{db}", success: back}}
"""
        engine, _ = factory.build(config, store=store, machine_name="pingpong")
        assert await run_to_end(engine) == "stopped"
    # The k-th visit to b follows 2k transitions (the start, then a ping and a return
    # each time): each was committed before the probe looked, pings waiting or not.
    assert engine.context["seen"] == [2, 4, 6, 8, 10, 12]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals a process group")
async def test_a_machine_killed_while_draining_resumes_and_handles_each_event_once(
    statemachine: Callable[..., MachineProcess], store: SqliteStore, db: Path, tmp_path: Path
) -> None:
    pings = 30_000
    await send_backlog(store, pings)
    config = write(tmp_path / "pingpong.yaml", PINGPONG)

    first = statemachine(config, "--db", db)
    wait_until(lambda: committed(db)["pings"] >= 1000, 60, "a thousand steps committed")
    first.kill()

    # Whatever the kill left: the steps committed and the events they consumed are the
    # same, and the recorded state is the one they lead to.
    at_kill = committed(db)
    assert 1000 <= at_kill["pings"] < pings
    assert at_kill["processed"] == at_kill["pings"]
    assert at_kill["state"] == ("b" if at_kill["pings"] % 2 else "a")

    second = statemachine(config, "--db", db)
    assert second.wait(120) == 0
    assert committed(db) == {"pings": pings, "processed": pings, "state": "stopped"}
    [(unhandled,)] = sql(db, "SELECT count(*) FROM machine_events WHERE status != 'processed'")
    assert unhandled == 0
