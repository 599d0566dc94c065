"""No poison (issue 13, point 3): no stored event can stop a machine, at start or live.

Rows are planted in the SQLite store directly, as another program or an earlier version
could have written them: nested far beyond Python's recursion limit, ``NaN``, ``1e400``.
The machine drops each with its reason (a WARNING line and ``list-events``) and goes on
to the next event; a restart does not meet them again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from statemachine_engine._jsondata import MAX_DEPTH
from tests.monitoring.conftest import StartServer
from tests.monitoring.conftest import ui_server as ui_server  # the real server, per test
from tests.security.configs import WORKER
from tests.support.files import create_store, sql, write
from tests.support.processes import MachineProcess, moved, send

DB = [sys.executable, "-m", "statemachine_engine.database.cli"]


#: Deeper than Python's recursion limit: ``json.loads`` alone raised RecursionError.
VERY_DEEP = "[" * 5000 + "]" * 5000
#: Under the recursion limit, so ``json.loads`` took it, yet code walking it failed.
DEEP = '{"file": ' + "[" * 975 + "]" * 975 + "}"
POISONS = {
    "very_deep": VERY_DEEP,
    "deep": DEEP,
    "nan": '{"file": NaN}',
    "huge_number": '{"file": 1e400}',
}


def plant(db: Path, target: str, event: str, payload_text: str) -> int:
    """A pending event row, written as another program would write it; its id."""
    sql(
        db,
        "INSERT INTO machine_events (target_machine, event_type, payload, created_at) "
        "VALUES (?, ?, ?, ?)",
        (target, event, payload_text, time.time()),
    )
    return int(sql(db, "SELECT max(id) FROM machine_events")[0][0])


def db_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DB, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def events_by_id(cwd: Path) -> dict[int, dict[str, object]]:
    listed = db_cli("list-events", "--format", "json", cwd=cwd)
    assert listed.returncode == 0, listed.stderr
    assert "Traceback" not in listed.stderr
    return {int(event["id"]): event for event in json.loads(listed.stdout)}


@pytest.fixture
def db() -> Path:
    path = Path(os.environ["STATEMACHINE_DB"])
    create_store(path)
    return path


@pytest.mark.parametrize("poison", sorted(POISONS))
def test_a_poison_row_waiting_at_start_is_dropped_and_the_machine_goes_on(
    poison: str,
    db: Path,
    tmp_path: Path,
    statemachine: Callable[..., MachineProcess],
) -> None:
    config = write(tmp_path / "worker.yaml", WORKER)
    bad = plant(db, "w", "go", POISONS[poison])
    good = plant(db, "w", "go", '{"file": "a.txt"}')

    machine = statemachine(config, "--machine-name", "w")
    machine.expect(rf"WARNING.*event 'go' \(id {bad}\) dropped: undecodable payload")
    machine.expect(moved("w", "waiting", "go", "working"))
    machine.expect("working on a.txt")
    machine.expect(moved("w", "working", "continue", "waiting"))
    assert machine.stop() == 0
    restarted = statemachine(config, "--machine-name", "w")  # and at every later start
    restarted.expect("resumed in 'waiting'")
    assert restarted.stop() == 0
    for output in (machine.stderr, restarted.stderr):
        assert "Traceback" not in output
        assert "RecursionError" not in output

    events = events_by_id(tmp_path)
    assert events[bad]["status"] == "dropped"
    assert "undecodable payload" in str(events[bad]["reason"])
    assert events[good]["status"] == "processed"
    table = db_cli("list-events", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "undecodable payload" in table.stdout


def test_a_poison_row_arriving_while_the_machine_runs_is_dropped(
    db: Path, tmp_path: Path, statemachine: Callable[..., MachineProcess]
) -> None:
    config = write(tmp_path / "worker.yaml", WORKER)
    machine = statemachine(config, "--machine-name", "w")
    machine.expect(moved("w", None, "start", "waiting"))
    bad = plant(db, "w", "go", VERY_DEEP)
    sent = db_cli(
        "send-event", "--target", "w", "--type", "go", "--payload", '{"file": "b"}', cwd=tmp_path
    )
    assert sent.returncode == 0, sent.stderr
    machine.expect(rf"event 'go' \(id {bad}\) dropped: undecodable payload")
    machine.expect("working on b")
    machine.expect(moved("w", "working", "continue", "waiting"))
    assert machine.stop() == 0
    assert "Traceback" not in machine.stderr


def test_an_unhandled_event_is_dropped_with_its_reason(
    db: Path, tmp_path: Path, statemachine: Callable[..., MachineProcess]
) -> None:
    config = write(tmp_path / "worker.yaml", WORKER)
    stray = plant(db, "w", "continue", "{}")
    machine = statemachine(config, "--machine-name", "w")
    machine.expect(moved("w", None, "start", "waiting"))
    send("w", "quit")
    assert machine.wait() == 0
    events = events_by_id(tmp_path)
    assert events[stray]["status"] == "dropped"
    assert events[stray]["reason"] == "no transition from 'waiting' on 'continue'"


def test_list_events_shows_poison_rows_without_failing(db: Path, tmp_path: Path) -> None:
    ids = {name: plant(db, "w", "go", text) for name, text in POISONS.items()}
    table = db_cli("list-events", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "Traceback" not in table.stderr
    events = events_by_id(tmp_path)
    assert set(ids.values()) <= set(events)
    assert events[ids["very_deep"]]["payload"] == VERY_DEEP  # kept as its text
    assert events[ids["nan"]]["decodable"] is False


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(DEEP, id="975-deep"),
        pytest.param("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), id="just-too-deep"),
        pytest.param(VERY_DEEP, id="5000-deep"),
    ],
)
def test_send_event_refuses_a_payload_too_deep_in_one_line(
    payload: str, db: Path, tmp_path: Path
) -> None:
    sent = db_cli("send-event", "--target", "w", "--type", "go", "--payload", payload, cwd=tmp_path)
    assert sent.returncode != 0
    lines = sent.stderr.strip().splitlines()
    assert len(lines) == 1, sent.stderr
    depth = payload.count("[") + payload.count("{")
    assert lines[0] == (
        f"statemachine-db: error: --payload is nested {depth} levels deep (limit {MAX_DEPTH})"
    )
    assert sql(db, "SELECT count(*) FROM machine_events")[0][0] == 0


def test_a_payload_at_the_bound_is_delivered(
    db: Path, tmp_path: Path, statemachine: Callable[..., MachineProcess]
) -> None:
    deepest = '{"file": "deep", "x": ' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}"
    sent = db_cli("send-event", "--target", "w", "--type", "go", "--payload", deepest, cwd=tmp_path)
    assert sent.returncode == 0, sent.stderr
    machine = statemachine(write(tmp_path / "worker.yaml", WORKER), "--machine-name", "w")
    machine.expect("working on deep")
    machine.expect(moved("w", "working", "continue", "waiting"))
    assert machine.stop() == 0
    restarted = statemachine(tmp_path / "worker.yaml", "--machine-name", "w")
    restarted.expect("resumed in 'waiting'")
    assert restarted.stop() == 0
    assert "Traceback" not in machine.stderr + restarted.stderr


def test_a_dropped_event_shows_in_the_activity_log_of_the_ui(
    db: Path,
    tmp_path: Path,
    statemachine: Callable[..., MachineProcess],
    ui_server: StartServer,
) -> None:
    bad = plant(db, "w", "go", VERY_DEEP)
    machine = statemachine(write(tmp_path / "worker.yaml", WORKER), "--machine-name", "w")
    machine.expect(rf"event 'go' \(id {bad}\) dropped")
    send("w", "quit")
    assert machine.wait() == 0
    server = ui_server()
    activity = [
        event["payload"]
        for event in server.get("/api/events", params={"machine": "w"})
        if event["type"] == "activity_log"
    ]
    assert {
        "level": "warning",
        "message": f"event 'go' (id {bad}) dropped: undecodable payload: "
        f"payload is nested 5000 levels deep (limit {MAX_DEPTH})",
    }.items() <= activity[0].items()
