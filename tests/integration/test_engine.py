"""The async runtime: a machine built from YAML text, real actions, real subprocesses.

Every wait here is on something the engine does (an observer callback, a structured
log record, a FIFO the shell writes to, a pidfd), never a sleep.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.support.engines import Machines, finish, run_to_end
from tests.support.fifo import Fifo
from tests.support.pids import ended, live_members
from tests.support.recorder import WAIT, LogWatcher

# -- helpers ------------------------------------------------------------------


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
    text = (EXAMPLES / "hello" / "hello.yaml").read_text()
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
    await asyncio.wait_for(gate.entered.wait(), WAIT)
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
    await asyncio.wait_for(gate.entered.wait(), WAIT)
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


async def test_a_held_event_is_dropped_when_a_looping_state_comes_back_without_it(
    machines: Machines, log_watcher: LogWatcher
) -> None:
    """A poller never idles: an event held while its actions ran is dropped once it is
    back in the state it was held in, not held until some later visit to a state that
    takes it (where it would act long after it was sent)."""
    gate = Gate()
    engine, recorder, task = machines.start(
        """
        initial_state: polling
        transitions:
          - {from: polling, to: polling, event: gate_passed}
          - {from: polling, to: working, event: job_found}
          - {from: working, to: completed, event: job_done}
          - {from: "*", to: stopped, event: stop}
        actions:
          polling:
            - {type: gate, gate: a}
        """,
        initial_context={"gates": {"a": gate}},
    )
    await asyncio.wait_for(gate.entered.wait(), WAIT)
    engine.send_event("job_done")  # working takes it, polling does not: held
    await log_watcher.until("event_held")
    gate.opened.set()  # polling -> polling
    await log_watcher.until("event_unhandled")
    gate.opened.clear()
    [dropped] = log_watcher.actions("event_unhandled")
    assert (dropped.state, dropped.event) == ("polling", "job_done")
    engine.send_event("job_found")
    await recorder.entered("working")
    assert engine.state == "working", "the stale job_done did not move it on"
    engine.send_event("stop")
    assert await finish(task) == "stopped"


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
    shell_pid, child_pid = map(int, (await fifo.wait_line()).split())
    assert engine.state == "a"
    engine.send_event("abort")
    assert await finish(task) == "stopped"
    assert await ended(child_pid)
    assert await ended(shell_pid)
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
    await asyncio.wait_for(gate.entered.wait(), WAIT)
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
    shell_pid, child_pid = map(int, (await fifo.wait_line()).split())
    assert await finish(task) == "stopped"
    assert recorder.changes[-1] == ("a", "stopped", "timeout(0.3)")
    assert await ended(child_pid)
    assert await ended(shell_pid)
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
    shell_pid, child_pid = map(int, (await fifo.wait_line()).split())
    engine.request_stop()
    assert await finish(task) == "a"
    assert engine.finish_reason == "stopped"
    assert recorder.finished_reasons == ["stopped"]
    assert await ended(child_pid)
    assert await ended(shell_pid)
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
