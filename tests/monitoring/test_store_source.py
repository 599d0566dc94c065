"""The server's events from the store (SQLite here; PostgreSQL in tests/postgres):
history beyond the in-memory window, the fallback when another listener holds the event
socket, and ``--no-websocket``."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import websockets

from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.monitoring._settings import RECENT_EVENTS
from tests.conftest import EXAMPLES
from tests.support.files import write
from tests.support.processes import MachineProcess, moved, run_cli, send, wait_until

from .conftest import StartServer, is_event, next_message
from .test_server import start_ponger

StartMachine = Callable[..., MachineProcess]
EVENTS = [sys.executable, "-m", "statemachine_engine.tools.events"]

#: Moves between a and b by itself, one activity line per state, until stopped.
SPINNER = """
name: Spinner
initial_state: a
transitions:
  - {from: a, to: b, event: continue}
  - {from: b, to: a, event: continue}
  - {from: "*", to: stopped, event: stop}
actions:
  a:
    - {type: log, message: tick}
  b:
    - {type: log, message: tock}
"""


async def recorded(machine: str | None = None) -> list[int]:
    """The ids of every event the test's store recorded (of ``machine``)."""
    import os

    store = SqliteStore(os.environ["STATEMACHINE_DB"])
    try:
        rows = await store.list_realtime(machine=machine, limit=1_000_000)
    finally:
        await store.close()
    return [row.id for row in rows]


async def test_events_beyond_the_in_memory_window_come_from_the_store(
    tmp_path: Path, statemachine: StartMachine, ui_server: StartServer
) -> None:
    assert run_cli(EXAMPLES / "hello" / "hello.yaml", cwd=tmp_path).returncode == 0
    hello_ids = await recorded("hello")
    spinner = statemachine(write(tmp_path / "spinner.yaml", SPINNER))
    wait_until(
        lambda: spinner.count(moved("spinner", "a", "continue", "b")) >= RECENT_EVENTS,
        timeout=60,
        what=f"{RECENT_EVENTS} rounds of the spinner",
    )
    send("spinner", "stop")
    assert spinner.wait() == 0
    everything = await recorded()
    assert len(everything) > RECENT_EVENTS + 2000

    server = ui_server()
    in_memory = server.get("/api/events", params={"limit": RECENT_EVENTS})
    assert {e["machine_name"] for e in in_memory} == {"spinner"}, "the window is the newest"
    hello = server.get("/api/events", params={"machine": "hello", "limit": 1000})
    assert [e["id"] for e in hello] == hello_ids
    assert hello[0]["type"] == "machine_registered"
    assert hello[-1]["type"] == "machine_terminated"
    wide = server.get("/api/events", params={"limit": RECENT_EVENTS + 1500})
    assert [e["id"] for e in wide] == everything[-(RECENT_EVENTS + 1500) :]
    first = server.get("/api/events", params={"after_id": 0, "limit": 3})
    assert [e["id"] for e in first] == everything[:3]

    # Events received live (no id yet) and their recorded rows are listed once.
    async with websockets.connect(server.ws_url) as client:
        await next_message(client)
        assert run_cli(EXAMPLES / "hello" / "hello.yaml", cwd=tmp_path).returncode == 0
        await next_message(client, is_event("machine_terminated"))
    both_runs = server.get("/api/events", params={"machine": "hello", "limit": 1000})
    kinds = Counter(e["type"] for e in both_runs)
    assert kinds["machine_registered"] == kinds["machine_terminated"] == 2
    assert len(both_runs) == 2 * len(hello_ids)


async def test_with_the_event_socket_taken_the_server_follows_the_store(
    tmp_path: Path, statemachine: StartMachine, ui_server: StartServer
) -> None:
    tail = statemachine("--format", "json", argv=EVENTS)
    tail.expect("listening on")
    server = ui_server()
    assert server.process.count("following the events machines record in the store") == 1
    assert server.get("/api/config")["source"] == "store"
    async with websockets.connect(server.ws_url) as client:
        await next_message(client)
        machine = start_ponger(tmp_path, statemachine)
        send("ponger", "ping", {"note": "via the store"})
        machine.expect(moved("ponger", "busy", "continue", "idle"))
        send("ponger", "stop")
        assert machine.wait() == 0
        seen = [await next_message(client, is_event("machine_registered"))]
        seen.append(await next_message(client, lambda m: m["kind"] == "event"))
        while seen[-1]["event"]["type"] != "machine_terminated":
            seen.append(await next_message(client, lambda m: m["kind"] == "event"))
    ids = [message["event"]["id"] for message in seen]
    assert ids == await recorded("ponger"), "every recorded event, in order, once"
    assert any(m["event"]["payload"].get("message") == "pinged with via the store" for m in seen)
    # The listener that held the socket got the same events.
    wait_until(
        lambda: any('"machine_terminated"' in line for line in tail.stdout_lines),
        timeout=15,
        what="statemachine-events on the event socket printing the machine's end",
    )


async def test_without_websocket_the_api_serves_what_the_page_polls(
    tmp_path: Path, statemachine: StartMachine, ui_server: StartServer
) -> None:
    server = ui_server("--no-websocket")
    assert "the page polls" in server.process.stderr
    config = server.get("/api/config")
    assert (config["websocket"], config["source"]) == (False, "store")
    refused = False
    try:
        async with websockets.connect(server.ws_url):
            pass
    except websockets.InvalidStatus as exc:
        refused = exc.response.status_code == 403
    assert refused, "no /ws/events stream"
    # The event socket stays free for another listener.
    tail = statemachine("--format", "json", argv=EVENTS)
    tail.expect("listening on")

    machine = start_ponger(tmp_path, statemachine)
    send("ponger", "ping", {"note": "polled"})
    machine.expect(moved("ponger", "busy", "continue", "idle"))
    wait_until(
        lambda: len(server.get("/api/events", params={"machine": "ponger"})) >= 5,
        timeout=15,
        what="the server following the recorded events",
    )
    events = server.get("/api/events", params={"machine": "ponger"})
    assert all(isinstance(e["id"], int) for e in events)
    cursor = events[-1]["id"]
    assert server.get("/api/events", params={"after_id": cursor}) == []
    send("ponger", "stop")
    assert machine.wait() == 0
    later = server.get("/api/events", params={"after_id": cursor})
    assert [e["type"] for e in later][-1] == "machine_terminated"
    assert all(e["id"] > cursor for e in later)
    (ponger,) = server.get("/api/machines")
    assert (ponger["state"], ponger["status"]) == ("stopped", "finished")
    with server.http() as http:
        assert http.get("/api/events", params={"after_id": "-1"}).status_code == 400
