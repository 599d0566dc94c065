"""The async runtime: a machine built from YAML text, real actions, real subprocesses.

Every wait here is on something the engine does (an observer callback, a structured
log record, a FIFO the shell writes to, a pidfd), never a sleep.
"""

from __future__ import annotations

import asyncio
import logging
import os
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from statemachine_engine.core.action_loader import ActionLoader
from statemachine_engine.core.engine import StateMachineEngine
from statemachine_engine.core.event import Event
from statemachine_engine.core.loader import config_from_text

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 10.0
WAIT_TIMEOUT = 5.0


# -- helpers ------------------------------------------------------------------


class Recorder:
    """An observer that records what a machine does and lets a test await it."""

    def __init__(self) -> None:
        self.changes: list[tuple[str | None, str, str]] = []
        self.times: list[float] = []
        self.events: list[Event] = []
        self.activities: list[tuple[str, str]] = []
        self.finished_reasons: list[str] = []
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []

    # MachineObserver
    def state_changed(
        self, machine: StateMachineEngine, from_state: str | None, to_state: str, event: Event
    ) -> None:
        self.changes.append((from_state, to_state, event.name))
        self.times.append(asyncio.get_running_loop().time())
        self.events.append(event)
        self._wake()

    def activity(self, machine: StateMachineEngine, message: str, level: str) -> None:
        self.activities.append((message, level))
        self._wake()

    def finished(self, machine: StateMachineEngine, reason: str) -> None:
        self.finished_reasons.append(reason)
        self._wake()

    # for tests
    @property
    def states(self) -> list[str]:
        return [to_state for _, to_state, _ in self.changes]

    @property
    def messages(self) -> list[str]:
        return [message for message, _ in self.activities]

    async def until(self, predicate: Callable[[], bool], timeout: float = WAIT_TIMEOUT) -> None:
        if predicate():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        try:
            await asyncio.wait_for(future, timeout)
        finally:
            self._waiters = [(p, f) for p, f in self._waiters if f is not future]

    async def entered(self, state: str, times: int = 1) -> None:
        """Wait until ``state`` has been entered ``times`` times."""
        await self.until(lambda: self.states.count(state) >= times)

    def _wake(self) -> None:
        for predicate, future in self._waiters:
            if not future.done() and predicate():
                future.set_result(None)


class LogWatcher(logging.Handler):
    """Collects the engine's structured log records; a test can await one by its action."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self._changed.set()

    def actions(self, action: str) -> list[logging.LogRecord]:
        return [r for r in self.records if getattr(r, "action", None) == action]

    async def until(self, action: str, count: int = 1, timeout: float = WAIT_TIMEOUT) -> None:
        async def wait() -> None:
            while len(self.actions(action)) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)


class Gate:
    """Held by the ``gate`` action (see ``actions_dir``) until the test opens it."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.opened = asyncio.Event()
        self.cancelled = False
        self.passes = 0

    async def pass_through(self) -> None:
        self.entered.set()
        try:
            await self.opened.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        self.passes += 1


GATE_ACTION = '''
from statemachine_engine.actions.base import BaseAction


class GateAction(BaseAction):
    """Waits on context["gates"][gate] until the test opens it."""

    default_success = "gate_passed"

    async def execute(self, context):
        await context["gates"][self.get_config_value("gate")].pass_through()
        return self.success_event
'''

EXPLODE_ACTION = """
from statemachine_engine.actions.base import BaseAction


class ExplodeAction(BaseAction):
    async def execute(self, context):
        raise RuntimeError("boom: " + str(self.get_config_value("why", "no reason")))
"""


@pytest.fixture
def actions_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "actions"
    directory.mkdir()
    (directory / "gate_action.py").write_text(GATE_ACTION)
    (directory / "explode_action.py").write_text(EXPLODE_ACTION)
    return directory


@pytest.fixture
def log_watcher() -> Iterator[LogWatcher]:
    watcher = LogWatcher()
    logger = logging.getLogger("statemachine_engine")
    old_level = logger.level
    logger.addHandler(watcher)
    logger.setLevel(logging.DEBUG)
    try:
        yield watcher
    finally:
        logger.removeHandler(watcher)
        logger.setLevel(old_level)


