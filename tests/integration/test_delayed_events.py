"""Delayed events: ``send_event`` with ``delay:`` or ``at:`` commits the event with its
due time; the receiver takes it then, not before, exactly once, whatever restarts happen
meanwhile.

The first tests run engines in the test's process; the last run real ``statemachine``
processes, killed (SIGKILL) before the event is due and started again before or after
its due time. Nothing sleeps to synchronise: tests wait for states and log lines; where
the subject is a time passing (a receiver started only after the due time), the test
waits for that time.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from statemachine_engine.database._sqlite import SqliteStore
from tests.support.engines import Machines
from tests.support.files import write
from tests.support.processes import MachineProcess, moved

RECEIVER = """
    name: receiver
    initial_state: waiting
    events: [remind, stop]
    transitions:
      - {from: waiting, to: reminded, event: remind}
      - {from: reminded, to: reminded, event: remind}
      - {from: "*", to: stopped, event: stop}
    actions:
      reminded:
        - {type: log, message: "reminded n={event_data.payload.n}"}
    """

SENDER = """
    name: sender
    initial_state: sending
    events: [stop]
    final: [failed]
    transitions:
      - {from: sending, to: sent, event: event_sent}
      - {from: sending, to: failed, event: error}
      - {from: "*", to: stopped, event: stop}
    actions:
      sending:
        - type: send_event
          target_machine: receiver
          event_type: remind
          payload: {n: 1}
          store_as: reminder_id
          @WHEN@
      sent:
        - {type: log, message: "sent reminder {reminder_id}"}
    """


def sender(when: str) -> str:
    return SENDER.replace("@WHEN@", when)


# -- in this process ---------------------------------------------------------------------


async def test_a_delayed_event_arrives_at_its_due_time_not_before(
    machines: Machines, store: SqliteStore
) -> None:
    receiver, seen, _ = machines.start(RECEIVER, store=store, machine_name="receiver")
    await seen.entered("waiting")
    sender_engine, sent, _ = machines.start(sender("delay: 0.5"), store=store)
    await sent.entered("sent")
    event_id = sender_engine.context["reminder_id"]
    [event] = [e for e in await store.list_events(target="receiver") if e.id == event_id]
    assert event.due_at is not None
    assert event.status == "pending"
    await receiver.pull_events()  # the wake-up a host gives (engines here have none)
    assert receiver.state == "waiting"  # not before its time
    await seen.entered("reminded")
    assert time.time() >= event.due_at
    assert seen.messages == ["reminded n=1"]
    [handled] = [e for e in await store.list_events(target="receiver") if e.id == event_id]
    assert handled.status == "processed"


async def test_ordinary_events_pass_a_delayed_one_waiting(
    machines: Machines, store: SqliteStore
) -> None:
    receiver, seen, _ = machines.start(RECEIVER, store=store, machine_name="receiver")
    await seen.entered("waiting")
    await store.send_event("receiver", "remind", {"n": 2}, due_at=time.time() + 3600)
    await receiver.deliver("remind", {"n": 1})
    await seen.entered("reminded")
    await receiver.deliver("stop")
    await seen.entered("stopped")
    assert seen.messages == ["reminded n=1"]
    assert [e.status for e in await store.delayed_events(target="receiver")] == ["pending"]


async def test_several_delayed_events_each_arrive_once_in_due_order(
    machines: Machines, store: SqliteStore
) -> None:
    receiver, seen, _ = machines.start(RECEIVER, store=store, machine_name="receiver")
    await seen.entered("waiting")
    now = time.time()
    for n, delay in ((3, 0.6), (1, 0.2), (2, 0.4)):
        await store.send_event("receiver", "remind", {"n": n}, due_at=now + delay)
    receiver.request_pull()  # the wake-up a sender gives
    await seen.until(lambda: len(seen.messages) == 3)
    await receiver.deliver("stop")
    await seen.entered("stopped")
    assert seen.messages == ["reminded n=1", "reminded n=2", "reminded n=3"]


async def test_a_backlog_of_overdue_and_upcoming_events_each_arrives_once(
    machines: Machines, store: SqliteStore
) -> None:
    """More overdue events than the receiver keeps track of between reads (they fell due
    while it was down), then some falling due while it runs: each is taken once."""
    now = time.time()
    for n in range(2500):
        await store.send_event("receiver", "remind", {"n": n}, due_at=now - 10)
    for n in range(2500, 2510):
        await store.send_event("receiver", "remind", {"n": n}, due_at=now + 0.5)
    receiver, seen, _ = machines.start(RECEIVER, store=store, machine_name="receiver")

    def taken() -> list[int]:
        return [event.payload["n"] for event in seen.events if event.name == "remind"]

    await seen.until(lambda: len(taken()) >= 2510, timeout=30)
    await receiver.deliver("stop")
    await seen.entered("stopped")
    assert taken() == list(range(2510))
    assert await store.delayed_events(target="receiver") == []


@pytest.mark.parametrize(
    "when",
    ['at: "2000-01-01T00:00:00+00:00"', "at: 2000-01-01T00:00:00+00:00"],  # (YAML's timestamp)
    ids=["text", "timestamp"],
)
async def test_a_past_time_delivers_at_once(
    machines: Machines, store: SqliteStore, when: str
) -> None:
    receiver, seen, _ = machines.start(RECEIVER, store=store, machine_name="receiver")
    await seen.entered("waiting")
    _, sent, _ = machines.start(sender(when), store=store)
    await sent.entered("sent")
    receiver.request_pull()  # the wake-up a host gives (engines here have none)
    await seen.entered("reminded")


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("delay: soon", "send_event: delay must be a duration"),
        ("at: tomorrow", "send_event: at must be an ISO 8601 time"),
        ("{delay: 5, at: '2030-01-01T00:00:00Z'}", "send_event: give delay or at, not both"),
    ],
)
async def test_a_bad_delay_or_time_is_an_action_error(
    machines: Machines, store: SqliteStore, when: str, message: str
) -> None:
    if when.startswith("{"):
        when = "delay: 5\n          at: '2030-01-01T00:00:00Z'"
    _, recorder, _ = machines.start(sender(when), store=store)
    await recorder.entered("failed")
    assert any(message in str(payload) for _, payload in recorder.others), recorder.others
    assert await store.list_events(target="receiver") == []


CANCELLER = """
    name: canceller
    initial_state: sending
    events: [remind]
    final: [done, failed]
    transitions:
      - {from: sending, to: cancelling, event: event_sent}
      - {from: cancelling, to: again, event: event_cancelled}
      - {from: again, to: done, event: not_cancelled}
      - {from: "*", to: failed, event: error}
      - {from: "*", to: failed, event: remind}
    actions:
      sending:
        - type: send_event
          target_machine: canceller
          event_type: remind
          delay: 60
          store_as: reminder_id
      cancelling:
        - {type: cancel_event, event_id: "{reminder_id}"}
      again:
        - {type: cancel_event, event_id: "{reminder_id}"}
    """


async def test_cancel_event_cancels_a_delayed_event_before_its_time(
    machines: Machines, store: SqliteStore
) -> None:
    engine, recorder = await machines.run(CANCELLER, store=store)
    assert recorder.states == ["sending", "cancelling", "again", "done"]
    [event] = await store.list_events(target="canceller")
    assert (event.id, event.status, event.reason) == (
        engine.context["reminder_id"],
        "dropped",
        "cancelled",
    )


async def test_cancelling_an_unknown_event_is_an_action_error(
    machines: Machines, store: SqliteStore
) -> None:
    text = CANCELLER.replace('"{reminder_id}"', "999")
    _, recorder = await machines.run(text, store=store)
    assert recorder.states == ["sending", "cancelling", "failed"]
    assert any("no event has id 999" in str(payload) for _, payload in recorder.others)


# -- real processes ----------------------------------------------------------------------

real = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses signals")


@pytest.fixture
def start(statemachine: Callable[..., MachineProcess], db: Path) -> Callable[..., MachineProcess]:
    """``start(config, name)`` runs ``statemachine config --machine-name name --db ...``."""

    def run(config: Path, name: str) -> MachineProcess:
        return statemachine(config, "--machine-name", name, "--db", db)

    return run


async def sent_and_killed(
    tmp_path: Path, start: Callable[..., MachineProcess], store: SqliteStore
) -> tuple[Path, float]:
    """A receiver runs; a sender sends it ``remind`` due in 4 s; both are killed before
    then. Returns the receiver's config and the event's due time."""
    receiver_config = write(tmp_path / "receiver.yaml", RECEIVER)
    sender_config = write(tmp_path / "sender.yaml", sender("delay: 4"))
    receiver = start(receiver_config, "receiver")
    receiver.expect(moved("receiver", None, "start", "waiting"))
    sending = start(sender_config, "sender")
    sending.expect(re.escape("[sender] sent reminder "))
    sending.kill()
    receiver.kill()
    [event] = await store.delayed_events(target="receiver")
    assert event.due_at is not None
    assert time.time() < event.due_at, "killed too late for the test to mean anything"
    # The sender, started again, resumes after its send: it does not send again.
    again = start(sender_config, "sender")
    again.expect(re.escape("[sender] resumed in 'sent'"))
    again.stop()
    return receiver_config, event.due_at


async def delivered_once(store: SqliteStore, receiver: MachineProcess, due_at: float) -> None:
    """The receiver takes ``remind``, not before ``due_at``, and once: one transition, the
    event processed."""
    receiver.expect(moved("receiver", "waiting", "remind", "reminded"))
    assert time.time() >= due_at  # never before its time
    await store.send_event("receiver", "stop")
    receiver.expect(moved("receiver", "reminded", "stop", "stopped"))
    assert receiver.wait() == 0
    assert receiver.count(r"--remind-->") == 1
    history = await store.transition_history("receiver", limit=None)
    assert [entry.event for entry in history].count("remind") == 1
    [event] = [e for e in await store.list_events(target="receiver") if e.event_type == "remind"]
    assert event.status == "processed"


@real
async def test_a_receiver_started_after_the_due_time_takes_the_event_at_once(
    tmp_path: Path, start: Callable[..., MachineProcess], store: SqliteStore
) -> None:
    receiver_config, due_at = await sent_and_killed(tmp_path, start, store)
    await asyncio.sleep(max(0.0, due_at - time.time()) + 0.2)  # the subject: time passes
    receiver = start(receiver_config, "receiver")
    receiver.expect(re.escape("[receiver] resumed in 'waiting'"))
    await delivered_once(store, receiver, due_at)


@real
async def test_a_receiver_started_before_the_due_time_takes_the_event_then(
    tmp_path: Path, start: Callable[..., MachineProcess], store: SqliteStore
) -> None:
    receiver_config, due_at = await sent_and_killed(tmp_path, start, store)
    receiver = start(receiver_config, "receiver")
    receiver.expect(re.escape("[receiver] resumed in 'waiting'"))
    assert time.time() < due_at
    await delivered_once(store, receiver, due_at)
