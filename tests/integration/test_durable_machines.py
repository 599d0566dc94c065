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
import contextlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from statemachine_engine.core.engine import StateMachineEngine
from statemachine_engine.core.event import Event
from statemachine_engine.core.loader import config_from_text
from statemachine_engine.database.sqlite import SqliteStore
from statemachine_engine.messaging.wakeup import WakeupListener

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="uses /bin/bash, signals and FIFOs"
)

_SCRIPT = Path(sys.executable).parent / "statemachine"
STATEMACHINE = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "statemachine_engine"]
DEADLINE = 15.0
WAIT = 5.0


# -- helpers: processes -----------------------------------------------------------------


class Proc:
    """One ``statemachine`` process; its stderr lines are kept and awaited with deadlines."""

    def __init__(self, args: Sequence[str | Path], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [*STATEMACHINE, *map(str, args)],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own group: killpg reaches it, our signals do not
        )
        self.lines: list[str] = []
        self._cursor = 0
        self._eof = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def expect(self, pattern: str, timeout: float = DEADLINE) -> str:
        """The next stderr line (after the last one matched) matching ``pattern``."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                while self._cursor < len(self.lines):
                    line = self.lines[self._cursor]
                    self._cursor += 1
                    if regex.search(line):
                        return line
                if self._eof:
                    pytest.fail(f"exited before a line matched {pattern!r}:\n{self.stderr}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f"no line matching {pattern!r} within {timeout}s:\n{self.stderr}")
                self._changed.wait(remaining)

    def wait(self, timeout: float = DEADLINE) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running after {timeout}s:\n{self.stderr}")
        self._thread.join(timeout)
        return code

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing of the machine runs afterwards."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        assert self.wait() == -signal.SIGKILL

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._thread.join(5)
        assert self.proc.stderr is not None
        self.proc.stderr.close()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Proc]]:
    """``start(config, name)`` runs ``statemachine config --machine-name name --db ...``."""
    started: list[Proc] = []
    db = tmp_path / "machines.db"

    def run(config: Path, name: str, *extra: str) -> Proc:
        proc = Proc([config, "--machine-name", name, "--db", db, *extra], cwd=tmp_path)
        started.append(proc)
        return proc

    try:
        yield run
    finally:
        for proc in started:
            proc.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """The store the processes of ``start`` share, opened by the test."""
    db = SqliteStore(tmp_path / "machines.db")
    try:
        yield db
    finally:
        await db.close()
        if WakeupListener._instance is not None:
            WakeupListener._instance.close()


def send(machine: str, event: str, payload: Any = None) -> None:
    """One control-socket datagram, as ``statemachine-db send-event`` would send it."""
    path = Path(os.environ["STATEMACHINE_SOCKET_DIR"]) / f"control-{machine}.sock"
    message = json.dumps({"type": event, "payload": payload or {}}).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(message, str(path))


def moved(machine: str, source: str | None, event: str, target: str) -> str:
    return re.escape(f"[{machine}] {source} --{event}--> {target}")


class Fifo:
    """A named pipe a shell command writes a line to; read with a deadline."""

    def __init__(self, path: Path) -> None:
        self.path = path
        os.mkfifo(path)
        self._fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)  # we count as a writer too
        self._buffer = b""

    def readline(self, timeout: float = DEADLINE) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            readable, _, _ = select.select([self._fd], [], [], max(0.0, remaining))
            if not readable:
                pytest.fail(f"nothing written to {self.path} within {timeout}s")
            with contextlib.suppress(BlockingIOError):
                self._buffer += os.read(self._fd, 4096)
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def close(self) -> None:
        os.close(self._fd)


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Fifo]:
    pipe = Fifo(tmp_path / "pids.fifo")
    try:
        yield pipe
    finally:
        pipe.close()


@pytest.fixture
def shells() -> Iterator[list[int]]:
    """Process groups of shell commands a test kills itself (their machine died first)."""
    groups: list[int] = []
    try:
        yield groups
    finally:
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)


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
        textwrap.dedent(DURABLE)
        .replace("@COUNTER@", str(counter))
        .replace("@FIFO@", str(tmp_path / "pids.fifo"))
        .replace("@BLOCK@", "2" if block_first_visit else "0")
    )
    path = tmp_path / "durable.yaml"
    path.write_text(text)
    return path, counter


def entries(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def actions_done(proc: Proc, name: str, state: str) -> None:
    """Wait until ``state``'s entry actions are done and recorded as such.

    A ``ping`` no transition from ``state`` takes is held while the actions run and dropped
    once they have finished, which is after the store has recorded that they did.
    """
    send(name, "ping")
    proc.expect(re.escape(f"[{name}] no transition from '{state}' on 'ping'; event dropped"))


# -- real processes -------------------------------------------------------------------------


def test_a_machine_killed_mid_actions_resumes_with_its_context_and_reruns_them(
    tmp_path: Path, start: Callable[..., Proc], fifo: Fifo, shells: list[int]
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
    tmp_path: Path, start: Callable[..., Proc]
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


def test_fresh_starts_over(tmp_path: Path, start: Callable[..., Proc]) -> None:
    config, counter = durable_config(tmp_path, block_first_visit=False)

    first = start(config, "d")
    first.expect(re.escape("[d] holding with secret=s3cret-d"))
    first.proc.terminate()
    assert first.wait() == 0

    second = start(config, "d", "--fresh")
    second.expect(moved("d", None, "start", "setup"))
    second.expect(moved("d", "setup", "ready", "holding"))
    second.expect(re.escape("[d] holding with secret=s3cret-d"))
    assert "resumed" not in second.stderr
    assert entries(counter) == 2
    second.proc.terminate()
    assert second.wait() == 0


def test_a_machine_that_ended_in_a_terminal_state_starts_fresh(
    tmp_path: Path, start: Callable[..., Proc]
) -> None:
    config, counter = durable_config(tmp_path, block_first_visit=False)

    first = start(config, "d")
    first.expect(re.escape("[d] holding with secret=s3cret-d"))
    send("d", "go")
    first.expect(moved("d", "finishing", "done", "completed"))
    assert first.wait() == 0

    second = start(config, "d")
    second.expect(moved("d", None, "start", "setup"))
    second.expect(re.escape("[d] holding with secret=s3cret-d"))
    assert "resumed" not in second.stderr
    assert entries(counter) == 2
    second.proc.terminate()
    assert second.wait() == 0


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


def test_a_timeout_deadline_survives_a_restart(tmp_path: Path, start: Callable[..., Proc]) -> None:
    config = tmp_path / "timeout.yaml"
    config.write_text(textwrap.dedent(TIMEOUT_CONFIG))

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
    tmp_path: Path, start: Callable[..., Proc], store: SqliteStore
) -> None:
    config = tmp_path / "idler.yaml"
    config.write_text(textwrap.dedent(IDLER))

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
    tmp_path: Path, start: Callable[..., Proc], store: SqliteStore
) -> None:
    config = tmp_path / "idler.yaml"
    config.write_text(textwrap.dedent(IDLER))

    first = start(config, "i")
    first.expect(moved("i", None, "start", "idle"))
    send("i", "go", {"file": "a.txt"})
    first.expect(re.escape("[i] busy with a.txt"))
    first.proc.terminate()
    assert first.wait() == 0

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


class Recorder:
    """Observer of one in-process machine."""

    def __init__(self) -> None:
        self.changes: list[tuple[str | None, str, str]] = []
        self.times: list[float] = []
        self.messages: list[str] = []
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []

    def state_changed(
        self, machine: StateMachineEngine, from_state: str | None, to_state: str, event: Event
    ) -> None:
        self.changes.append((from_state, to_state, event.name))
        self.times.append(time.monotonic())
        self._wake()

    def activity(self, machine: StateMachineEngine, message: str, level: str) -> None:
        self.messages.append(message)
        self._wake()

    def finished(self, machine: StateMachineEngine, reason: str) -> None:
        self._wake()

    async def until(self, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
        if predicate():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        try:
            await asyncio.wait_for(future, timeout)
        finally:
            self._waiters = [(p, f) for p, f in self._waiters if f is not future]

    async def entered(self, state: str) -> None:
        await self.until(lambda: any(to == state for _, to, _ in self.changes))

    def _wake(self) -> None:
        for predicate, future in self._waiters:
            if not future.done() and predicate():
                future.set_result(None)


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


def api_engine(store: SqliteStore, **kwargs: Any) -> tuple[StateMachineEngine, Recorder]:
    recorder = Recorder()
    engine = StateMachineEngine(
        config_from_text(textwrap.dedent(API_MACHINE)),
        machine_name="api",
        store=store,
        observers=[recorder],
        **kwargs,
    )
    return engine, recorder


async def run_until(
    engine: StateMachineEngine, recorder: Recorder, predicate: Callable[[], bool]
) -> None:
    """Run ``engine`` until ``predicate`` holds, then stop it."""
    task = asyncio.create_task(engine.run())
    try:
        await recorder.until(predicate)
    finally:
        engine.request_stop()
        await asyncio.wait_for(task, WAIT)


async def test_api_resume_keeps_state_context_and_waiting_events(store: SqliteStore) -> None:
    first, first_recorder = api_engine(store)
    await run_until(first, first_recorder, lambda: "holding with s3cret" in first_recorder.messages)
    record = await store.load_machine("api")
    assert record is not None
    assert (record.current_state, record.status) == ("holding", "stopped")

    await store.send_event("api", "go", {"why": "sent while it was down"})

    second, recorder = api_engine(store)
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


async def test_api_fresh_starts_over(store: SqliteStore) -> None:
    first, first_recorder = api_engine(store)
    await run_until(first, first_recorder, lambda: "holding with s3cret" in first_recorder.messages)

    second, recorder = api_engine(store, fresh=True)
    await run_until(second, recorder, lambda: "holding with s3cret" in recorder.messages)
    assert recorder.changes == [(None, "setup", "start"), ("setup", "holding", "ready")]


async def test_api_timer_fires_at_its_original_deadline_after_a_restart(
    store: SqliteStore,
) -> None:
    first, first_recorder = api_engine(store)
    await run_until(first, first_recorder, lambda: "holding with s3cret" in first_recorder.messages)
    entered = first_recorder.times[-1]  # entered `holding`: timeout(1) armed

    second, recorder = api_engine(store)
    task = asyncio.create_task(second.run())
    try:
        await recorder.entered("expired")
    finally:
        second.request_stop()
        await asyncio.wait_for(task, WAIT)
    fired = recorder.times[-1]
    assert recorder.changes[-1] == ("holding", "expired", "timeout(1)")
    assert 0.95 <= fired - entered < 1.8, fired - entered