class Machines:
    """Builds engines from YAML text and makes sure none outlives its test."""

    def __init__(self, actions_dir: Path) -> None:
        self.loader = ActionLoader(actions_dir)
        self.tasks: list[tuple[StateMachineEngine, asyncio.Task[str]]] = []

    def build(self, text: str, **kwargs: Any) -> tuple[StateMachineEngine, Recorder]:
        config = config_from_text(
            textwrap.dedent(text),
            is_known_action=self.loader.is_known,
            known_actions=self.loader.known_types,
        )
        recorder = Recorder()
        engine = StateMachineEngine(
            config,
            action_loader=self.loader,
            observers=[recorder],
            **kwargs,
        )
        return engine, recorder

    def start(
        self, text: str, **kwargs: Any
    ) -> tuple[StateMachineEngine, Recorder, asyncio.Task[str]]:
        engine, recorder = self.build(text, **kwargs)
        task = asyncio.create_task(engine.run())
        self.tasks.append((engine, task))
        return engine, recorder, task

    async def close(self) -> None:
        for engine, task in self.tasks:
            if not task.done():
                engine.request_stop()
        for _, task in self.tasks:
            if not task.done():
                try:
                    await asyncio.wait_for(task, RUN_TIMEOUT)
                except Exception:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
            elif not task.cancelled():
                task.exception()  # mark retrieved


@pytest.fixture
async def machines(actions_dir: Path) -> AsyncIterator[Machines]:
    factory = Machines(actions_dir)
    try:
        yield factory
    finally:
        await factory.close()


async def run_to_end(engine: StateMachineEngine) -> str:
    return await asyncio.wait_for(engine.run(), RUN_TIMEOUT)


async def finish(task: asyncio.Task[str]) -> str:
    return await asyncio.wait_for(task, RUN_TIMEOUT)


class Fifo:
    """A named pipe a shell command writes a line to; the test awaits that line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        os.mkfifo(path)
        # O_RDWR: we count as a writer too, so the reader never sees a premature EOF
        # and the shell's open() for writing never blocks.
        self._fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        self._buffer = b""

    async def readline(self, timeout: float = WAIT_TIMEOUT) -> str:
        loop = asyncio.get_running_loop()
        while b"\n" not in self._buffer:
            ready: asyncio.Future[None] = loop.create_future()

            def on_readable(ready: asyncio.Future[None] = ready) -> None:
                if not ready.done():
                    ready.set_result(None)

            loop.add_reader(self._fd, on_readable)
            try:
                await asyncio.wait_for(ready, timeout)
            finally:
                loop.remove_reader(self._fd)
            try:
                self._buffer += os.read(self._fd, 4096)
            except BlockingIOError:
                continue
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


async def wait_exited(pid: int, timeout: float = 3.0) -> None:
    """Return once process ``pid`` has exited (a zombie counts); fail after ``timeout``."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[None] = loop.create_future()
    loop.add_reader(fd, lambda: exited.done() or exited.set_result(None))
    try:
        await asyncio.wait_for(exited, timeout)
    except asyncio.TimeoutError:
        pytest.fail(f"process {pid} is still running {timeout}s after it should have been killed")
    finally:
        loop.remove_reader(fd)
        os.close(fd)


def live_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that are still running (zombies excluded)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in ("Z", "X"):
            members.append(int(entry))
    return members


#: A bash action that starts a long child in its group, reports "<shell pid> <child pid>"
#: to the FIFO and waits.
LONG_BASH = (
    "{type: bash, command: 'sleep 60 & echo \"$$ $!\" > {fifo}; wait', "
    "success: finished_naturally, error: failed_naturally}"
)


# -- start and entry actions -------------------------------------------------------


async def test_start_is_processed_in_the_initial_state(machines: Machines) -> None:
    engine, recorder = machines.build(
        """
        initial_state: boot
        transitions:
          - {from: boot, to: ready, event: start}
          - {from: ready, to: completed, event: continue}
        actions:
          boot:
            - {type: log, message: "boot's actions are skipped: start left it at once"}
          ready:
            - {type: log, message: "ready in {current_state}"}
        """
    )
    assert await run_to_end(engine) == "completed"
    assert recorder.changes == [
        (None, "boot", "start"),
        ("boot", "ready", "start"),
        ("ready", "completed", "continue"),
    ]
    assert recorder.messages == ["ready in ready"]
    assert engine.finish_reason == "final"
    assert recorder.finished_reasons == ["final"]


