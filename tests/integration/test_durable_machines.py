"""Durable machines: what a restart keeps, through the Python API and real processes.

A machine with a store commits each transition (state, context, timer deadlines, the
consumed event) and, once its state's entry actions have all run, marks them done. Started
again under the same name it resumes there: it re-runs the entry actions only when they
had not finished, its timers fire at their original deadlines, and events sent while it
was down wait for it. ``--fresh`` starts over; a machine that ended in a terminal state
starts over by itself.

Processes are watched through their stderr lines (read with deadlines) and FIFOs their
shell commands write to; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from statemachine_engine.database._sqlite import SqliteStore
from tests.support.engines import Machines
from tests.support.fifo import Fifo
from tests.support.files import write
from tests.support.processes import MachineProcess, moved, send
from tests.support.recorder import WAIT, Recorder

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="uses /bin/bash, signals and FIFOs"
)


# -- helpers -------------------------------------------------------------------------------


@pytest.fixture
def start(statemachine: Callable[..., MachineProcess], db: Path) -> Callable[..., MachineProcess]:
    """``start(config, name)`` runs ``statemachine config --machine-name name --db ...``."""

    def run(config: Path, name: str, *extra: str) -> MachineProcess:
        return statemachine(config, "--machine-name", name, "--db", db, *extra)

    return run


# -- configs ------------------------------------------------------------------------------

#: ``holding`` appends a line to a counter file each time its entry actions run and,
#: while the file has fewer than @BLOCK@ lines, reports its pid and blocks.
DURABLE = """
    name: Durable
    initial_state: setup
    transitions:
      - {from: setup, to: holding, event: ready}
      - {from: holding, to: finishing, event: go}
      - {from: finishing, to: completed, event: done}
      - {from: finishing, to: finishing, event: ping}
      - {from: "*", to: stopped, event: stop}
    actions:
      setup:
        - {type: set_context, key: secret, value: "s3cret-{machine_name}", success: ready}
      holding:
        - type: bash
          command: >-
            echo entered >> '@COUNTER@';
            if [ "$(wc -l < '@COUNTER@')" -lt @BLOCK@ ]; then echo $$ > '@FIFO@'; exec sleep 30; fi
        - {type: log, message: "holding with secret={secret}"}
      finishing:
        - {type: log, message: "finishing with secret={secret}", success: done}
    """


def durable_config(tmp_path: Path, *, block_first_visit: bool) -> tuple[Path, Path]:
    counter = tmp_path / "entered.txt"
    text = (
        DURABLE.replace("@COUNTER@", str(counter))
        .replace("@FIFO@", str(tmp_path / "pids.fifo"))
        .replace("@BLOCK@", "2" if block_first_visit else "0")
    )
    return write(tmp_path / "durable.yaml", text), counter


def entries(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def actions_done(proc: MachineProcess, name: str, state: str) -> None:
    """Wait until ``state``'s entry actions are done and recorded as such.

    A ``ping`` no transition from ``state`` takes is held while the actions run and dropped
    once they have finished, which is after the store has recorded that they did.
    """
    send(name, "ping")
    proc.expect(re.escape(f"[{name}] no transition from '{state}' on 'ping'; event dropped"))


# -- real processes -------------------------------------------------------------------------


def test_a_machine_killed_mid_actions_resumes_with_its_context_and_reruns_them(
    tmp_path: Path, start: Callable[..., MachineProcess], fifo: Fifo, shells: list[int]
) -> None:
    config, counter = durable_config(tmp_path, block_first_visit=True)

    first = start(config, "d")
    first.expect(moved("d", "setup", "ready", "holding"))
    shells.append(int(fifo.readline()))  # the bash action is blocked, mid-state
    first.kill()
    assert entries(counter) == 1

    second = start(config, "d")
    second.expect(re.escape("[d] resumed in 'holding' (re-running its actions)"))
    second.expect(re.escape("[d] holding with secret=s3cret-d"))  # context from before the kill
    assert entries(counter) == 2
    assert "--ready-->" not in second.stderr  # setup did not run again
    send("d", "stop")
    second.expect(moved("d", "holding", "stop", "stopped"))
    assert second.wait() == 0


def test_a_machine_killed_after_its_actions_finished_resumes_idle(
    tmp_path: Path, start: Callable[..., MachineProcess]
) -> None:
    config, counter = durable_config(tmp_path, block_first_visit=False)

    first = start(config, "d")
    first.expect(re.escape("[d] holding with secret=s3cret-d"))
    actions_done(first, "d", "holding")
    first.kill()

    second = start(config, "d")
    line = second.expect(re.escape("[d] resumed in 'holding'"))
    assert "re-running" not in line
    send("d", "go")
    second.expect(re.escape("[d] finishing with secret=s3cret-d"))
    assert second.wait() == 0  # completed: a terminal state
    assert entries(counter) == 1  # holding's actions ran once in all
    assert "holding with secret" not in second.stderr


@pytest.mark.parametrize("how", ["fresh-flag", "after-a-terminal-state"])
def test_a_machine_starts_over(
    tmp_path: Path, start: Callable[..., MachineProcess], how: str
) -> None:
    """``--fresh`` starts over; so does a machine whose last run ended in a terminal state."""
    config, counter = durable_config(tmp_path, block_first_visit=False)

    first = start(config, "d")
    first.expect(re.escape("[d] holding with secret=s3cret-d"))
    if how == "fresh-flag":
        assert first.stop() == 0
        second = start(config, "d", "--fresh")
    else:
        send("d", "go")
        first.expect(moved("d", "finishing", "done", "completed"))
        assert first.wait() == 0
        second = start(config, "d")

    second.expect(moved("d", None, "start", "setup"))
    second.expect(moved("d", "setup", "ready", "holding"))
    second.expect(re.escape("[d] holding with secret=s3cret-d"))
    assert "resumed" not in second.stderr
    assert entries(counter) == 2
    assert second.stop() == 0


TIMEOUT_CONFIG = """
    initial_state: waiting
    transitions:
      - {from: waiting, to: timed_out, event: timeout(3)}
      - {from: timed_out, to: completed, event: continue}
    actions:
      waiting:
        - {type: bash, command: "sleep 1"}
        - {type: log, message: "one second in"}
      timed_out:
        - {type: log, message: "timed out"}
    """


def test_a_timeout_deadline_survives_a_restart(
    tmp_path: Path, start: Callable[..., MachineProcess]
) -> None:
    config = write(tmp_path / "timeout.yaml", TIMEOUT_CONFIG)

    first = start(config, "t")
    first.expect(moved("t", None, "start", "waiting"))
    entered = time.monotonic()
    first.expect(re.escape("[t] one second in"))
    first.kill()

    restarted = time.monotonic()
    second = start(config, "t")
    second.expect(re.escape("[t] resumed in 'waiting'"))
    second.expect(moved("t", "waiting", "timeout(3)", "timed_out"))
    fired = time.monotonic()
    assert second.wait() == 0

    # The original deadline (3 s after entering `waiting`), not 3 s after the restart.
    assert 1.0 <= fired - restarted <= 2.9, (fired - restarted, second.stderr)
    assert fired - entered >= 2.8, fired - entered


IDLER = """
    initial_state: idle
    transitions:
      - {from: idle, to: busy, event: go}
      - {from: busy, to: idle, event: back}
      - {from: idle, to: idle, event: ping}
      - {from: "*", to: stopped, event: stop}
    actions:
      busy:
        - {type: log, message: "busy with {event_data.payload.file}"}
      idle:
        - {type: log, message: "idle after {last_event}"}
    """


async def test_control_socket_events_are_committed_and_consumed_exactly_once(
    tmp_path: Path, start: Callable[..., MachineProcess], store: SqliteStore
) -> None:
    config = write(tmp_path / "idler.yaml", IDLER)

    first = start(config, "i")
    first.expect(moved("i", None, "start", "idle"))
    send("i", "go", {"file": "x" * 10_000})
    first.expect(moved("i", "idle", "go", "busy"))
    first.expect(re.escape("[i] busy with " + "x" * 10_000))
    actions_done(first, "i", "busy")
    first.kill()

    [go] = [event for event in await store.list_events(target="i") if event.event_type == "go"]
    assert (go.event_type, go.status) == ("go", "processed")
    assert go.payload == {"file": "x" * 10_000}

    # An event for a machine that is down waits for it.
    back = await store.send_event("i", "back", source="test")

    second = start(config, "i")
    second.expect(re.escape("[i] resumed in 'busy'"))
    second.expect(moved("i", "busy", "back", "idle"))
    second.expect(re.escape("[i] idle after back"))
    send("i", "stop")
    assert second.wait() == 0

    history = await store.transition_history("i", limit=100)
    events = [record.event for record in reversed(history)]
    assert events.count("go") == 1
    assert events.count("back") == 1
    assert "busy with" not in second.stderr  # `go` was not taken a second time
    statuses = {event.id: event.status for event in await store.list_events(target="i")}
    assert statuses[go.id] == "processed"
    assert statuses[back] == "processed"


async def test_sigterm_leaves_the_machine_stopped_and_a_restart_resumes(
    tmp_path: Path, start: Callable[..., MachineProcess], store: SqliteStore
) -> None:
    config = write(tmp_path / "idler.yaml", IDLER)

    first = start(config, "i")
    first.expect(moved("i", None, "start", "idle"))
    send("i", "go", {"file": "a.txt"})
    first.expect(re.escape("[i] busy with a.txt"))
    assert first.stop() == 0

    record = await store.load_machine("i")
    assert record is not None
    assert (record.status, record.current_state) == ("stopped", "busy")
    assert record.context["event_data"]["payload"] == {"file": "a.txt"}

    second = start(config, "i")
    second.expect(re.escape("[i] resumed in 'busy'"))
    send("i", "back")
    second.expect(re.escape("[i] idle after back"))
    send("i", "stop")
    assert second.wait() == 0
    record = await store.load_machine("i")
    assert record is not None
    assert (record.status, record.current_state) == ("finished", "stopped")


# -- the Python API --------------------------------------------------------------------------


API_MACHINE = """
    initial_state: setup
    transitions:
      - {from: setup, to: holding, event: ready}
      - {from: holding, to: finishing, event: go}
      - {from: finishing, to: completed, event: done}
      - {from: holding, to: expired, event: timeout(1)}
    actions:
      setup:
        - {type: set_context, key: secret, value: "s3cret", success: ready}
      holding:
        - {type: log, message: "holding with {secret}"}
      finishing:
        - {type: log, message: "finishing with {secret}", success: done}
    """


@pytest.fixture
async def machines(store: SqliteStore) -> AsyncIterator[Machines]:
    """Engines of API_MACHINE's kind on the test's store, all named ``api``."""
    async with Machines(store=store, machine_name="api") as factory:
        yield factory


async def run_until_holding(machines: Machines, **kwargs: Any) -> Recorder:
    """Run an API_MACHINE until it holds (its entry log written), then stop it."""
    engine, recorder, _ = machines.start(API_MACHINE, **kwargs)
    await recorder.until(lambda: "holding with s3cret" in recorder.messages)
    await machines.stop(engine)
    return recorder


async def test_api_resume_keeps_state_context_and_waiting_events(
    store: SqliteStore, machines: Machines
) -> None:
    await run_until_holding(machines)
    record = await store.load_machine("api")
    assert record is not None
    assert (record.current_state, record.status) == ("holding", "stopped")

    await store.send_event("api", "go", {"why": "sent while it was down"})

    second, recorder = machines.build(API_MACHINE)
    assert await asyncio.wait_for(second.run(), WAIT) == "completed"
    assert recorder.changes == [
        (None, "holding", "resume"),
        ("holding", "finishing", "go"),
        ("finishing", "completed", "done"),
    ]
    assert recorder.messages == ["finishing with s3cret"]
    assert second.context["event_data"]["payload"] == {"why": "sent while it was down"}
    record = await store.load_machine("api")
    assert record is not None
    assert record.status == "finished"


async def test_api_fresh_starts_over(machines: Machines) -> None:
    await run_until_holding(machines)

    recorder = await run_until_holding(machines, fresh=True)
    assert recorder.changes == [(None, "setup", "start"), ("setup", "holding", "ready")]


async def test_api_timer_fires_at_its_original_deadline_after_a_restart(
    machines: Machines,
) -> None:
    first_recorder = await run_until_holding(machines)
    entered = first_recorder.times[-1]  # entered `holding`: timeout(1) armed

    second, recorder, _ = machines.start(API_MACHINE)
    try:
        await recorder.entered("expired")
    finally:
        await machines.stop(second)
    fired = recorder.times[-1]
    assert recorder.changes[-1] == ("holding", "expired", "timeout(1)")
    assert 0.95 <= fired - entered < 1.8, fired - entered
