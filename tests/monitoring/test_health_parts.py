"""The pure parts behind "problems first": stuck machines, dead ones, unserved job types."""

from __future__ import annotations

import pytest

from statemachine_engine.database.models.machine_state import MachineStateRecord
from statemachine_engine.monitoring import _stream as stream
from statemachine_engine.monitoring._machines import MachineRegistry
from statemachine_engine.monitoring._metrics import MetricsSnapshot
from statemachine_engine.monitoring._queues import unserved
from statemachine_engine.monitoring._stuck import (
    STUCK_MIN_SECONDS,
    StayTimes,
    is_stuck,
    stuck_after,
    usual_seconds,
)


def event(machine: str, kind: str, stamp: float, **payload: object) -> stream.Event:
    body = {**payload, "timestamp": stamp}
    return {"id": None, "machine_name": machine, "type": kind, "payload": body,
            "timestamp": stamp, "seq": None}  # fmt: skip


def no_groups(path: str | None, state: str) -> str | None:
    return None


def test_the_usual_stay_is_the_90th_percentile_once_enough_were_seen() -> None:
    assert usual_seconds([1.0, 2.0, 3.0, 4.0]) is None
    assert usual_seconds([float(n) for n in range(1, 11)]) == 10.0
    assert usual_seconds([5.0, 1.0, 2.0, 3.0, 4.0, 100.0, 1.0, 1.0, 1.0, 1.0]) == 100.0
    assert usual_seconds([2.0] * 20) == 2.0


@pytest.mark.parametrize(
    ("in_state", "usual", "stuck"),
    [(10.0, None, False), (29.0, 1.0, False), (STUCK_MIN_SECONDS + 1, 1.0, True),
     (49.0, 10.0, False), (51.0, 10.0, True)],
)  # fmt: skip
def test_stuck_is_five_times_the_usual_stay_and_never_under_30_s(
    in_state: float, usual: float | None, stuck: bool
) -> None:
    assert is_stuck(in_state, usual) is stuck
    assert stuck_after(None) is None


def test_stays_are_kept_per_config_and_state_and_bounded() -> None:
    stays = StayTimes(kept=5)
    for seconds in (100.0, 1.0, 1.0, 1.0, 1.0, 1.0):
        stays.add("w", "busy", seconds)
    stays.add("w", "busy", -1.0)  # a clock step back says nothing
    assert stays.usual("w", "busy") == 1.0  # the 100 s stay fell out
    assert stays.usual("other", "busy") is None


def test_a_machine_in_a_state_much_longer_than_usual_is_stuck() -> None:
    registry = MachineRegistry(no_groups)
    registry.apply_event(event("w_1", "machine_registered", 0.0, config_type="w", pid=7))
    stamp = 0.0
    for _ in range(6):  # six stays of 2 s in busy
        registry.apply_event(event("w_1", "state_change", stamp, to_state="busy"))
        stamp += 2.0
        registry.apply_event(event("w_1", "state_change", stamp, to_state="idle"))
    registry.apply_event(event("w_1", "state_change", 100.0, to_state="busy"))
    info = registry.get("w_1", now=120.0)
    assert info is not None
    assert (info["stuck"], info["stuck_after"], info["entered_at"]) == (False, 30.0, 100.0)
    assert registry.get("w_1", now=131.0)["stuck"] is True  # type: ignore[index]
    # A dead machine is dead, not stuck; it says since when nothing was heard of it.
    row = MachineStateRecord("w_1", "busy", pid=7, updated_at=100.0, heartbeat_at=125.0)
    registry.apply_records([(row, "dead")], now=140.0)
    info = registry.get("w_1", now=140.0)
    assert info is not None
    assert (info["status"], info["stuck"], info["dead_since"]) == ("dead", False, 125.0)


def test_a_pid_comes_from_the_store_when_the_registration_was_not_replayed() -> None:
    # After a server restart only the newest events are read back: a busy machine's
    # registration (with its pid) is older than them, its last event newer than its row.
    registry = MachineRegistry(no_groups)
    registry.apply_event(event("w_1", "state_change", 50.0, to_state="busy"))
    row = MachineStateRecord("w_1", "busy", pid=4242, updated_at=49.0, heartbeat_at=40.0)
    registry.apply_records([(row, "running")], now=51.0)
    info = registry.get("w_1")
    assert info is not None
    assert (info["pid"], info["status"]) == (4242, "running")


def test_job_types_pending_with_no_consumer_are_unserved() -> None:
    snapshot = MetricsSnapshot()
    snapshot.jobs[("render", "pending")] = 15
    snapshot.jobs[("render", "completed")] = 3
    snapshot.jobs[("crawl", "pending")] = 4
    snapshot.jobs[("mail", "pending")] = 2
    snapshot.jobs[("old", "dead")] = 9
    snapshot.consumers[("crawl",)] = 3
    snapshot.consumers[("render",)] = 0
    assert unserved(snapshot) == [
        {"job_type": "render", "pending": 15, "consumers": 0},
        {"job_type": "mail", "pending": 2, "consumers": 0},
    ]