async def test_without_a_start_transition_the_initial_state_runs_its_actions(
    machines: Machines,
) -> None:
    engine, recorder = machines.build(
        """
        initial_state: boot
        transitions:
          - {from: boot, to: stopped, event: booted}
        actions:
          boot:
            - {type: log, message: "booting {machine_name}"}
            - {type: set_context, key: booted, value: true, success: booted}
        """,
        machine_name="m1",
    )
    assert await run_to_end(engine) == "stopped"
    assert recorder.changes == [(None, "boot", "start"), ("boot", "stopped", "booted")]
    assert recorder.messages == ["booting m1"]
    assert engine.context["booted"] is True


async def test_entry_actions_run_in_order_and_unhandled_events_let_the_next_run(
    machines: Machines, log_watcher: LogWatcher
) -> None:
    engine, recorder = machines.build(
        """
        initial_state: work
        transitions:
          - {from: work, to: completed, event: done}
        actions:
          work:
            - {type: log, message: one}
            - {type: set_context, key: step, value: two, success: nobody_listens}
            - {type: log, message: "{step}"}
            - {type: log, message: three, success: also_ignored}
            - {type: set_context, key: step, value: four, success: done}
        """
    )
    assert await run_to_end(engine) == "completed"
    assert recorder.messages == ["one", "two", "three"]
    assert engine.context["step"] == "four"
    unhandled = [getattr(r, "event", None) for r in log_watcher.actions("event_unhandled")]
    assert "nobody_listens" in unhandled
    assert "also_ignored" in unhandled


async def test_an_action_event_with_a_transition_skips_the_rest_of_the_list(
    machines: Machines,
) -> None:
    engine, recorder = machines.build(
        """
        initial_state: a
        transitions:
          - {from: a, to: b, event: go}
          - {from: b, to: completed, event: continue}
        actions:
          a:
            - {type: log, message: first}
            - {type: set_context, key: x, value: 1, success: go}
            - {type: log, message: never}
            - {type: set_context, key: y, value: 1}
          b:
            - {type: log, message: "in b"}
        """
    )
    assert await run_to_end(engine) == "completed"
    assert recorder.messages == ["first", "in b"]
    assert "y" not in engine.context
    assert recorder.changes[1] == ("a", "b", "go")


async def test_self_transition_reruns_the_actions(machines: Machines) -> None:
    text = (REPO / "examples" / "hello" / "hello.yaml").read_text()
    engine, recorder = machines.build(text, machine_name="hello")
    assert await run_to_end(engine) == "completed"
    assert recorder.changes == [
        (None, "greeting", "start"),
        ("greeting", "counting", "greeted"),
        ("counting", "counting", "more"),
        ("counting", "counting", "more"),
        ("counting", "completed", "enough"),
    ]
    assert recorder.messages == [
        "Hello from hello!",
        "count is now 1",
        "count is now 2",
        "count is now 3",
        "Done: counted to 3.",
    ]


@pytest.mark.parametrize(
    ("command", "expected"),
    [("exit 0", "went_well"), ("exit 3", "went_badly"), ("exit 7", "mapped")],
)
async def test_success_and_error_event_names_are_honoured(
    machines: Machines, command: str, expected: str
) -> None:
    engine, recorder = machines.build(
        f"""
        initial_state: run
        final: [went_well, went_badly, mapped]
        transitions:
          - {{from: run, to: went_well, event: all_good}}
          - {{from: run, to: went_badly, event: it_broke}}
          - {{from: run, to: mapped, event: seven}}
          - {{from: run, to: stopped, event: job_done}}
          - {{from: run, to: stopped, event: error}}
        actions:
          run:
            - type: bash
              command: "{command}"
              success: all_good
              error: it_broke
              error_mappings: {{7: seven}}
        """
    )
    assert await run_to_end(engine) == expected
    assert recorder.states == ["run", expected]
    assert engine.context["exit_code"] == int(command.split()[1])


async def test_a_raising_action_emits_error_with_last_error(machines: Machines) -> None:
    engine, recorder = machines.build(
        """
        initial_state: a
        transitions:
          - {from: a, to: failed, event: error}
          - {from: failed, to: completed, event: continue}
        actions:
          a:
            - {type: explode, why: "disk full"}
            - {type: log, message: never}
          failed:
            - {type: log, message: "failed: {last_error}", level: error}
        """
    )
    assert await run_to_end(engine) == "completed"
    assert recorder.changes[1] == ("a", "failed", "error")
    assert engine.context["last_error"] == "boom: disk full"
    assert recorder.activities == [("failed: boom: disk full", "error")]


