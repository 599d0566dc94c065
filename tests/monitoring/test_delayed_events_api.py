"""The monitoring API and delayed events: sending one (``delay``, ``at``) and seeing what
a machine waits for (its delayed events and its state's timeouts) and until when."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.monitoring.conftest import StartServer
from tests.monitoring.test_server import StartMachine, start_ponger
from tests.support.files import sql
from tests.support.processes import send


def test_a_delayed_event_sent_through_the_api_is_shown_with_its_due_time(
    tmp_path: Path, statemachine: StartMachine, ui_server: StartServer
) -> None:
    machine = start_ponger(tmp_path, statemachine)
    server = ui_server("--allow-control")
    before = time.time()
    with server.http() as http:
        later = http.post("/api/machines/ponger/events", json={"type": "ping", "delay": "2h"})
        fixed = http.post(
            "/api/machines/ponger/events",
            json={"type": "ping", "at": "2031-01-01T00:00:00+00:00"},
        )
        bad = http.post("/api/machines/ponger/events", json={"type": "ping", "delay": "soon"})
        both = http.post(
            "/api/machines/ponger/events", json={"type": "ping", "delay": 5, "at": "2031-01-01"}
        )
    assert later.status_code == 200
    assert before + 7200 <= later.json()["due_at"] <= time.time() + 7200
    assert fixed.json()["due_at"] == 1924992000.0
    assert bad.status_code == 400
    assert "delay must be a duration" in bad.json()["detail"]
    assert both.status_code == 400
    assert "not both" in both.json()["detail"]

    waits = server.get("/api/machines/ponger")["waiting_for"]
    assert [(w["kind"], w["event"], w["event_id"]) for w in waits] == [
        ("delayed_event", "ping", later.json()["id"]),
        ("delayed_event", "ping", fixed.json()["id"]),
    ]
    assert waits[0]["source"] == "statemachine-ui"
    described = server.get("/openapi.json")["components"]["schemas"]
    assert set(described["Wait"]["properties"]) == {
        "kind",
        "event",
        "due_at",
        "event_id",
        "source",
    }
    send("ponger", "stop")
    assert machine.wait() == 0


FAR = "must be at most 100 years ahead (3155760000 seconds)"


@pytest.mark.parametrize(
    ("path", "body", "detail"),
    [
        ("ponger", {"type": ""}, '"type" must not be blank'),
        ("ponger", {"type": " "}, '"type" must not be blank'),
        ("ponger", {"type": "x" * 201}, '"type" must be at most 200 characters, not 201'),
        ("ponger", {"payload": {}}, '"type" must be text, not null'),
        ("x" * 201, {"type": "go"}, "the machine's name must be at most 200 characters, not 201"),
        ("ponger", {"type": "go", "delay": 1e300}, f"delay {FAR}"),
        ("ponger", {"type": "go", "delay": "99999999999999h"}, f"delay {FAR}"),
        ("ponger", {"type": "go", "at": "2200-01-01T00:00:00Z"}, f"at {FAR}"),
    ],
)
def test_names_and_delays_are_held_to_the_rules_of_statemachine_db(
    ui_server: StartServer, path: str, body: dict[str, object], detail: str
) -> None:
    server = ui_server("--allow-control")
    with server.http() as http:
        answer = http.post(f"/api/machines/{path}/events", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json() == {"detail": detail}
    assert sql(os.environ["STATEMACHINE_DB"], "SELECT count(*) FROM machine_events") == [(0,)]
    described = server.get("/openapi.json")["paths"]["/api/machines/{name}/events"]["post"]
    schema = described["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert schema["type"]["maxLength"] == 200
    assert "at most 100 years" in schema["delay"]["description"]
