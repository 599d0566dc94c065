"""No poison on either backend: a machine run against SQLite or PostgreSQL drops a
stored event it cannot decode, records why, and goes on (issue 13, point 3)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from statemachine_engine.database.store import Store
from tests.contract.conftest import BACKENDS
from tests.security.configs import WORKER
from tests.support import postgres
from tests.support.files import sql, write
from tests.support.processes import MachineProcess, moved

DB = [sys.executable, "-m", "statemachine_engine.database.cli"]
INSERT = "INSERT INTO {table} (target_machine, event_type, payload, created_at) VALUES ({marks})"


@pytest.fixture(params=sorted(BACKENDS))
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with BACKENDS[request.param].make_location(tmp_path) as found:
        if request.param == "sqlite":
            Path(found).parent.mkdir(parents=True, exist_ok=True)
        asyncio.run(_migrate(BACKENDS[request.param].open(found)))
        yield found


async def _migrate(store: Store) -> None:
    """Open the store once, as a machine would: its schema is then up to date."""
    try:
        await store.last_event_id()
    finally:
        await store.close()


def plant(location: str, payload_text: str) -> None:
    """A pending 'go' row for machine 'w', written under the store's interface."""
    values = ("w", "go", payload_text, time.time())
    if location.startswith("postgresql://"):
        schema = location.rsplit("%3D", 1)[1]
        table = f'"{schema}".machine_events'
        postgres.admin(INSERT.format(table=table, marks="%s, %s, %s, %s"), values)
    else:
        sql(location, INSERT.format(table="machine_events", marks="?, ?, ?, ?"), values)


def test_a_poison_row_is_dropped_with_its_reason_on_every_backend(
    location: str, tmp_path: Path, statemachine: Callable[..., MachineProcess]
) -> None:
    plant(location, "[" * 5000 + "]" * 5000)
    plant(location, '{"file": NaN}')
    plant(location, '{"file": "a.txt"}')
    config = write(tmp_path / "worker.yaml", WORKER)
    machine = statemachine(config, "--machine-name", "w", "--db", location)
    machine.expect(r"WARNING.*event 'go' \(id \d+\) dropped: undecodable payload: .*nested 5000")
    machine.expect(r"WARNING.*event 'go' \(id \d+\) dropped: undecodable payload: .*NaN")
    machine.expect("working on a.txt")
    machine.expect(moved("w", "working", "continue", "waiting"))
    assert db_cli(location, "send-event", "--target", "w", "--type", "quit").returncode == 0
    assert machine.wait() == 0
    assert "Traceback" not in machine.stderr
    listed = db_cli(location, "list-events", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    statuses = sorted(
        (event["status"], (event["reason"] or "").split(":")[0])
        for event in json.loads(listed.stdout)
    )
    assert statuses == [
        ("dropped", "undecodable payload"),
        ("dropped", "undecodable payload"),
        ("processed", ""),  # the good 'go'
        ("processed", ""),  # 'quit'
    ]


def db_cli(location: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DB, "--db", location, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
