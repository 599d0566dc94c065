"""Strict JSON (issue 13, points 6 and 11): NaN, infinities and 1e400 are refused at
every entry point with one line; deep JSON is refused everywhere without a traceback;
every API answer is valid JSON, whatever the store holds, and nothing answers 500.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from statemachine_engine._jsondata import MAX_DEPTH, decode
from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.database.store import StoreError
from statemachine_engine.errors import JSONDataError
from tests.monitoring.conftest import StartServer
from tests.monitoring.conftest import ui_server as ui_server  # the real server, per test
from tests.security.configs import WORKER
from tests.support.files import create_store, sql, write
from tests.support.processes import STATEMACHINE, MachineProcess, moved, send

DB = [sys.executable, "-m", "statemachine_engine.database.cli"]
NOT_STRICT = {
    "nan": ('{"v": NaN}', "NaN is not allowed"),
    "infinity": ('{"v": -Infinity}', "-Infinity is not allowed"),
    "huge": ('{"v": 1e400}', "number 1e400 is out of range"),
}
TOO_DEEP = "[" * 5000 + "]" * 5000
DEEP_BODY = b'{"type": "go", "payload": ' + TOO_DEEP.encode() + b"}"


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def strict_loads(text: str) -> Any:
    """Parse as a browser would: NaN and infinities are not JSON."""

    def refuse(name: str) -> Any:
        raise AssertionError(f"{name} in an answer")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def db() -> Path:
    path = Path(os.environ["STATEMACHINE_DB"])
    create_store(path)
    return path


ENTRY_POINTS = {
    "add-job --payload": lambda text: [*DB, "add-job", "j1", "--type", "t", "--payload", text],
    "send-event --payload": lambda text: [
        *DB,
        *("send-event", "--target", "w", "--type", "go", "--payload", text),
    ],
    "statemachine --initial-context": lambda text: [
        *STATEMACHINE,
        "worker.yaml",
        *("--machine-name", "w", "--initial-context", text),
    ],
}


@pytest.mark.parametrize("value", sorted(NOT_STRICT))
@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_every_cli_refuses_json_that_is_not_strict_in_one_line(
    entry: str, value: str, db: Path, tmp_path: Path
) -> None:
    write(tmp_path / "worker.yaml", WORKER)
    text, reason = NOT_STRICT[value]
    line = one_error_line(run(ENTRY_POINTS[entry](text), tmp_path))
    assert reason in line
    assert line.split()[-1] != "Traceback"
    assert sql(db, "SELECT count(*) FROM jobs")[0][0] == 0
    assert sql(db, "SELECT count(*) FROM machine_events")[0][0] == 0


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_every_cli_refuses_deep_json_in_one_line(entry: str, db: Path, tmp_path: Path) -> None:
    write(tmp_path / "worker.yaml", WORKER)
    line = one_error_line(run(ENTRY_POINTS[entry](TOO_DEEP), tmp_path))
    assert f"is nested 5000 levels deep (limit {MAX_DEPTH})" in line


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"v": math.nan}, id="nan"),
        pytest.param({"v": [math.inf]}, id="inf"),
        pytest.param({"v": [[[[]]]] * 2, "w": eval("[" * 150 + "]" * 150)}, id="deep"),
    ],
)
async def test_the_store_api_refuses_what_json_cannot_read_back(data: Any, db: Path) -> None:
    store = SqliteStore(db)
    try:
        with pytest.raises(StoreError) as refused:
            await store.add_job("t", data, job_id="j1")
        assert "\n" not in str(refused.value)
        with pytest.raises(StoreError):
            await store.send_event("w", "go", data)
        assert await store.get_job("j1") is None
    finally:
        await store.close()


SENDER = """
    name: Sender
    initial_state: sending
    final: [sent, refused]
    transitions:
      - {from: sending, to: sent, event: event_sent}
      - {from: sending, to: refused, event: error}
    actions:
      sending:
        - type: send_event
          target_machine: w
          event_type: go
          payload: {v: .nan}
    """


def test_send_event_refuses_a_nan_payload_with_its_error_event(
    db: Path, tmp_path: Path, statemachine: Callable[..., MachineProcess]
) -> None:
    machine = statemachine(write(tmp_path / "sender.yaml", SENDER), "--machine-name", "s")
    line = machine.expect(r"action send_event in 'sending' failed")
    assert "nan" in line
    machine.expect(moved("s", "sending", "error", "refused"))
    machine.close()
    assert "Traceback" not in machine.stderr
    assert sql(db, "SELECT count(*) FROM machine_events")[0][0] == 0


def test_the_control_socket_logs_deep_json_and_the_machine_goes_on(
    db: Path, tmp_path: Path, statemachine: Callable[..., MachineProcess]
) -> None:
    machine = statemachine(write(tmp_path / "worker.yaml", WORKER), "--machine-name", "w")
    machine.expect(moved("w", None, "start", "waiting"))
    send("w", ('{"type": "go", "payload": ' + TOO_DEEP + "}").encode())
    machine.expect(
        r"WARNING.*control socket: message is nested 5001 levels deep \(limit 101\); "
        "message ignored"
    )
    send("w", "go", json.dumps({"file": "x"})[:-1] + ", " + '"d": ' + TOO_DEEP + "}")
    machine.expect(r"WARNING.*control socket: ignoring event 'go': payload is nested")
    send("w", (b'{"type": "go", "payload": {"file": NaN}}'))
    machine.expect(
        r"WARNING.*control socket: message: NaN is not allowed in JSON .*; message ignored"
    )
    send("w", "go", {"file": "fine"})
    machine.expect("working on fine")
    send("w", "quit")
    assert machine.wait() == 0
    assert "Traceback" not in machine.stderr
    assert "RecursionError" not in machine.stderr


# -- the monitoring API ---------------------------------------------------------------


def plant_job(db: Path, job_id: str, data_text: str) -> None:
    now = time.time()
    sql(
        db,
        "INSERT INTO jobs (job_id, job_type, data, created_at, updated_at, run_after) "
        "VALUES (?, 't', ?, ?, ?, ?)",
        (job_id, data_text, now, now, now),
    )


def test_api_answers_stay_valid_json_whatever_the_store_holds(
    db: Path, tmp_path: Path, statemachine: Callable[..., MachineProcess], ui_server: StartServer
) -> None:
    plant_job(db, "good", '{"v": 1}')
    plant_job(db, "nan", '{"v": NaN}')
    plant_job(db, "huge", '{"v": 1e400}')
    machine = statemachine(write(tmp_path / "worker.yaml", WORKER), "--machine-name", "w")
    machine.expect(moved("w", None, "start", "waiting"))
    send("w", "quit")
    assert machine.wait() == 0
    sql(db, "UPDATE machine_state SET context = ? WHERE machine_name = 'w'", ('{"v": 1e400}',))
    server = ui_server()
    with server.http() as http:
        for path in ("/api/jobs", "/api/jobs/nan", "/api/jobs/huge", "/api/machines/w"):
            answer = http.get(path)
            assert answer.status_code == 200, (path, answer.text)
            strict_loads(answer.text)
        listed = strict_loads(http.get("/api/jobs").text)
    assert {job["job_id"] for job in listed["jobs"]} == {"good", "nan", "huge"}
    assert "Traceback" not in server.process.stderr


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        pytest.param(DEEP_BODY, 400, "nested", id="deep"),
        pytest.param(b'{"type": "go", "payload": {"v": NaN}}', 400, "NaN", id="nan"),
        pytest.param(b'{"type": "go", "payload": {"v": 1e400}}', 400, "1e400", id="huge"),
        pytest.param(b'{"type": "go", "payload": {"v": "\xff"}}', 400, "UTF-8", id="not-utf8"),
        # Too large (413): tests/monitoring/test_api_bodies.py.
    ],
)
def test_api_bodies_outside_the_bounds_get_4xx_never_500(
    body: bytes, status: int, detail: str, db: Path, ui_server: StartServer
) -> None:
    server = ui_server("--allow-control")
    with server.http() as http:
        answer = http.post(
            "/api/machines/w/events", content=body, headers={"content-type": "application/json"}
        )
    assert answer.status_code == status, answer.text
    assert detail in strict_loads(answer.text)["detail"]
    assert sql(db, "SELECT count(*) FROM machine_events")[0][0] == 0
    assert "Traceback" not in server.process.stderr


def test_a_diagram_folder_with_deep_metadata_does_not_break_the_api(
    db: Path, tmp_path: Path, ui_server: StartServer
) -> None:
    write(tmp_path / "worker.yaml", WORKER)
    folder = tmp_path / "docs" / "fsm-diagrams" / "worker"
    write(folder / "main.mermaid", "stateDiagram-v2\n")
    (folder / "metadata.json").write_text(TOO_DEEP, encoding="utf-8")
    server = ui_server("--project-root", tmp_path)
    with server.http() as http:
        answer = http.get("/api/diagrams/worker")
    assert answer.status_code == 200, answer.text
    assert "waiting" in strict_loads(answer.text)["main"]  # generated from the config instead


@pytest.mark.parametrize(
    "text", ['{"a": "\\ud800"}', '["\\udfff"]', '{"\\ud800": 1}', '"x\\ud83d"', '"\ud800"']
)
def test_a_lone_surrogate_is_refused_not_stored(text: str) -> None:
    """No UTF-8 store or socket can carry one: refused here, with a message, instead of
    a traceback wherever the value is written."""
    with pytest.raises(JSONDataError, match="lone surrogate"):
        decode(text)


def test_a_surrogate_pair_is_one_character() -> None:
    assert decode('"\\ud83d\\ude00"') == "\U0001f600"