async def test_a_raising_action_uses_its_configured_error_event(machines: Machines) -> None:
    engine, recorder = machines.build(
        """
        initial_state: a
        transitions:
          - {from: a, to: stopped, event: exploded}
          - {from: a, to: failed, event: error}
        actions:
          a:
            - {type: explode, error: exploded}
        """
    )
    assert await run_to_end(engine) == "stopped"
    assert recorder.changes[-1] == ("a", "stopped", "exploded")
    assert engine.context["last_error"] == "boom: no reason"


# -- events from outside -------------------------------------------------------------


async def test_an_event_without_a_transition_is_dropped(
    machines: Machines, log_watcher: LogWatcher
) -> None:
    engine, recorder, task = machines.start(
        """
        initial_state: idle
        transitions:
          - {from: idle, to: busy, event: go}
          - {from: busy, to: other, event: later}
          - {from: busy, to: completed, event: finish}
        """
    )
    await recorder.entered("idle")
    engine.send_event("nonsense")  # named by no transition
    engine.send_event("later")  # named, but not from idle: dropped while idle
    engine.send_event("go")
    await recorder.entered("busy")
    engine.send_event("finish")
    assert await finish(task) == "completed"
    assert recorder.states == ["idle", "busy", "completed"]
    dropped = [getattr(r, "event", None) for r in log_watcher.actions("event_unhandled")]
    assert "nonsense" in dropped
    assert "later" in dropped
    assert "go" not in dropped
    assert "finish" not in dropped


async def test_events_sent_while_an_action_runs_are_held_until_a_state_accepts_them(
    machines: Machines, log_watcher: LogWatcher
) -> None:
    gate = Gate()
    engine, recorder, task = machines.start(
        """
        initial_state: a
        transitions:
          - {from: a, to: b, event: gate_passed}
          - {from: b, to: c, event: later}
          - {from: c, to: completed, event: last}
        actions:
          a:
            - {type: gate, gate: a}
          b:
            - {type: log, message: "b ran"}
        """,
        initial_context={"gates": {"a": gate}},
    )
    await asyncio.wait_for(gate.entered.wait(), WAIT_TIMEOUT)
    engine.send_event("later", {"n": 1})
    engine.send_event("last")
    await log_watcher.until("event_held", count=2)
    assert engine.state == "a"
    assert not gate.cancelled
    gate.opened.set()
    assert await finish(task) == "completed"
    assert gate.passes == 1
    assert recorder.changes[1:] == [
        ("a", "b", "gate_passed"),
        ("b", "c", "later"),
        ("c", "completed", "last"),
    ]
    # b was left by a held event as soon as it was entered: its actions never ran.
    assert recorder.messages == []
    assert engine.context["event_data"]["payload"] == {}  # "last" was the last external event
    assert engine.context["previous_state"] == "c"


async def test_a_held_event_no_state_accepts_is_dropped_once_idle(
    machines: Machines, log_watcher: LogWatcher
) -> None:
    gate = Gate()
    engine, recorder, task = machines.start(
        """
        initial_state: a
        transitions:
          - {from: a, to: b, event: gate_passed}
          - {from: b, to: c, event: onward}
          - {from: c, to: boom, event: later}
          - {from: c, to: completed, event: finish}
        """
        + """
        actions:
          a:
            - {type: gate, gate: a}
        """,
        initial_context={"gates": {"a": gate}},
    )
    await asyncio.wait_for(gate.entered.wait(), WAIT_TIMEOUT)
    engine.send_event("later")
    await log_watcher.until("event_held")
    gate.opened.set()
    await recorder.entered("b")
    await log_watcher.until("event_unhandled")  # idle in b, which has no use for it
    engine.send_event("onward")
    await recorder.entered("c")
    engine.send_event("finish")
    assert await finish(task) == "completed"
    assert "boom" not in recorder.states


