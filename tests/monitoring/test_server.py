"""The monitoring server against real machine processes: stream, API, history."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import websockets

from statemachine_engine.database._sqlite import SqliteStore
from tests.conftest import EXAMPLES
from tests.support.files import create_store, write
from tests.support.processes import MachineProcess, moved, run_cli, send, socket_dir

from .conftest import STREAM, UI, StartServer, is_event, next_message

StartMachine = Callable[..., MachineProcess]

PONGER = """
name: Ponger
initial_state: idle
states:
  # === REST ===
  - idle
  # === WORK ===
  - busy
  - stopped
transitions:
  - {from: idle, to: busy, event: ping}
  - {from: busy, to: idle, event: continue}
  - {from: "*", to: stopped, event: stop}
actions:
  busy:
    - {type: log, message: "pinged with {event_data.payload.note}"}
"""


def start_ponger(
    tmp_path: Path, statemachine: StartMachine, name: str = "ponger"
) -> MachineProcess:
    machine = statemachine(write(tmp_path / "ponger.yaml", PONGER), "--machine-name", name)
    machine.expect(moved(name, None, "start", "idle"))
    return machine


async def test_a_client_gets_a_snapshot_then_every_event_live(
    tmp_path: Path, statemachine: StartMachine, ui_server: StartServer
) -> None:
    server = ui_server()
    async with websockets.connect(server.ws_url) as client:
        snapshot = await next_message(client)
        assert snapshot == {"kind": "snapshot", "machines": [], "events": [], "control": False}
        machine = start_ponger(tmp_path, statemachine)
        registered = await next_message(client, is_event("machine_registered"))
        assert registered["event"]["machine_name"] == "ponger"
        assert registered["event"]["payload"]["config_type"] == "ponger"
        await next_message(client, is_event("state_change", to_state="idle"))

        send("ponger", "ping", {"note": "<b>hi</b>"})
        change = await next_message(client, is_event("state_change", to_state="busy"))
        assert change["event"]["payload"]["from_state"] == "idle"
        assert change["event"]["payload"]["event_trigger"] == "ping"
        assert isinstance(change["event"]["seq"], int)
        log = await next_message(client, is_event("activity_log"))
        assert log["event"]["payload"]["message"] == "pinged with <b>hi</b>"
        await next_message(client, is_event("state_change", to_state="idle"))

        # A client connecting now sees the machine where it is, and what happened.
        async with websockets.connect(server.ws_url) as late:
            snapshot = await next_message(late)
        (ponger,) = snapshot["machines"]
        assert ponger["name"] == "ponger"
        assert ponger["state"] == "idle"
        assert ponger["status"] == "running"
        assert ponger["config"] == "ponger"
        assert ponger["config_name"] == "Ponger"
        assert ponger["template"] is None
        assert ponger["pid"] == machine.pid
        assert [e["type"] for e in snapshot["events"]][:2] == ["machine_registered", "state_change"]
        assert snapshot["events"][-1]["payload"]["to_state"] == "idle"

        send("ponger", "stop")
        assert machine.wait() == 0
        await next_message(client, is_event("machine_terminated", final_state="stopped"))
    machines = server.get("/api/machines")
    assert [(m["name"], m["state"], m["status"]) for m in machines] == [
        ("ponger", "stopped", "finished")
    ]


async def test_machines_show_their_group_and_template(
    tmp_path: Path, statemachine: StartMachine, ui_server: StartServer
) -> None:
    server = ui_server()
    async with websockets.connect(server.ws_url) as client:
        await next_message(client)
        start_ponger(tmp_path, statemachine, "ponger_002")
        send("ponger_002", "ping", {"note": "x"})
        # The refresh reads the machine's config file from the store's record.
        message = await next_message(
            client,
            lambda m: (
                m["kind"] == "machines" and any(x["group"] is not None for x in m["machines"])
            ),
        )
    (machine,) = message["machines"]
    assert machine["template"] == "ponger"
    assert machine["group"] == ("WORK" if machine["state"] == "busy" else "REST")
    detail = server.get("/api/machines/ponger_002")
    assert detail["history"][0]["to_state"] == detail["state"]
    assert [h["event"] for h in reversed(detail["history"])][:2] == ["start", "ping"]
    assert detail["context"]["machine_name"] == "ponger_002"


def test_a_server_started_later_replays_recorded_history(
    tmp_path: Path, ui_server: StartServer
) -> None:
    assert run_cli(EXAMPLES / "hello" / "hello.yaml", cwd=tmp_path).returncode == 0
    server = ui_server()
    (hello,) = server.get("/api/machines")
    assert hello["name"] == "hello"
    assert hello["state"] == "completed"
    assert hello["status"] == "finished"
    assert hello["group"] == "DONE"
    events = server.get("/api/events", params={"limit": 4})
    assert [e["type"] for e in events] == [
        "state_change",
        "activity_log",
        "action_finished",  # the log action's duration (for /metrics)
        "machine_terminated",
    ]
    assert all(isinstance(e["id"], int) for e in events)
    assert events[0]["id"] < events[1]["id"] < events[2]["id"]
    assert server.get("/api/events", params={"machine": "nobody"}) == []
    assert len(server.get("/api/events", params={"machine": "hello"})) > 10


def test_jobs_api_lists_counts_and_details(tmp_path: Path, ui_server: StartServer) -> None:
    for number in range(3):
        added = run_cli(
            "add-job",
            "--type",
            "task",
            "--payload",
            json.dumps({"n": number}),
            cwd=tmp_path,
            argv=_db_cli(),
        )
        assert added.returncode == 0, added.stderr
    server = ui_server()
    listing = server.get("/api/jobs")
    assert listing["counts"]["pending"] == 3
    assert len(listing["jobs"]) == 3
    job = listing["jobs"][0]
    # Every field `statemachine-db details` shows, and what follows from them.
    assert set(job) == {
        "job_id",
        "job_type",
        "machine_type",
        "status",
        "priority",
        "attempts",
        "max_attempts",
        "run_after",
        "worker",
        "lease_owner",
        "lease_expires",
        "source_job_id",
        "traceparent",
        "created_at",
        "started_at",
        "completed_at",
        "updated_at",
        "error",
        "last_error",
        "data",
        "result",
        "duration",
        "next_retry",
    }
    assert job["job_type"] == "task"
    assert server.get("/api/jobs", params={"status": "failed"})["jobs"] == []
    assert len(server.get("/api/jobs", params={"type": "task", "limit": 2})["jobs"]) == 2
    detail = server.get(f"/api/jobs/{job['job_id']}")
    assert detail["job_id"] == job["job_id"]
    assert isinstance(detail["history"], list)
    with server.http() as http:
        missing = http.get("/api/jobs/nope")
        bad = http.get("/api/jobs", params={"status": "weird"})
        unknown_machine = http.get("/api/machines/nobody")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no job 'nope'"
    assert bad.status_code == 400
    assert unknown_machine.status_code == 404
    assert "detail" in unknown_machine.json()


def _db_cli() -> list[str]:
    import sys

    return [sys.executable, "-m", "statemachine_engine.database.cli"]


def test_control_is_off_unless_allowed(
    tmp_path: Path, statemachine: StartMachine, ui_server: StartServer
) -> None:
    machine = start_ponger(tmp_path, statemachine)
    server = ui_server()
    with server.http() as http:
        refused = http.post("/api/machines/ponger/events", json={"type": "ping"})
        retry = http.post("/api/jobs/x/retry")
    assert refused.status_code == 403
    assert "--allow-control" in refused.json()["detail"]
    assert retry.status_code == 403
    assert server.get("/api/config")["control"] is False
    machine.close()


def test_allowed_control_sends_events_and_changes_jobs(
    tmp_path: Path, statemachine: StartMachine, ui_server: StartServer
) -> None:
    machine = start_ponger(tmp_path, statemachine)
    added = run_cli("add-job", "--type", "task", "j1", cwd=tmp_path, argv=_db_cli())
    assert added.returncode == 0, added.stderr
    server = ui_server("--allow-control")
    assert server.get("/api/config")["control"] is True
    with server.http() as http:
        sent = http.post(
            "/api/machines/ponger/events", json={"type": "ping", "payload": {"note": "ui"}}
        )
        answer = sent.json()
        assert isinstance(answer.pop("id"), int)
        assert answer == {"ok": True, "due_at": None, "warning": None}  # ponger has run here
        machine.expect(moved("ponger", "idle", "ping", "busy"))
        machine.expect(r"pinged with ui")
        assert http.post("/api/jobs/j1/cancel").json() == {"ok": True}
        assert server.get("/api/jobs/j1")["status"] == "cancelled"
        assert http.post("/api/jobs/j1/retry").json() == {"ok": True}
        assert server.get("/api/jobs/j1")["status"] == "pending"
        assert http.post("/api/jobs/missing/retry").status_code == 404
        not_json = http.post(
            "/api/machines/ponger/events",
            content=b"type=ping",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert not_json.status_code == 415
        no_type = http.post("/api/machines/ponger/events", json={"payload": {}})
        assert no_type.status_code == 400
        cross_site = http.post(
            "/api/machines/ponger/events",
            json={"type": "stop"},
            headers={"origin": "http://evil.example"},
        )
        assert cross_site.status_code == 403
    send("ponger", "stop")
    assert machine.wait() == 0


def test_sending_to_a_machine_the_store_has_never_seen_keeps_the_event_and_warns(
    tmp_path: Path, ui_server: StartServer
) -> None:
    server = ui_server("--allow-control")
    with server.http() as http:
        sent = http.post("/api/machines/wroker/events", json={"type": "go", "payload": {"n": 1}})
    assert sent.status_code == 200
    assert sent.json() == {
        "ok": True,
        "id": 1,
        "due_at": None,
        "warning": "no machine named wroker has run against this store; "
        "it gets the event when it starts",
    }
    listed = run_cli(
        "list-events", "--target", "wroker", "--format", "json", cwd=tmp_path, argv=_db_cli()
    )
    assert [(e["event_type"], e["payload"], e["status"]) for e in json.loads(listed.stdout)] == [
        ("go", {"n": 1}, "pending")
    ]
    described = server.get("/openapi.json")
    response = described["paths"]["/api/machines/{name}/events"]["post"]["responses"]["200"]
    assert response["content"]["application/json"]["schema"]["$ref"].endswith("/Sent")
    assert "warning" in described["components"]["schemas"]["Sent"]["properties"]


def test_static_ui_openapi_and_health(ui_server: StartServer) -> None:
    server = ui_server()
    with server.http() as http:
        vendor = http.get("/static/vendor/mermaid.VERSION")
        assert vendor.status_code == 200
        assert vendor.text.strip().startswith("11.")
        assert "default-src 'self'" in vendor.headers["content-security-policy"]
        assert http.get("/static/../../pyproject.toml").status_code == 404
        assert http.get("/static/%2e%2e/cli.py").status_code == 404
        unknown = http.get("/api/nothing")
        assert unknown.status_code == 404
    openapi = server.get("/openapi.json")
    assert openapi["openapi"].startswith("3.")
    assert {"/api/machines", "/api/jobs", "/api/diagrams/{config}"} <= set(openapi["paths"])
    assert server.get("/health") == {
        "status": "ok",
        "machines": 0,
        "clients": 0,
        "source": "socket",
    }


def test_diagrams_come_from_written_files(tmp_path: Path, ui_server: StartServer) -> None:
    folder = tmp_path / "docs" / "fsm-diagrams" / "ponger"
    write(folder / "main.mermaid", "stateDiagram-v2\n  idle --> busy: ping\n")
    write(folder / "WORK.mermaid", "stateDiagram-v2\n  busy\n")
    metadata = {
        "format": 1,
        "name": "Ponger",
        "config": "ponger",
        "groups": [{"name": "WORK", "states": ["busy"]}, {"name": "../../etc", "states": []}],
    }
    write(folder / "metadata.json", json.dumps(metadata))
    server = ui_server()
    found = server.get("/api/diagrams/ponger")
    assert found == {
        "config": "ponger",
        "main": "stateDiagram-v2\n  idle --> busy: ping\n",
        "groups": {"WORK": "stateDiagram-v2\n  busy\n"},
        "metadata": metadata,
    }
    with server.http() as http:
        assert http.get("/api/diagrams/nothing_here").status_code == 404
        assert http.get("/api/diagrams/..%2f..%2fetc").status_code == 404
        assert http.get("/api/diagrams/.hidden").status_code == 404


async def test_diagrams_are_generated_from_a_running_machines_config(
    tmp_path: Path, statemachine: StartMachine, ui_server: StartServer
) -> None:
    configs = tmp_path / "elsewhere"
    configs.mkdir()
    server = ui_server("--project-root", str(configs))
    async with websockets.connect(server.ws_url) as client:
        await next_message(client)
        start_ponger(tmp_path, statemachine)
        await next_message(
            client,
            lambda m: m["kind"] == "machines" and any(x["group"] for x in m["machines"]),
        )
    drawn = server.get("/api/diagrams/ponger")
    assert drawn["config"] == "ponger"
    assert drawn["main"].startswith("stateDiagram-v2")
    assert set(drawn["groups"]) == {"REST", "WORK"}
    metadata = drawn["metadata"]
    assert metadata["format"] == 1
    assert metadata["initial_state"] == "idle"
    assert [s["name"] for s in metadata["states"]] == ["idle", "busy", "stopped"]
    assert {s["name"]: s["group"] for s in metadata["states"]}["busy"] == "WORK"


def test_diagrams_are_generated_from_a_config_under_the_project_root(
    tmp_path: Path, ui_server: StartServer
) -> None:
    write(tmp_path / "configs" / "nested" / "ponger.yaml", PONGER)
    server = ui_server()
    drawn = server.get("/api/diagrams/ponger")
    assert drawn["metadata"]["name"] == "Ponger"
    assert "busy" in drawn["main"]
    write(tmp_path / "broken.yaml", "initial_state: [\n")
    with server.http() as http:
        broken = http.get("/api/diagrams/broken")
    assert broken.status_code == 422
    assert "broken.yaml" in broken.json()["detail"]


@pytest.mark.parametrize("argv", [UI, STREAM], ids=["statemachine-ui", "stream-server"])
def test_sigterm_once_serving_stops_the_server_cleanly(tmp_path: Path, argv: list[str]) -> None:
    """A stop sent the moment the server says "serving" (what a script or the docs harness
    does) closes it cleanly: exit 0, the event socket file removed. It once raced: the
    signal came before uvicorn's handlers and killed the process."""
    create_store()  # the server never creates one
    for _ in range(3):  # the window was narrow: take it a few times
        with subprocess.Popen(
            [*argv, "--port", "0"],
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        ) as server:
            assert server.stderr is not None
            line = server.stderr.readline()  # read directly: stop it the moment it says so
            assert "serving http://" in line, line
            server.send_signal(signal.SIGTERM)
            rest = server.stderr.read()
            assert server.wait(timeout=15) == 0, line + rest
        assert not (socket_dir() / "events.sock").exists()
        assert "Traceback" not in rest


def test_a_machine_s_detail_says_when_older_transitions_are_left_out(
    ui_server: StartServer,
) -> None:
    async def record(steps: dict[str, int]) -> None:
        store = SqliteStore(os.environ["STATEMACHINE_DB"])
        try:
            for machine, count in steps.items():
                for n in range(count):
                    await store.save_transition(
                        machine,
                        from_state=None if n == 0 else "a",
                        to_state="a",
                        event="start" if n == 0 else "tick",
                        context={},
                        timers=(),
                    )
        finally:
            await store.close()

    asyncio.run(record({"long": 101, "short": 100}))
    server = ui_server()
    long, short = server.get("/api/machines/long"), server.get("/api/machines/short")
    assert (len(long["history"]), long["history_more"]) == (100, True)
    assert (len(short["history"]), short["history_more"]) == (100, False)
    assert long["history"][-1]["event"] == "tick"  # the oldest, the start, is left out
    assert short["history"][-1]["event"] == "start"
