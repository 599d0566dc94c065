"""Events between machines: committed to the target's inbox, then the target is woken.

Real `statemachine` processes share the test's SQLite file (``STATEMACHINE_DB``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from statemachine_engine.core._inbox import PULL_PAGE
from statemachine_engine.database._delivery import deliver
from statemachine_engine.database._sqlite import SqliteStore
from tests.support.files import sql, write
from tests.support.processes import MachineProcess, moved, run_cli

StartMachine = Callable[..., MachineProcess]
DB_CLI = [sys.executable, "-m", "statemachine_engine.database.cli"]

PINGER = """
initial_state: pinging
transitions:
  - {from: pinging, to: waiting, event: event_sent}
  - {from: waiting, to: completed, event: pong}
actions:
  pinging:
    - type: send_event
      target_machine: ponger
      event_type: ping
      payload: {n: "{n}", reply_to: "{machine_name}", nested: {words: [a, "{n}"]}}
  completed:
    - type: log
      message: >-
        pong {event_data.payload.n} {event_data.payload.nested.words.1}
        from {event_data.source}
"""

PONGER = """
initial_state: idle
transitions:
  - {from: idle, to: replying, event: ping}
  - {from: replying, to: idle, event: event_sent}
  - {from: "*", to: stopped, event: stop}
actions:
  replying:
    - type: send_event
      target_machine: "{event_data.payload.reply_to}"
      event_type: pong
      payload: "{event_data.payload}"
"""


def test_events_flow_both_ways_with_their_payloads(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    ponger = statemachine(write(tmp_path / "ponger.yaml", PONGER))
    ponger.expect(moved("ponger", None, "start", "idle"))
    pinger = statemachine(write(tmp_path / "pinger.yaml", PINGER), "--initial-context", '{"n": 7}')
    pinger.expect(r"\[pinger\] pong 7 7 from ponger")
    assert pinger.wait() == 0
    ponger.expect(moved("ponger", "replying", "event_sent", "idle"))
    # The whole payload was forwarded, types kept.
    rows = sql(_db(), "SELECT payload FROM machine_events WHERE event_type = 'pong'")
    assert rows == [('{"n":7,"reply_to":"pinger","nested":{"words":["a",7]}}',)]


def _db() -> str:
    """The store every process of the test shares (tests/conftest.py sets it)."""
    return os.environ["STATEMACHINE_DB"]


def test_an_event_sent_to_a_stopped_machine_waits_for_it(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    sent = run_cli("send-event", "--target", "ponger", "--type", "stop", cwd=tmp_path, argv=DB_CLI)
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.strip().isdigit()
    ponger = statemachine(write(tmp_path / "ponger.yaml", PONGER))
    ponger.expect(moved("ponger", "idle", "stop", "stopped"))
    assert ponger.wait() == 0
    assert sql(_db(), "SELECT status FROM machine_events") == [("processed",)]


COUNTER = """
initial_state: idle
transitions:
  - {from: idle, to: counting, event: tick}
  - {from: counting, to: idle, event: continue}
  - {from: "*", to: stopped, event: stop}
actions:
  counting:
    - type: log
      message: "tick {event_data.payload.i} {event_data.payload.blob|length}"