async def test_an_event_leaving_the_state_kills_the_running_bash_group(
    machines: Machines, fifo: Fifo
) -> None:
    engine, recorder, task = machines.start(
        f"""
        initial_state: a
        transitions:
          - {{from: a, to: stopped, event: abort}}
          - {{from: a, to: ok, event: finished_naturally}}
          - {{from: a, to: broken, event: failed_naturally}}
        actions:
          a:
            - {LONG_BASH}
            - {{type: log, message: never}}
        """,
        initial_context={"fifo": str(fifo.path)},
    )
    shell_pid, child_pid = map(int, (await fifo.readline()).split())
    assert engine.state == "a"
    engine.send_event("abort")
    assert await finish(task) == "stopped"
    await wait_exited(child_pid)
    await wait_exited(shell_pid)
    assert live_members(shell_pid) == []
    # The killed command's result was discarded: no exit code, no error event.
    assert recorder.changes == [(None, "a", "start"), ("a", "stopped", "abort")]
    assert "exit_code" not in engine.context
    assert recorder.messages == []


async def test_a_running_custom_action_is_cancelled_when_the_state_is_left(
    machines: Machines,
) -> None:
    gate = Gate()
    engine, recorder, task = machines.start(
        """
        initial_state: a
        transitions:
          - {from: a, to: b, event: gate_passed}
          - {from: a, to: completed, event: stop}
        actions:
          a:
            - {type: gate, gate: a}
        """,
        initial_context={"gates": {"a": gate}},
    )
    await asyncio.wait_for(gate.entered.wait(), WAIT_TIMEOUT)
    engine.send_event("stop")
    assert await finish(task) == "completed"
    assert gate.cancelled
    assert "b" not in recorder.states


# -- timeouts ----------------------------------------------------------------------------


async def test_a_timeout_fires_when_nothing_happens(machines: Machines) -> None:
    engine, recorder = machines.build(
        """
        initial_state: waiting
        transitions:
          - {from: waiting, to: completed, event: timeout(0.2)}
          - {from: waiting, to: stopped, event: go}
        """
    )
    assert await run_to_end(engine) == "completed"
    assert recorder.changes[-1] == ("waiting", "completed", "timeout(0.2)")
    assert recorder.times[-1] - recorder.times[0] >= 0.19
    # A timer is not an external event: event_data still describes the start.
    assert engine.context["event_data"]["type"] == "start"


async def test_a_wildcard_timeout_applies_to_every_state_without_its_own(
    machines: Machines,
) -> None:
    engine, recorder, task = machines.start(
        """
        initial_state: a
        final: [timed_out]
        transitions:
          - {from: a, to: b, event: go}
          - {from: "*", to: timed_out, event: timeout(0.2)}
        """
    )
    await recorder.entered("a")
    engine.send_event("go")
    assert await finish(task) == "timed_out"
    assert recorder.changes[-1] == ("b", "timed_out", "timeout(0.2)")
    assert recorder.times[-1] - recorder.times[1] >= 0.19


async def test_a_timeout_interrupts_a_running_action(machines: Machines, fifo: Fifo) -> None:
    _, recorder, task = machines.start(
        f"""
        initial_state: a
        transitions:
          - {{from: a, to: stopped, event: timeout(0.3)}}
          - {{from: a, to: ok, event: finished_naturally}}
        actions:
          a:
            - {LONG_BASH}
        """,
        initial_context={"fifo": str(fifo.path)},
    )
    shell_pid, child_pid = map(int, (await fifo.readline()).split())
    assert await finish(task) == "stopped"
    assert recorder.changes[-1] == ("a", "stopped", "timeout(0.3)")
    await wait_exited(child_pid)
    await wait_exited(shell_pid)
    assert live_members(shell_pid) == []


async def test_a_timeout_is_cancelled_when_another_event_leaves_first(
    machines: Machines,
) -> None:
    # a --go--> b --(0.2 s later)--> a again. Were the first visit's 0.5 s timer still
    # armed, it would fire 0.3 s into the second visit; only the new one may fire.
    engine, recorder, task = machines.start(
        """
        initial_state: a
        transitions:
          - {from: a, to: b, event: go}
          - {from: a, to: timed_out, event: timeout(0.5)}
          - {from: b, to: a, event: back}
        final: [timed_out]
        actions:
          b:
            - {type: sleep, duration: 0.2, success: back}
        """
    )
    await recorder.entered("a")
    engine.send_event("go")
    assert await finish(task) == "timed_out"
    assert recorder.states == ["a", "b", "a", "timed_out"]
    second_visit = recorder.times[2]
    assert recorder.times[3] - second_visit >= 0.45


