"""The server's pure parts: machine registry, client queues, datagrams, guard rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from statemachine_engine.database._names import REMOTE_DEAD_HEARTBEAT_SECONDS
from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.database.models.machine_state import (
    STALE_HEARTBEAT_SECONDS,
    MachineStateRecord,
)
from statemachine_engine.monitoring import _recent as recent
from statemachine_engine.monitoring import _stream as stream
from statemachine_engine.monitoring._fanout import ClientQueue, Hub
from statemachine_engine.monitoring._machines import MachineRegistry, template_of
from statemachine_engine.monitoring._security import Guard, host_name, same_origin
from statemachine_engine.monitoring._settings import is_loopback


def event(machine: str, kind: str, stamp: float, **payload: object) -> stream.Event:
    body = {**payload, "timestamp": stamp}
    return {"id": None, "machine_name": machine, "type": kind, "payload": body,
            "timestamp": stamp, "seq": None}  # fmt: skip


def groups(path: str | None, state: str) -> str | None:
    return {"idle": "REST", "busy": "WORK"}.get(state) if path else None


@pytest.mark.parametrize(
    ("name", "template"),
    [("worker_003", "worker"), ("worker-12", "worker"), ("worker", None), ("a_b_7", "a_b"),
     ("_1", None), ("v2", None)],
)  # fmt: skip
def test_template_names(name: str, template: str | None) -> None:
    assert template_of(name) == template


def test_events_drive_the_registry_and_newer_rows_win() -> None:
    registry = MachineRegistry(groups)
    registry.apply_event(event("w_1", "machine_registered", 10.0, config_type="w", pid=42))
    registry.apply_event(event("w_1", "state_change", 11.0, to_state="busy"))
    assert registry.get("w_1") == {
        "name": "w_1", "state": "busy", "status": "running", "config": "w", "config_name": None,
        "group": None, "template": "w", "pid": 42, "host": None, "last_activity": 11.0,
        "started_at": 10.0, "entered_at": 11.0, "dead_since": None, "stuck": False,
        "stuck_after": None, "stuck_rule": None,
    }  # fmt: skip
    assert registry.needs_record("w_1")
    # An older row does not undo the event; it brings the config file (and so the group).
    row = MachineStateRecord("w_1", "idle", config_path="/c/w.yaml", config_name="W", pid=42,
                             updated_at=10.5, heartbeat_at=10.5, started_at=10.0)  # fmt: skip
    registry.apply_records([(row, "running")], now=12.0)
    info = registry.get("w_1")
    assert info is not None
    assert (info["state"], info["group"], info["config_name"]) == ("busy", "WORK", "W")
    assert registry.config_path("w") == "/c/w.yaml"
    # A newer row wins; a process gone is dead even though its last event said live.
    registry.apply_records([(row._replace(current_state="idle", updated_at=12.0), "running")],
                           now=12.0)  # fmt: skip
    assert registry.get("w_1")["state"] == "idle"  # type: ignore[index]
    registry.apply_event(event("w_1", "state_change", 13.0, to_state="busy"))
    registry.apply_records([(row._replace(updated_at=12.0), "dead")], now=14.0)
    assert registry.get("w_1")["status"] == "dead"  # type: ignore[index]
    registry.apply_event(event("w_1", "machine_terminated", 15.0, final_state="stopped"))
    assert registry.get("w_1")["status"] == "finished"  # type: ignore[index]
    assert registry.get("w_1")["state"] == "stopped"  # type: ignore[index]


def test_a_silent_machine_turns_stale() -> None:
    registry = MachineRegistry(groups)
    registry.apply_event(event("m", "state_change", 100.0, to_state="idle"))
    row = MachineStateRecord("m", "idle", heartbeat_at=50.0, updated_at=50.0)
    # Its last event is recent: the store's silence is not yet the machine's.
    registry.apply_records([(row, "stale")], now=100.0 + STALE_HEARTBEAT_SECONDS - 1)
    assert registry.get("m")["status"] == "running"  # type: ignore[index]
    registry.apply_records([(row, "stale")], now=200.0)
    assert registry.get("m")["status"] == "stale"  # type: ignore[index]


def test_a_machine_on_another_host_is_dead_once_silent_past_its_limit() -> None:
    registry = MachineRegistry(groups)
    registry.apply_event(event("far", "state_change", 100.0, to_state="idle"))
    row = MachineStateRecord("far", "idle", host="far-host", heartbeat_at=90.0, updated_at=90.0)
    # Its heartbeat row is old, but an event came through the store a moment ago.
    registry.apply_records([(row, "dead")], now=100.0 + REMOTE_DEAD_HEARTBEAT_SECONDS - 1)
    assert registry.get("far")["status"] == "running"  # type: ignore[index]
    assert registry.get("far")["host"] == "far-host"  # type: ignore[index]
    registry.apply_records([(row, "dead")], now=100.0 + REMOTE_DEAD_HEARTBEAT_SECONDS + 1)
    assert registry.get("far")["status"] == "dead"  # type: ignore[index]
    assert registry.get("far")["dead_since"] == 100.0  # type: ignore[index]


async def test_a_full_queue_drops_its_oldest_and_counts_them() -> None:
    hub = Hub(queue_size=3)
    slow, fast = hub.subscribe(), hub.subscribe()
    hub.publish("1")
    assert await fast.take() == (0, ["1"])
    for text in "2345":
        hub.publish(text)
    assert await fast.take() == (1, ["3", "4", "5"])
    assert await slow.take() == (2, ["3", "4", "5"])
    hub.unsubscribe(slow)
    hub.publish("6")
    assert len(slow) == 0
    assert len(hub) == 1


async def test_a_queue_keeps_at_most_its_size() -> None:
    queue = ClientQueue(2)
    for text in "abc":
        queue.put(text)
    assert await queue.take() == (1, ["b", "c"])


@pytest.mark.parametrize(
    "data",
    [b"not json", b"[1]", b'{"type": "x"}', b'{"machine_name": "", "type": "x"}',
     b'{"machine_name": "m", "type": 3}',
     json.dumps({"machine_name": "m" * 300, "type": "x"}).encode()],
)  # fmt: skip
def test_datagrams_that_are_not_events_are_ignored(data: bytes) -> None:
    assert stream.from_datagram(data) is None


def test_a_datagram_becomes_an_event() -> None:
    data = json.dumps({"machine_name": "m", "type": "t", "payload": "oops", "seq": True})
    assert stream.from_datagram(data.encode(), now=5.0) == {
        "id": None, "machine_name": "m", "type": "t", "payload": {}, "timestamp": 5.0, "seq": None,
    }  # fmt: skip


async def test_the_newest_events_are_read_back_in_order(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "db.sqlite"))
    try:
        assert await recent.read_back(store, 10) == ([], True)
        await store.record_realtime_batch("m", [("t", {"n": n}) for n in range(1000)])
        back, complete = await recent.read_back(store, 3)
        assert [e["payload"]["n"] for e in back] == [997, 998, 999]
        assert back[-1]["id"] == 1000
        assert not complete
        back, complete = await recent.read_back(store, 5, upto=2)
        assert [e["id"] for e in back] == [1, 2]
        assert complete
    finally:
        await store.close()


async def test_a_machines_newest_events_are_found_among_many_others(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "db.sqlite"))
    try:
        # "rare" events: 30 early, then one every 500 events of a busy machine.
        await store.record_realtime_batch("rare", [("t", {"n": n}) for n in range(30)])
        for block in range(6):
            await store.record_realtime_batch("busy", [("t", {}) for _ in range(500)])
            await store.record_realtime_batch("rare", [("t", {"n": 30 + block})])
        rows, complete = await recent.newest(store, 10, machine="rare")
        assert [row.payload["n"] for row in rows] == list(range(26, 36))
        assert not complete
        rows, complete = await recent.newest(store, 100, machine="rare")
        assert [row.payload["n"] for row in rows] == list(range(36))
        assert complete
        rows, _ = await recent.newest(store, 700, machine="busy")
        assert len(rows) == 700
        assert all(row.machine_name == "busy" for row in rows)
        assert rows == sorted(rows)
        last = await store.last_realtime_id()
        assert rows[-1].id == last - 1
        rows, _ = await recent.newest(store, 3)
        assert [row.id for row in rows] == [last - 2, last - 1, last]
        assert await recent.newest(store, 5, machine="nobody") == ([], True)
    finally:
        await store.close()


def test_replayed_events_arriving_live_are_kept_once() -> None:
    buffer = recent.RecentEvents(10)
    first = event("m", "t", 1.0)
    buffer.replayed([first], complete=True, may_arrive_again=True)
    assert not buffer.add(dict(first))
    assert buffer.add(event("m", "t", 2.0))
    assert [e["timestamp"] for e in buffer.last(10)] == [1.0, 2.0]
    assert buffer.last(10, machine="other") == []


def test_the_buffer_knows_when_it_no_longer_holds_everything() -> None:
    buffer = recent.RecentEvents(3)
    buffer.replayed([event("m", "t", 1.0)], complete=True, may_arrive_again=False)
    assert buffer.add(event("m", "t", 1.0)), "a feed from the store never repeats"
    buffer.add(event("m", "t", 2.0))
    assert buffer.complete
    buffer.add(event("m", "t", 3.0))
    assert not buffer.complete
    assert [e["timestamp"] for e in buffer.last(5)] == [1.0, 2.0, 3.0]
    partial = recent.RecentEvents(3)
    partial.replayed([event("m", "t", 1.0)], complete=False, may_arrive_again=True)
    assert not partial.complete


def test_stored_and_remembered_events_merge_once_in_order() -> None:
    stored = [{**event("m", "t", float(n)), "id": n} for n in range(1, 5)]
    live = [event("m", "t", 3.0), event("m", "t", 4.0), event("m", "t", 5.0)]
    assert [e["timestamp"] for e in recent.merged(stored, live, 10)] == [1, 2, 3, 4, 5]
    assert [e["timestamp"] for e in recent.merged(stored, live, 2)] == [4, 5]
    assert recent.merged(stored, live, 0) == []


def test_origins_hosts_and_loopback() -> None:
    assert same_origin("http://127.0.0.1:3001", "127.0.0.1:3001")
    assert not same_origin("http://127.0.0.1:3002", "127.0.0.1:3001")
    assert not same_origin("null", "127.0.0.1:3001")
    assert same_origin("https://x.example", "127.0.0.1:3001", ["https://x.example"])
    assert host_name("[::1]:3001") == "::1"
    assert host_name("LocalHost:80") == "localhost"
    assert all(map(is_loopback, ["127.0.0.1", "::1", "[::1]", "localhost", "127.8.0.1"]))
    assert not any(map(is_loopback, ["0.0.0.0", "10.0.0.1", "evil.example", ""]))


def scope(
    path: str, *, kind: str = "http", method: str = "GET", **headers: str
) -> dict[str, object]:
    return {"type": kind, "path": path, "method": method, "query_string": b"",
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}  # fmt: skip


def test_guard_rules() -> None:
    async def app(scope: object, receive: object, send: object) -> None: ...

    guard = Guard(app, token="t", loopback=True)
    assert guard.refusal(scope("/", host="localhost:1")) is None
    assert guard.refusal(scope("/static/app/x.js", host="localhost:1")) is None
    assert guard.refusal(scope("/api/jobs", host="localhost:1"))[0] == 401  # type: ignore[index]
    assert guard.refusal(scope("/api/jobs", host="localhost:1", authorization="Bearer t")) is None
    assert guard.refusal(scope("/", host="evil.example:1"))[0] == 421  # type: ignore[index]
    ws = scope("/ws/events", kind="websocket", host="localhost:1", origin="http://localhost:1")
    assert guard.refusal(ws)[0] == 401  # type: ignore[index]
    post = scope("/api/x", method="POST", host="localhost:1", origin="http://o:1",
                 **{"x-statemachine-token": "t"})  # fmt: skip
    assert guard.refusal(post)[0] == 403  # type: ignore[index]
