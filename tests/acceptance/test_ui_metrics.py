"""``statemachine-ui`` serves ``/metrics`` for Prometheus: the text format, under the
API's token, with a running machine counted; ``--no-metrics`` turns it off."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.files import create_store, write
from tests.support.processes import MachineProcess, console_script, moved

UI = console_script("statemachine-ui") or [sys.executable, "-m", "statemachine_engine.ui.cli"]
SERVING = r"serving http://127\.0\.0\.1:(\d+)/"
TOKEN = "s3cret-token"

IDLER = """
name: Idler
initial_state: idle
events: [poke]
transitions:
  - {from: idle, to: idle, event: poke}
"""


def serve(statemachine: Callable[..., MachineProcess], db: Path, *args: str) -> str:
    process = statemachine("--port", "0", "--db", db, *args, argv=UI)
    found = re.search(SERVING, process.expect(SERVING))
    assert found is not None
    return f"http://127.0.0.1:{found.group(1)}"


def test_metrics_are_served_in_the_text_format_under_the_token(
    tmp_path: Path, statemachine: Callable[..., MachineProcess]
) -> None:
    db = tmp_path / "store.db"
    create_store(str(db))
    # The machine runs before the server starts: the gauges the server reads (and caches
    # for a second) count it from the first read on.
    idler = statemachine(write(tmp_path / "idler.yaml", IDLER), "--db", db)
    idler.expect(moved("idler", None, "start", "idle"))
    url = serve(statemachine, db, "--token", TOKEN)

    with httpx.Client(base_url=url, timeout=15) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", params={"token": "wrong"}).status_code == 401
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    assert {
        "statemachine_machines",
        "statemachine_transitions",
        "statemachine_jobs",
        "statemachine_job_wait_seconds",
        "statemachine_job_run_seconds",
        "statemachine_action_seconds",
        "statemachine_action_failures",
        "statemachine_inbox_pending",
        "statemachine_events_dropped",
        "statemachine_consumers",
    } <= set(families)
    machines = [(s.labels, s.value) for s in families["statemachine_machines"].samples]
    assert machines == [({"config": "idler", "state": "idle", "status": "live"}, 1.0)]
    idler.stop()


def test_no_metrics_turns_the_endpoint_off(
    tmp_path: Path, statemachine: Callable[..., MachineProcess]
) -> None:
    db = tmp_path / "store.db"
    create_store(str(db))
    url = serve(statemachine, db, "--no-metrics")
    with httpx.Client(base_url=url, timeout=15) as client:
        assert client.get("/metrics").status_code == 404
        assert client.get("/health").status_code == 200