async def test_a_self_loop_rearms_the_timeout(machines: Machines) -> None:
    # Each visit takes ~0.2 s, three visits take > 0.5 s: the timeout only fires
    # 0.5 s after the last visit, once the loop stops.
    engine, recorder = machines.build(
        """
        initial_state: poll
        final: [timed_out]
        transitions:
          - {from: poll, to: poll, event: again}
          - {from: poll, to: timed_out, event: timeout(0.5)}
        actions:
          poll:
            - {type: bash, command: "echo $(( {n} + 1 ))"}
            - {type: set_context, key: n, value: "{stdout}"}
            - {type: sleep, duration: 0.2}
            - {type: bash, command: "test {n} -lt 3", success: again, error: enough}
        """,
        initial_context={"n": 0},
    )
    assert await run_to_end(engine) == "timed_out"
    assert recorder.states == ["poll", "poll", "poll", "timed_out"]
    assert recorder.times[3] - recorder.times[2] >= 0.45
    assert engine.context["n"] == "3"


# -- terminal states -----------------------------------------------------------------------


@pytest.mark.parametrize("terminal", ["stopped", "shutdown", "completed", "done"])
async def test_terminal_states_run_their_actions_then_end(
    machines: Machines, terminal: str
) -> None:
    engine, recorder = machines.build(
        f"""
        initial_state: work
        final: [done]
        transitions:
          - {{from: work, to: {terminal}, event: finished}}
        actions:
          work:
            - {{type: set_context, key: x, value: 1, success: finished}}
          {terminal}:
            - {{type: log, message: "bye from {{current_state}}"}}
            - {{type: log, message: "really"}}
        """
    )
    assert await run_to_end(engine) == terminal
    assert recorder.messages == [f"bye from {terminal}", "really"]
    assert engine.finish_reason == "final"
    assert recorder.finished_reasons == ["final"]


async def test_a_state_not_terminal_does_not_end_the_machine(machines: Machines) -> None:
    engine, recorder, task = machines.start(
        """
        initial_state: waiting
        transitions:
          - {from: waiting, to: completed, event: quit}
        actions:
          waiting:
            - {type: log, message: idle now}
        """
    )
    await recorder.until(lambda: recorder.messages == ["idle now"])
    assert not task.done()
    engine.send_event("quit")
    assert await finish(task) == "completed"


async def test_a_terminal_state_whose_actions_lead_out_goes_on(machines: Machines) -> None:
    engine, recorder, task = machines.start(
        """
        initial_state: waiting
        transitions:
          - {from: waiting, to: completed, event: job}
          - {from: completed, to: waiting, event: next}
          - {from: waiting, to: stopped, event: quit}
        actions:
          completed:
            - {type: log, message: "job finished"}
            - {type: set_context, key: jobs, value: 1, success: next}
        """
    )
    await recorder.entered("waiting")
    engine.send_event("job")
    await recorder.entered("waiting", times=2)
    assert not task.done()
    engine.send_event("quit")
    assert await finish(task) == "stopped"
    assert recorder.states == ["waiting", "completed", "waiting", "stopped"]
    assert recorder.messages == ["job finished"]


async def test_a_terminal_self_transition_ends_the_machine(machines: Machines) -> None:
    # The compat configs end this way: completed's cleanup emits stop, and
    # `* --stop--> completed` leads back into completed.
    engine, recorder = machines.build(
        """
        initial_state: work
        transitions:
          - {from: work, to: completed, event: finished}
          - {from: "*", to: completed, event: stop}
        actions:
          work:
            - {type: set_context, key: x, value: 1, success: finished}
          completed:
            - {type: log, message: cleanup}
            - {type: bash, command: "true", success: stop}
            - {type: log, message: never}
        """
    )
    assert await run_to_end(engine) == "completed"
    assert recorder.messages == ["cleanup"]
    assert recorder.states == ["work", "completed"]
    assert engine.finish_reason == "final"