"""


async def test_a_1_mb_payload_arrives_intact(tmp_path: Path, statemachine: StartMachine) -> None:
    counter = statemachine(write(tmp_path / "counter.yaml", COUNTER))
    counter.expect(moved("counter", None, "start", "idle"))
    blob = "".join(chr(0x41 + i % 26) for i in range(1024 * 1024))
    store = SqliteStore(_db())
    try:
        await deliver(store, "counter", "tick", {"i": 1, "blob": blob}, source="test")
        counter.expect(rf"\[counter\] tick 1 {len(blob)}$")
        # (A stop sent at once would preempt the state's actions: stop means now.)
        await deliver(store, "counter", "stop", source="test")
    finally:
        await store.close()
    assert counter.wait() == 0
    [(payload_length,)] = sql(
        _db(), "SELECT length(payload) FROM machine_events WHERE event_type = 'tick'"
    )
    assert payload_length > len(blob)


async def test_a_burst_of_1000_events_is_handled_in_order_once(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    counter = statemachine(write(tmp_path / "counter.yaml", COUNTER))
    counter.expect(moved("counter", None, "start", "idle"))
    store = SqliteStore(_db())
    try:
        for i in range(1000):
            await deliver(store, "counter", "tick", {"i": i}, source="test")
        counter.expect(r"\[counter\] tick 999 ", timeout=60)
        await deliver(store, "counter", "stop", source="test")
    finally:
        await store.close()
    assert counter.wait() == 0
    ticks = [line.split()[-2] for line in counter.stderr_lines if "] tick " in line]
    assert ticks == [str(i) for i in range(1000)]
    assert sql(_db(), "SELECT count(*) FROM state_history WHERE event = 'tick'") == [(1000,)]
    assert sql(_db(), "SELECT DISTINCT status FROM machine_events") == [("processed",)]


async def test_more_events_than_one_read_waiting_for_a_machine_all_arrive_in_order(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    """A machine reads its inbox page by page: a backlog beyond one page is not stranded."""
    count = 2 * PULL_PAGE + 500
    store = SqliteStore(_db())
    try:
        for i in range(count):
            await store.send_event("counter", "tick", {"i": i}, source="test")
    finally:
        await store.close()
    counter = statemachine(write(tmp_path / "counter.yaml", COUNTER))
    counter.expect(rf"\[counter\] tick {count - 1} ", timeout=60)
    counter.stop()
    ticks = [line.split()[-2] for line in counter.stderr_lines if "] tick " in line]
    assert ticks == [str(i) for i in range(count)]


FETCHER = """
initial_state: waiting
transitions:
  - {from: waiting, to: waiting, event: no_events}
  - {from: waiting, to: working, event: task}
  - {from: working, to: waiting, event: continue}
  - {from: "*", to: stopped, event: stop}
actions:
  waiting:
    - type: check_events
      event_types: [task]
      wait: 30
  working:
    - type: log
      message: "task {event_data.payload.n}"
"""


def test_check_events_takes_waiting_events_in_order(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    for n in (1, 2):  # waiting before the machine starts
        run_cli(
            "send-event", "--target", "fetcher", "--type", "task", "--payload", f'{{"n": {n}}}',
            cwd=tmp_path, argv=DB_CLI,
        )  # fmt: skip
    fetcher = statemachine(write(tmp_path / "fetcher.yaml", FETCHER))
    fetcher.expect(r"\[fetcher\] task 1$")
    fetcher.expect(r"\[fetcher\] task 2$")
    # One sent while it waits wakes it at once (its wait is 30 s).
    run_cli(
        "send-event", "--target", "fetcher", "--type", "task", "--payload", '{"n": 3}',
        cwd=tmp_path, argv=DB_CLI,
    )  # fmt: skip
    fetcher.expect(r"\[fetcher\] task 3$", timeout=10)
    run_cli("send-event", "--target", "fetcher", "--type", "stop", cwd=tmp_path, argv=DB_CLI)
    fetcher.expect(moved("fetcher", "waiting", "stop", "stopped"))
    assert fetcher.wait() == 0
    assert sql(_db(), "SELECT DISTINCT status FROM machine_events") == [("processed",)]


def test_send_event_needs_a_target(tmp_path: Path, statemachine: StartMachine) -> None:
    machine = statemachine(
        write(
            tmp_path / "lost.yaml",
            """
            initial_state: sending
            final: [failed]
            transitions:
              - {from: sending, to: failed, event: error}
            actions:
              sending:
                - type: send_event
                  event_type: ping
              failed:
                - type: log
                  message: "failed: {last_error}"
            """,
        )
    )
    machine.expect(r"\[lost\] failed: send_event needs a 'target_machine'")
    assert machine.wait() == 0
