"""``statemachine-db send-event --delay/--at``, ``list-events`` and ``machine-state``
showing due times, and ``cancel-event``: real processes against a real SQLite file."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from statemachine_engine.database._sqlite import SqliteStore
from tests.acceptance.test_db_cli import fails, ok, ok_json, run, with_store

HOUR = 3600.0


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store" / "delayed.db"


def send(db: Path, *args: str) -> dict[str, object]:
    sent: dict[str, object] = ok_json(
        "send-event", "--target", "worker", "--type", "remind", *args, db=db
    )
    return sent


def test_send_event_with_a_delay_stores_its_due_time(db: Path) -> None:
    before = time.time()
    sent = send(db, "--delay", "1h30m")
    assert isinstance(sent["due_at"], float)
    assert before + 5400 <= sent["due_at"] <= time.time() + 5400
    [event] = ok_json("list-events", "--target", "worker", db=db)
    assert (event["id"], event["status"]) == (sent["id"], "pending")
    assert event["due_at"] == pytest.approx(sent["due_at"])
    table = ok("list-events", db=db).splitlines()
    due = dt.datetime.fromtimestamp(float(event["due_at"])).strftime("%Y-%m-%d %H:%M:%S")
    assert due in table[-1]


def test_send_event_at_a_time(db: Path) -> None:
    sent = send(db, "--at", "2030-01-02T03:04:05+00:00")
    assert sent["due_at"] == dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC).timestamp()
    naive = send(db, "--at", "2030-01-02T03:04:05")  # local time
    assert naive["due_at"] == dt.datetime(2030, 1, 2, 3, 4, 5).timestamp()


def test_an_ordinary_event_has_no_due_time(db: Path) -> None:
    assert send(db)["due_at"] is None
    [event] = ok_json("list-events", db=db)
    assert event["due_at"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--delay", "soon"], "argument --delay: not a duration"),
        (["--delay", "-5"], "argument --delay: not a duration"),
        (["--at", "tomorrow"], "argument --at: not an ISO 8601 time"),
        (["--delay", "5", "--at", "2030-01-01T00:00:00Z"], "not allowed with argument"),
    ],
)
def test_bad_delays_and_times_are_usage_errors(db: Path, args: list[str], message: str) -> None:
    result = run("send-event", "--target", "w", "--type", "t", *args, db=db)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("statemachine-db send-event: error: ")
    assert message in result.stderr
    assert not db.exists()  # refused before the store was touched


def test_cancel_a_delayed_event(db: Path) -> None:
    event_id = str(send(db, "--delay", "2h")["id"])
    assert ok("cancel-event", event_id, db=db).strip() == (
        f"cancelled event {event_id} (remind to worker)"
    )
    [event] = ok_json("list-events", db=db)
    assert (event["status"], event["reason"]) == ("dropped", "cancelled")
    line = fails("cancel-event", event_id, db=db)
    assert line.endswith(f"event {event_id} cannot be cancelled: it is dropped already")


def test_what_cannot_be_cancelled_is_an_error(db: Path) -> None:
    ordinary = str(send(db)["id"])
    assert "not a delayed event" in fails("cancel-event", ordinary, db=db)
    assert "no event has id 99" in fails("cancel-event", "99", db=db)
    assert run("cancel-event", "x", db=db).returncode == 2
    [event] = ok_json("list-events", db=db)
    assert event["status"] == "pending"


def test_machine_state_shows_what_a_machine_waits_for(db: Path) -> None:
    now = time.time()

    async def seed(store: SqliteStore) -> int:
        await store.save_transition(
            "worker",
            from_state=None,
            to_state="idle",
            event="start",
            context={},
            timers=[("timeout(2h)", now + 2 * HOUR)],
        )
        return await store.send_event("worker", "remind", due_at=now + HOUR, source="cli")

    event_id = with_store(db, seed)
    [machine] = ok_json("machine-state", db=db)
    waits = machine["waiting_for"]
    assert [(w["kind"], w["event"], w["event_id"]) for w in waits] == [
        ("delayed_event", "remind", event_id),
        ("timeout", "timeout(2h)", None),
    ]
    assert waits[0]["due_at"] == pytest.approx(now + HOUR)
    [row] = ok("machine-state", db=db).splitlines()[2:]
    due = dt.datetime.fromtimestamp(now + HOUR).strftime("%Y-%m-%d %H:%M:%S")
    assert f"remind (event {event_id}) at {due} (+1)" in row