async def test_events_queued_behind_the_end_do_not_move_the_machine(
    machines: Machines,
) -> None:
    engine, recorder, task = machines.start(
        """
        initial_state: waiting
        transitions:
          - {from: waiting, to: completed, event: finish}
          - {from: "*", to: waiting, event: back}
        """
    )
    await recorder.entered("waiting")
    engine.send_event("finish")
    engine.send_event("back")  # already in the inbox when the machine ends
    assert await finish(task) == "completed"
    assert recorder.states == ["waiting", "completed"]
    assert engine.finish_reason == "final"


async def test_request_stop_ends_run_and_kills_the_running_subprocess(
    machines: Machines, fifo: Fifo
) -> None:
    engine, recorder, task = machines.start(
        f"""
        initial_state: a
        transitions:
          - {{from: a, to: ok, event: finished_naturally}}
          - {{from: a, to: broken, event: failed_naturally}}
        actions:
          a:
            - {LONG_BASH}
        """,
        initial_context={"fifo": str(fifo.path)},
    )
    shell_pid, child_pid = map(int, (await fifo.readline()).split())
    engine.request_stop()
    assert await finish(task) == "a"
    assert engine.finish_reason == "stopped"
    assert recorder.finished_reasons == ["stopped"]
    await wait_exited(child_pid)
    await wait_exited(shell_pid)
    assert live_members(shell_pid) == []
    assert "exit_code" not in engine.context


async def test_request_stop_while_idle(machines: Machines) -> None:
    engine, recorder, task = machines.start(
        """
        initial_state: waiting
        transitions:
          - {from: waiting, to: completed, event: timeout(30)}
        """
    )
    await recorder.entered("waiting")
    engine.request_stop()
    assert await finish(task) == "waiting"
    assert recorder.finished_reasons == ["stopped"]


# -- context -------------------------------------------------------------------------------


async def test_context_map_promotes_payload_fields(machines: Machines) -> None:
    engine, recorder, task = machines.start(
        """
        initial_state: listening
        events:
          transcribed:
            context_map:
              utterance: payload.user_utterance
              speaker: payload.who.name
              confidence: score
              absent: payload.not_there
        transitions:
          - {from: listening, to: answering, event: transcribed}
          - {from: answering, to: completed, event: continue}
        actions:
          answering:
            - {type: log, message: "{speaker} said {utterance} ({confidence})"}
        """
    )
    await recorder.entered("listening")
    engine.send_event(
        "transcribed", {"user_utterance": "hello", "who": {"name": "ada"}, "score": 0.9}
    )
    assert await finish(task) == "completed"
    assert engine.context["utterance"] == "hello"
    assert engine.context["speaker"] == "ada"
    assert engine.context["confidence"] == 0.9
    assert "absent" not in engine.context
    assert recorder.messages == ["ada said hello (0.9)"]


async def test_event_data_holds_the_last_external_event(machines: Machines) -> None:
    engine, recorder, task = machines.start(
        """
        initial_state: waiting
        transitions:
          - {from: waiting, to: working, event: new_job}
          - {from: working, to: reporting, event: success}
          - {from: reporting, to: completed, event: continue}
        actions:
          working:
            - {type: set_context, key: seen, value: "{event_data.payload.file}"}
          reporting:
            - {type: log, message: "{event_data.type} {event_data.payload.file} {last_event}"}
        """
    )
    await recorder.entered("waiting")
    engine.send_event("new_job", {"file": "a.txt", "size": 3}, source="tester", job_id="j1")
    assert await finish(task) == "completed"
    data = engine.context["event_data"]
    assert data["type"] == "new_job"
    assert data["payload"] == {"file": "a.txt", "size": 3}
    assert data["source"] == "tester"
    assert data["job_id"] == "j1"
    assert engine.context["seen"] == "a.txt"
    # `success` came from an action: it drove a transition but did not replace event_data.
    assert recorder.messages == ["new_job a.txt success"]


async def test_initial_context_and_machine_name(machines: Machines) -> None:
    engine, recorder = machines.build(
        """
        initial_state: hello
        metadata: {machine_name: from_metadata}
        transitions:
          - {from: hello, to: completed, event: continue}
        actions:
          hello:
            - {type: log, message: "{machine_name} got {answer}"}
        """,
        initial_context={"answer": 42},
    )
    assert engine.machine_name == "from_metadata"
    assert await run_to_end(engine) == "completed"
    assert recorder.messages == ["from_metadata got 42"]
    assert engine.context["current_state"] == "completed"
