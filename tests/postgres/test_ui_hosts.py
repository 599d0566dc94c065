"""One ``statemachine-ui`` sees, live, the machines of every host sharing its database.

Machines run on two "hosts" (their own working and socket directories, nothing shared
but the database URL); the server runs on a third. Its live stream follows the events
the machines record in PostgreSQL, so no Unix socket joins it to them.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import websockets

from statemachine_engine.database._postgres import PostgresStore
from tests.monitoring.conftest import UI, is_event, next_message
from tests.support.files import write
from tests.support.processes import moved

from .conftest import Host

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Unix processes")

SERVING = r"serving http://127\.0\.0\.1:(\d+)/ \((.*)\)"

PONGER = """
name: Ponger
initial_state: idle
transitions:
  - {from: idle, to: busy, event: ping}
  - {from: busy, to: idle, event: continue}
  - {from: "*", to: stopped, event: stop}
actions:
  busy:
    - {type: log, message: "pinged on {event_data.payload.host}"}
"""


def is_any_event(message: dict[str, Any]) -> bool:
    return message["kind"] == "event"


async def test_one_ui_sees_the_machines_of_two_hosts_live(
    tmp_path: Path, hosts: Callable[[str], Host], store: PostgresStore
) -> None:
    a, b, monitor_host = hosts("a"), hosts("b"), hosts("c")
    ui = monitor_host.run("--port", "0", argv=UI)
    found = re.search(SERVING, ui.expect(SERVING))
    assert found is not None
    assert found.group(2).startswith("events recorded in postgresql://"), found.group(2)
    port = int(found.group(1))
    ponger = write(tmp_path / "ponger.yaml", PONGER)

    # Unbatched: next_message keeps one message of a batch, and every one is counted here.
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/events") as client:
        snapshot = await next_message(client)
        assert snapshot["machines"] == []
        machines = {"alpha": a.run(ponger, "--machine-name", "alpha"),
                    "beta": b.run(ponger, "--machine-name", "beta")}  # fmt: skip
        for name, machine in machines.items():
            machine.expect(moved(name, None, "start", "idle"))
            await store.send_event(name, "ping", {"host": name}, source="test")
            machine.expect(moved(name, "busy", "continue", "idle"))
            await store.send_event(name, "stop", source="test")
            assert machine.wait(30.0) == 0
        seen: list[dict[str, Any]] = []
        ended: set[str] = set()
        while ended != set(machines):
            message = await next_message(client, is_any_event)
            seen.append(message["event"])
            if message["event"]["type"] == "machine_terminated":
                ended.add(message["event"]["machine_name"])

        # Each recorded event arrived once, in the order the database recorded them.
        recorded = await store.list_realtime(limit=100_000)
        assert [e["id"] for e in seen] == [row.id for row in recorded]
        for name in machines:
            mine = [e for e in seen if e["machine_name"] == name]
            assert mine[0]["type"] == "machine_registered"
            changes = [e["payload"]["to_state"] for e in mine if e["type"] == "state_change"]
            assert changes == ["idle", "busy", "idle", "stopped"]
            assert any(e["payload"].get("message") == f"pinged on {name}" for e in mine)

        # A client connecting now finds both machines where they ended.
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws/events") as late:
            late_snapshot = await next_message(late)
        assert {(m["name"], m["state"]) for m in late_snapshot["machines"]} == {
            ("alpha", "stopped"),
            ("beta", "stopped"),
        }
        assert [e["id"] for e in late_snapshot["events"]] == [row.id for row in recorded]
    assert not list((monitor_host.root / "s").glob("events.sock")), "no event socket is bound"


async def test_the_ui_keeps_following_after_its_connection_is_cut(
    tmp_path: Path, hosts: Callable[[str], Host], store: PostgresStore
) -> None:
    from tests.support.postgres import terminate_backends

    a, monitor_host = hosts("a"), hosts("c")
    ui = monitor_host.run("--port", "0", argv=UI)
    found = re.search(SERVING, ui.expect(SERVING))
    assert found is not None
    port = int(found.group(1))
    ponger = write(tmp_path / "ponger.yaml", PONGER)
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/events") as client:
        await next_message(client)
        machine = a.run(ponger, "--machine-name", "alpha")
        await next_message(client, is_event("state_change", to_state="idle"))
        assert terminate_backends(f"statemachine-engine[{ui.pid}]") >= 1
        await store.send_event("alpha", "ping", {"host": "a"}, source="test")
        await next_message(client, is_event("state_change", to_state="busy"), timeout=30)
        await store.send_event("alpha", "stop", source="test")
        await next_message(client, is_event("machine_terminated"), timeout=30)
        assert machine.wait(30.0) == 0
    assert ui.count("lost the connection to PostgreSQL") >= 1
