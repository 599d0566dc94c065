"""The monitoring API and delayed events: sending one (``delay``, ``at``) and seeing what
a machine waits for (its delayed events and its state's timeouts) and until when."""

from __future__ import annotations

import time
from pathlib import Path

from tests.monitoring.conftest import StartServer
from tests.monitoring.test_server import StartMachine, start_ponger
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
