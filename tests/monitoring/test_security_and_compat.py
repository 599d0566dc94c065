"""Who may connect, slow clients, and the compatible entry points."""

from __future__ import annotations

import json
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import websockets

from tests.support.processes import (
    MachineProcess,
    moved,
    run_cli,
    send,
    socket_dir,
    wait_until,
)

from .conftest import STREAM, UI, StartServer, is_event, next_message
from .test_server import start_ponger

StartMachine = Callable[..., MachineProcess]
EVENTS = [sys.executable, "-m", "statemachine_engine.tools.events"]


async def test_the_websocket_refuses_cross_site_origins(ui_server: StartServer) -> None:
    server = ui_server()
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(server.ws_url, origin="http://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    own = f"http://127.0.0.1:{server.port}"
    async with websockets.connect(server.ws_url, origin=own) as client:  # type: ignore[arg-type]
        assert (await next_message(client))["kind"] == "snapshot"
    async with websockets.connect(server.ws_url) as client:  # no Origin: not a browser
        assert (await next_message(client))["kind"] == "snapshot"


async def test_an_allowed_origin_may_connect(ui_server: StartServer) -> None:
    server = ui_server("--allow-origin", "http://dashboard.local:8080")
    origin = "http://dashboard.local:8080"
    async with websockets.connect(server.ws_url, origin=origin) as client:  # type: ignore[arg-type]
        assert (await next_message(client))["kind"] == "snapshot"


async def test_a_token_guards_the_api_and_the_stream_but_not_the_page_assets(
    ui_server: StartServer,
) -> None:
    server = ui_server("--token", "s3cret")
    with server.http() as http:
        assert http.get("/api/machines").status_code == 401
        assert (
            http.get("/api/machines", headers={"x-statemachine-token": "wrong"}).status_code == 401
        )
        assert http.get("/api/machines", headers={"x-statemachine-token": "s3cret"}).json() == []
        assert http.get("/api/machines", headers={"authorization": "Bearer s3cret"}).json() == []
        assert http.get("/api/machines?token=s3cret").status_code == 200
        assert http.get("/health").status_code == 401
        assert http.get("/static/vendor/mermaid.VERSION").status_code == 200
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(server.ws_url):
            pass
    assert refused.value.response.status_code == 403
    async with websockets.connect(server.ws_url + "?token=s3cret") as client:
        assert (await next_message(client))["kind"] == "snapshot"


def test_requests_for_other_host_names_are_refused(ui_server: StartServer) -> None:
    """DNS rebinding: a page of evil.example resolving to 127.0.0.1 gets nothing."""
    server = ui_server()
    with server.http() as http:
        response = http.get("/api/machines", headers={"host": f"evil.example:{server.port}"})
        assert response.status_code == 421
        assert http.get("/api/machines", headers={"host": f"localhost:{server.port}"}).json() == []


def test_listening_beyond_loopback_without_a_token_warns_loudly(ui_server: StartServer) -> None:
    server = ui_server("--host", "0.0.0.0")
    assert "WITHOUT A TOKEN" in server.process.stderr
    assert httpx.get(f"http://127.0.0.1:{server.port}/health", timeout=15).status_code == 200


def test_a_busy_event_socket_means_following_the_store_and_a_busy_port_an_error(
    tmp_path: Path, ui_server: StartServer
) -> None:
    server = ui_server()
    assert server.get("/api/config")["source"] == "socket"
    second = ui_server()
    assert second.process.count("is held by another listener; following the events") == 1
    assert second.get("/api/config")["source"] == "store"
    other_socket = str(tmp_path / "other.sock")
    busy = run_cli(
        "--port", str(server.port), "--event-socket-path", other_socket, cwd=tmp_path, argv=UI
    )
    assert busy.returncode == 1
    assert busy.stderr.startswith(
        f"statemachine-ui: error: cannot listen on 127.0.0.1:{server.port}"
    )
    assert not Path(other_socket).exists()
    bad = run_cli("--port", "70000", cwd=tmp_path, argv=UI)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr


async def test_a_client_that_does_not_read_loses_its_oldest_messages_not_the_others_time(
    ui_server: StartServer,
) -> None:
    server = ui_server("--client-queue-size", "20")
    total, blob = 400, "x" * 60_000  # far more than the kernel buffers hold
    async with (
        websockets.connect(server.ws_url, max_queue=1, max_size=None) as stalled,
        websockets.connect(server.ws_url, max_size=None) as reader,
    ):
        await next_message(stalled)
        await next_message(reader)
        machines = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        for seq in range(1, total + 1):
            message = {"machine_name": "flood", "type": "activity_log", "seq": seq,
                       "payload": {"message": blob, "level": "info", "n": seq}}  # fmt: skip
            machines.sendto(json.dumps(message).encode(), str(socket_dir() / "events.sock"))
            # The reader keeps up: every event reaches it, in order, while the other stalls.
            got = await next_message(reader, is_event("activity_log"))
            assert got["event"]["payload"]["n"] == seq
        machines.close()
        dropped = await next_message(stalled, lambda m: m["kind"] == "dropped")
        assert dropped["count"] > 0
        rest = []
        while not rest or rest[-1] != total:
            message = await next_message(stalled, is_event("activity_log"))
            rest.append(message["event"]["payload"]["n"])
        assert rest == sorted(rest)
        assert len(rest) <= 20


async def test_the_compatible_stream_server_and_statemachine_events_read_it(
    tmp_path: Path, statemachine: StartMachine, ui_server: StartServer
) -> None:
    server = ui_server(argv=STREAM)
    assert server.get("/health")["status"] == "ok"
    with server.http() as http:
        assert http.get("/api/machines").status_code == 404
    events = statemachine("--websocket", server.ws_url, "--format", "json", argv=EVENTS)
    events.expect("reading ws://")
    machine = start_ponger(tmp_path, statemachine)
    send("ponger", "ping", {"note": "compat"})
    machine.expect(moved("ponger", "busy", "continue", "idle"))
    async with websockets.connect(server.ws_url) as client:
        snapshot = await next_message(client)
    assert snapshot["machines"][0]["name"] == "ponger"
    send("ponger", "stop")
    assert machine.wait() == 0
    wait_until(
        lambda: any('"machine_terminated"' in line for line in events.stdout_lines),
        15,
        "statemachine-events printing the machine's end",
    )
    printed = [json.loads(line) for line in events.stdout_lines if line.startswith("{")]
    assert [e["type"] for e in printed][:2] == ["machine_registered", "state_change"]
    assert any(e["payload"].get("message") == "pinged with compat" for e in printed)
    events.proc.send_signal(signal.SIGTERM)  # a requested stop, even mid-read: exit 0
    assert events.wait() == 0, events.stderr
    assert "Traceback" not in events.stderr


def test_statemachine_events_points_at_the_websocket_when_the_server_holds_the_socket(
    tmp_path: Path, ui_server: StartServer
) -> None:
    ui_server()
    result = run_cli("--duration", "0", cwd=tmp_path, argv=EVENTS)
    assert result.returncode == 1
    assert "--websocket ws://" in result.stderr


@pytest.mark.parametrize("argv", [UI, STREAM], ids=["statemachine-ui", "websocket_server"])
def test_help(tmp_path: Path, argv: list[str]) -> None:
    result = run_cli("--help", cwd=tmp_path, argv=argv)
    assert result.returncode == 0
    assert "--event-socket-path" in result.stdout
    assert "--token" in result.stdout
