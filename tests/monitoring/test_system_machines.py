"""``statemachine-ui --manifest``: the machines a system starts, running or not."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import websockets

from tests.support.files import write
from tests.support.processes import MachineProcess, moved, run_cli
from tests.support.system_configs import WAITER

from .conftest import UI, StartServer, next_message

MANIFEST = """
name: known
machines:
  controller: {config: waiter.yaml}
  worker: {config: waiter.yaml, instances: 2}
  task: {config: waiter.yaml, start: false}
"""


async def test_the_machines_a_manifest_starts_are_listed_when_not_running(
    tmp_path: Path, statemachine: Callable[..., MachineProcess], ui_server: StartServer
) -> None:
    write(tmp_path / "waiter.yaml", textwrap.dedent(WAITER))
    manifest = write(tmp_path / "statemachine-project.yaml", textwrap.dedent(MANIFEST))
    machine = statemachine(tmp_path / "waiter.yaml", "--machine-name", "controller")
    machine.expect(moved("controller", None, "start", "waiting"))
    server = ui_server("--manifest", manifest)

    machines = {m["name"]: m for m in server.get("/api/machines")}
    assert sorted(machines) == ["controller", "worker_001", "worker_002"]  # not task
    assert machines["controller"]["status"] == "running"
    assert machines["controller"]["expected"] is True
    assert machines["controller"]["restarts"] is None  # no supervisor runs the system
    worker = machines["worker_001"]
    assert worker["status"] == "not running"
    assert (worker["config"], worker["template"], worker["pid"]) == ("waiter", "worker", None)
    assert server.get("/api/machines/worker_002")["status"] == "not running"
    async with websockets.connect(server.ws_url) as client:
        snapshot = await next_message(client)
    shown = {m["name"]: m["status"] for m in snapshot["machines"]}
    assert shown == {
        "controller": "running",
        "worker_001": "not running",
        "worker_002": "not running",
    }


def test_a_manifest_with_a_mistake_is_an_error(tmp_path: Path) -> None:
    manifest = write(tmp_path / "statemachine-project.yaml", "machines: {a: {config: x.yaml}}\n")
    result = run_cli("--port", "0", "--manifest", str(manifest), cwd=tmp_path, argv=UI)
    assert result.returncode == 1
    assert "statemachine-project.yaml:1" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_machines_log_is_read_then_followed_and_nothing_else_is_served(
    tmp_path: Path, ui_server: StartServer
) -> None:
    write(tmp_path / "waiter.yaml", textwrap.dedent(WAITER))
    manifest = write(tmp_path / "statemachine-project.yaml", textwrap.dedent(MANIFEST))
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "worker.log").write_text("".join(f"line {n}\n" for n in range(1, 6)))
    (logs / "controller.log").symlink_to(tmp_path / "waiter.yaml")  # not a log of ours
    server = ui_server("--manifest", manifest)

    first = server.get("/api/machines/worker_002/log", params={"limit": "2"})
    assert (first["file"], first["lines"]) == ("worker.log", ["line 4", "line 5"])
    with (logs / "worker.log").open("a") as log:
        log.write("line 6\nhalf a li")
    later = server.get("/api/machines/worker_001/log", params={"cursor": first["cursor"]})
    assert later["lines"] == ["line 6"]  # a line is sent once it is whole
    # Rotated: the rest of the old file, then the new one from its start.
    with (logs / "worker.log").open("a") as log:
        log.write("ne\n")
    (logs / "worker.log").rename(logs / "worker.log.1")
    (logs / "worker.log").write_text("line 7\n")
    rotated = server.get("/api/machines/worker_001/log", params={"cursor": later["cursor"]})
    assert rotated["lines"] == ["half a line", "line 7"]
    idle = server.get("/api/machines/worker_001/log", params={"cursor": rotated["cursor"]})
    assert idle["lines"] == []

    with server.http() as http:
        assert http.get("/api/machines/controller/log").status_code == 404  # a symlink
        assert http.get("/api/machines/task/log").status_code == 404  # not started
        assert http.get("/api/machines/..%2Fwaiter/log").status_code == 404
        bad = http.get("/api/machines/worker_001/log", params={"cursor": "../etc"})
        assert bad.status_code == 400
        assert http.post("/api/machines/worker_001/log").status_code == 405


def test_without_a_manifest_there_are_no_logs(ui_server: StartServer) -> None:
    server = ui_server()
    with server.http() as http:
        answer = http.get("/api/machines/worker/log")
    assert answer.status_code == 404
    assert "--manifest" in answer.json()["detail"]
