"""Recorded realtime events stay within the settings' bounds: the process that records
them deletes the oldest beyond the bounds as it goes, and a malformed bound is refused
before a machine starts."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.messaging._realtime import PRUNE_EVERY_EVENTS, RealtimeStream
from statemachine_engine.settings import REALTIME_MAX_EVENTS_ENV, REALTIME_RETENTION_ENV
from tests.support.files import sql, write
from tests.support.processes import MachineProcess, moved, send
from tests.support.recorder import LogWatcher

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses signals")

CONFIG = """
name: Ticking
initial_state: waiting
events: [stop]
final: [done]
transitions:
  - {from: waiting, to: done, event: stop}
actions:
  waiting:
    - {type: log, message: "waiting for stop"}
"""


def recorded(db: Path) -> list[tuple[int, str]]:
    return [(row[0], row[1]) for row in sql(db, "SELECT id, machine_name FROM realtime_events")]


async def test_a_machine_deletes_the_oldest_events_beyond_the_bound(
    store: SqliteStore,
    db: Path,
    tmp_path: Path,
    statemachine: Callable[..., MachineProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await store.record_realtime_events([("earlier", "tick", {"n": n}) for n in range(200)])
    earlier = [event_id for event_id, _ in recorded(db)]
    monkeypatch.setenv(REALTIME_MAX_EVENTS_ENV, "50")
    config = write(tmp_path / "ticking.yaml", CONFIG)
    machine = statemachine(config, "--machine-name", "ticking", "--db", db)
    machine.expect("waiting for stop")
    send("ticking", "stop")
    machine.expect(moved("ticking", "waiting", "stop", "done"))
    assert machine.wait() == 0

    rows = recorded(db)
    left = [event_id for event_id, name in rows if name == "earlier"]
    its_own = [event_id for event_id, name in rows if name == "ticking"]
    assert its_own, "the machine's events are the newest: all kept"
    # Pruned once its first events were recorded: the newest 50 then, its own among them.
    assert 0 < len(left) < 50 <= len(left) + len(its_own)
    assert left == earlier[-len(left) :]


async def test_a_stream_deletes_as_it_records(store: SqliteStore, db: Path, tmp_path: Path) -> None:
    stream = RealtimeStream(tmp_path / "events.sock", store, keep=100)
    for n in range(3 * PRUNE_EVERY_EVENTS):
        stream.send("busy", n, "tick", {"n": n}, checked=True)
    await stream.close()
    ids = [event_id for event_id, _ in recorded(db)]
    # Pruned at its first batch and after every PRUNE_EVERY_EVENTS recorded since.
    assert len(ids) <= 100 + PRUNE_EVERY_EVENTS
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # the newest, none missing
    assert sql(db, "SELECT max(id) FROM realtime_events")[0][0] == 3 * PRUNE_EVERY_EVENTS


async def test_a_prune_the_store_refuses_is_logged_and_recording_goes_on(
    store: SqliteStore, db: Path, tmp_path: Path, log_watcher: LogWatcher
) -> None:
    sql(
        db,
        "CREATE TRIGGER no_delete BEFORE DELETE ON realtime_events "
        "BEGIN SELECT RAISE(ABORT, 'deletes refused'); END",
    )
    stream = RealtimeStream(tmp_path / "events.sock", store, keep=1)
    for n in range(3):
        stream.send("busy", n, "tick", {"n": n}, checked=True)
    await stream.close()
    assert len(recorded(db)) == 3
    warnings = [r.getMessage() for r in log_watcher.records if r.levelname == "WARNING"]
    assert any("could not delete old realtime events" in w for w in warnings), warnings
    stream = RealtimeStream(tmp_path / "events.sock", store, keep=1)
    stream.send("busy", 3, "tick", {"n": 3}, checked=True)  # a later batch still records
    await stream.close()
    assert len(recorded(db)) == 4


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        (REALTIME_RETENTION_ENV, "1d", "must be a number of seconds above 0, or off, got '1d'"),
        (REALTIME_MAX_EVENTS_ENV, "lots", "must be a whole number of events above 0, or off"),
    ],
)
def test_a_malformed_bound_is_refused_before_the_machine_starts(
    variable: str,
    value: str,
    says: str,
    db: Path,
    tmp_path: Path,
    statemachine: Callable[..., MachineProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(variable, value)
    config = write(tmp_path / "ticking.yaml", CONFIG)
    machine = statemachine(config, "--machine-name", "ticking", "--db", db)
    assert machine.wait() == 1
    assert f"statemachine: error: {variable} {says}" in machine.stderr
    assert "Traceback" not in machine.stderr
    assert "waiting for stop" not in machine.stderr
