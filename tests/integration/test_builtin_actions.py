"""The builtin actions run for real: direct ``execute`` calls and tiny engines from YAML."""

from __future__ import annotations

import asyncio
import copy
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from statemachine_engine.actions import BaseAction
from statemachine_engine.actions.builtin.add_to_list_action import AddToListAction
from statemachine_engine.actions.builtin.bash_action import BashAction
from statemachine_engine.actions.builtin.log_action import LogAction
from statemachine_engine.actions.builtin.pop_from_list_action import PopFromListAction
from statemachine_engine.actions.builtin.set_context_action import SetContextAction
from statemachine_engine.actions.builtin.sleep_action import SleepAction
from statemachine_engine.errors import ActionError
from tests.support.engines import Machines
from tests.support.fifo import Fifo
from tests.support.files import write
from tests.support.pids import Reaper, ended

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from statemachine_engine.database._records import EventOrigin

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="uses /bin/bash, pidfds and FIFOs"
)


# -- helpers ---------------------------------------------------------------------------


class RecordingRuntime:
    """A part of an ActionRuntime that remembers what actions asked of it."""

    def __init__(self) -> None:
        self.activity: list[tuple[str, str]] = []
        self.sent: list[tuple[str, Any]] = []

    @property
    def machine_name(self) -> str:
        return "recorder"

    @property
    def state(self) -> str | None:
        return "working"

    def log_activity(self, message: str, level: str = "info") -> None:
        self.activity.append((message, level))

    def send_event(self, name: str, payload: Any = None, **origin: Unpack[EventOrigin]) -> None:
        self.sent.append((name, payload))


async def run_bash(config: dict[str, Any], context: dict[str, Any] | None = None) -> Any:
    context = {} if context is None else context
    return await BashAction(config).execute(context)


# -- bash: events and outputs ----------------------------------------------------------


async def test_bash_default_success_event_is_job_done() -> None:
    assert await run_bash({"command": "true"}) == "job_done"


async def test_bash_default_error_event_is_error() -> None:
    context: dict[str, Any] = {}
    assert await run_bash({"command": "exit 1"}, context) == "error"
    assert context["exit_code"] == 1


async def test_bash_custom_success_and_error_names() -> None:
    assert await run_bash({"command": "true", "success": "ok", "error": "bad"}) == "ok"
    assert await run_bash({"command": "false", "success": "ok", "error": "bad"}) == "bad"


async def test_bash_puts_stdout_stderr_and_exit_code_in_context() -> None:
    context: dict[str, Any] = {}

    event = await run_bash(
        {
            "command": "printf '  first\\nsecond  \\n\\n'; "
            "printf 'warning\\nfatal: disk\\n' >&2; exit 3"
        },
        context,
    )

    assert event == "error"
    assert context["stdout"] == "  first\nsecond  "
    assert context["stderr"] == "warning\nfatal: disk"
    assert context["exit_code"] == 3
    assert "3" in context["last_error"]
    assert "fatal: disk" in context["last_error"]


async def test_bash_success_outputs_and_no_error() -> None:
    context: dict[str, Any] = {}

    assert await run_bash({"command": "echo hello"}, context) == "job_done"

    assert context == {"stdout": "hello", "stderr": "", "exit_code": 0}


async def test_bash_store_as_keeps_a_copy_of_the_result() -> None:
    context: dict[str, Any] = {}

    await run_bash({"command": "echo out; echo err >&2", "store_as": "probe"}, context)

    assert context["probe"] == {"stdout": "out", "stderr": "err", "exit_code": 0}
    assert context["stdout"] == "out"


@pytest.mark.parametrize(
    ("status", "event"),
    [(0, "job_done"), (2, "not_found"), (3, "busy"), (4, "failed")],
)
async def test_bash_error_mappings_choose_the_event_by_exit_code(status: int, event: str) -> None:
    context: dict[str, Any] = {}
    config = {
        "command": f"exit {status}",
        "error": "failed",
        "error_mappings": {2: "not_found", "3": "busy"},
    }

    assert await run_bash(config, context) == event

    assert context["exit_code"] == status
    if status:
        assert str(status) in context["last_error"]
    else:
        assert "last_error" not in context


async def test_bash_cwd_and_env(tmp_path: Path) -> None:
    context: dict[str, Any] = {}

    await run_bash(
        {
            "command": 'printf "%s|%s" "$(pwd)" "${GREETING}"',
            "cwd": str(tmp_path),
            "env": {"GREETING": "hi"},
        },
        context,
    )

    assert context["stdout"] == f"{tmp_path}|hi"


async def test_bash_without_a_command_raises() -> None:
    with pytest.raises(ValueError, match="command"):
        await run_bash({"success": "ok"})


@pytest.mark.parametrize("timeout", ["ten", -1, [5]])
async def test_bash_a_timeout_that_is_no_number_of_seconds_says_so(timeout: object) -> None:
    with pytest.raises(ActionError) as info:
        await run_bash({"command": "true", "timeout": timeout})
    assert str(info.value).startswith("option timeout must ")
    assert "got" in str(info.value)
    assert "float" not in str(info.value)


async def test_bash_a_timeout_with_units_is_seconds() -> None:
    assert await run_bash({"command": "true", "timeout": "2m"}) == "job_done"
    assert await run_bash({"command": "true", "timeout": None}) == "job_done"  # the default


async def test_bash_output_is_capped_to_the_last_mebibyte() -> None:
    context: dict[str, Any] = {}

    await run_bash(
        {"command": "printf 'HEAD'; head -c 2000000 /dev/zero | tr '\\0' a; printf 'TAIL'"},
        context,
    )

    assert len(context["stdout"]) == 1024 * 1024
    assert context["stdout"].endswith("aTAIL")


async def test_bash_output_lines_stream_into_the_log_whole(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="statemachine_engine")
    context: dict[str, Any] = {"machine_name": "m1"}
    command = "echo one; echo oops >&2; head -c 300000 /dev/zero | tr '\\0' b; echo; printf end"

    await run_bash({"command": command}, context)

    lines = [r.getMessage() for r in caplog.records if getattr(r, "action", "") == "bash_output"]
    assert sorted(lines) == sorted(
        ["[m1] | one", "[m1] ! oops", "[m1] | " + "b" * 300000, "[m1] | end"]
    )


async def test_bash_log_output_false_keeps_the_lines_out(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="statemachine_engine")
    context: dict[str, Any] = {}

    await run_bash({"command": "echo quiet", "log_output": False}, context)

    assert context["stdout"] == "quiet"
    assert not [r for r in caplog.records if getattr(r, "action", "") == "bash_output"]


async def test_bash_undecodable_output_is_replaced_not_fatal() -> None:
    context: dict[str, Any] = {}

    assert await run_bash({"command": "printf 'caf\\xe9'"}, context) == "job_done"

    assert context["stdout"] == "caf\ufffd"


# -- bash: timeouts and cancellation kill the whole process group ------------------------


async def test_bash_timeout_kills_the_whole_process_group(tmp_path: Path, reaper: Reaper) -> None:
    pidfile = tmp_path / "child.pid"
    context: dict[str, Any] = {"pidfile": str(pidfile)}

    event = await run_bash(
        {"command": "sleep 300 & echo $! > {pidfile}; wait", "timeout": 0.5, "error": "too_slow"},
        context,
    )

    child = int(pidfile.read_text())
    reaper.watch(child)
    assert event == "too_slow"
    assert context["exit_code"] == 124
    assert "timed out" in context["last_error"]
    assert await ended(child, within=2)


async def test_bash_timeout_child_is_really_gone(fifo: Fifo, reaper: Reaper) -> None:
    context: dict[str, Any] = {"fifo": str(fifo)}
    task = asyncio.create_task(
        run_bash({"command": "sleep 300 & echo $$ $! > {fifo}; wait", "timeout": 1}, context)
    )
    shell, child = reaper.watch(*map(int, (await fifo.wait_line()).split()))
    assert await asyncio.wait_for(task, 10) == "error"
    assert context["exit_code"] == 124
    assert await child.ended(within=2)
    assert await shell.ended(within=2)


@pytest.mark.parametrize("when", ["starting", "running"])
async def test_cancelling_bash_kills_the_whole_process_group(
    fifo: Fifo, reaper: Reaper, when: str
) -> None:
    context: dict[str, Any] = {"fifo": str(fifo)}
    task = asyncio.create_task(
        run_bash({"command": "sleep 300 & echo $$ $! > {fifo}; wait", "timeout": 60}, context)
    )
    shell, child = reaper.watch(*map(int, (await fifo.wait_line()).split()))
    if when == "running":
        # Still running after a while: by then asyncio has finished starting it.
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), 0.3)
    # "starting": cancelled as soon as the shell runs, usually before asyncio's
    # create_subprocess_exec has returned (it still connects the pipes).
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)
    assert await child.ended(within=2)
    assert await shell.ended(within=2)
    assert "exit_code" not in context


async def test_leaving_the_state_kills_a_running_bash(
    fifo: Fifo, reaper: Reaper, machines: Machines
) -> None:
    engine, _ = machines.build(
        """
        initial_state: working
        transitions:
          - {from: working, to: completed, event: job_done}
          - {from: "*", to: stopped, event: stop}
        actions:
          working:
            - type: bash
              command: "sleep 300 & echo $$ $! > {fifo}; wait"
        """,
        initial_context={"fifo": str(fifo)},
    )
    run = asyncio.create_task(asyncio.wait_for(engine.run(), 10))
    shell, child = reaper.watch(*map(int, (await fifo.wait_line()).split()))
    engine.send_event("stop")
    assert await run == "stopped"
    assert await child.ended(within=2)
    assert await shell.ended(within=2)
    assert "exit_code" not in engine.context


async def test_children_left_behind_by_a_finished_command_are_killed(
    fifo: Fifo, reaper: Reaper
) -> None:
    # The shell exits at once; a background grandchild (output sent elsewhere, so the
    # reads do not wait for it) would live on in the group if nothing killed it.
    context: dict[str, Any] = {"fifo": str(fifo)}
    task = asyncio.create_task(
        run_bash({"command": "(sleep 300 >/dev/null 2>&1 & echo $! > {fifo})"}, context)
    )
    [child] = reaper.watch(int(await fifo.wait_line()))

    assert await asyncio.wait_for(task, 10) == "job_done"

    assert await child.ended(within=2)


# -- bash: quoting ---------------------------------------------------------------------


INJECTIONS = [
    '"; touch {pwned}; echo "',
    "'; touch {pwned}; echo '",
    "$(touch {pwned})",
    "`touch {pwned}`",
    "; touch {pwned}",
    '\\"; touch {pwned}; echo \\"',
    "\\'; touch {pwned}; echo \\'",
    "x\ntouch {pwned}",
    "${{IFS}}$(touch {pwned})",
]
POSITIONS = {
    "bare": "printf '%s' {evil}",
    "single": "printf '%s' '{evil}'",
    "double": "printf '%s' \"{evil}\"",
    "double-with-text": "printf '%s' \"value: {evil} (end)\"",
    "ansi-c": "printf '%s' $'{evil}'",
    "after-a-comment": "printf '%s' ok # {evil}",
}


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("injection", INJECTIONS)
async def test_bash_context_values_are_shell_quoted(
    tmp_path: Path, position: str, injection: str
) -> None:
    pwned = tmp_path / "pwned"
    evil = injection.format(pwned=pwned)
    context: dict[str, Any] = {"evil": evil}

    event = await run_bash({"command": POSITIONS[position]}, context)

    assert not pwned.exists()
    assert event == "job_done"
    expected = {"double-with-text": f"value: {evil} (end)", "after-a-comment": "ok"}.get(
        position, evil
    )
    assert context["stdout"] == expected


async def test_bash_quotes_nested_placeholders_and_non_strings(tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    context: dict[str, Any] = {
        "job": {"files": ["a b.txt", f"$(touch {pwned})"]},
        "count": 3,
    }

    await run_bash(
        {"command": "printf '%s|' {job.files.0} {job.files.1} {count} {job.files|length}"},
        context,
    )

    assert not pwned.exists()
    assert context["stdout"] == f"a b.txt|$(touch {pwned})|3|2|"


async def test_interpolated_values_are_not_interpolated_again(tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    context: dict[str, Any] = {"a": "{b|raw}", "b": f"$(touch {pwned})"}

    await run_bash({"command": "printf '%s' {a}"}, context)

    assert not pwned.exists()
    assert context["stdout"] == "{b|raw}"


async def test_quote_false_inserts_values_verbatim() -> None:
    context: dict[str, Any] = {"expr": "$((6 * 7))", "words": "one two"}

    await run_bash({"command": "printf '%s|' {expr} {words}", "quote": False}, context)

    assert context["stdout"] == "42|one|two|"


async def test_raw_filter_inserts_one_value_verbatim() -> None:
    context: dict[str, Any] = {"expr": "$((6 * 7))", "other": "$((1 + 1))"}

    await run_bash({"command": "printf '%s|' {expr|raw} {other}"}, context)

    assert context["stdout"] == "42|$((1 + 1))|"


async def test_unknown_placeholders_and_shell_variables_pass_through() -> None:
    context: dict[str, Any] = {}

    await run_bash({"command": "X=5; printf '%s|%s' \"${X}\" '{missing}'"}, context)

    assert context["stdout"] == "5|{missing}"


async def test_context_cannot_replace_the_configured_command(tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    evil = f"touch {pwned}"
    context: dict[str, Any] = {"command": evil, "params": {"command": evil}}

    assert await run_bash({"command": "echo configured"}, context) == "job_done"

    assert context["stdout"] == "configured"
    assert not pwned.exists()


async def test_job_data_cannot_change_the_command_through_the_engine(
    tmp_path: Path, machines: Machines
) -> None:
    pwned = tmp_path / "pwned"
    evil = f"touch {pwned}"
    engine, _ = await machines.run(
        """
        initial_state: working
        transitions:
          - {from: working, to: completed, event: job_done}
        actions:
          working:
            - type: bash
              params:
                command: "printf '%s' {file} {current_job.data.file}"
        """,
        initial_context={
            "command": evil,
            "params": {"command": evil},
            "file": f'"; {evil}; echo "',
            "current_job": {"job_id": "j1", "data": {"command": evil, "file": f"$({evil})"}},
        },
    )

    assert engine.state == "completed"
    assert not pwned.exists()
    assert engine.context["stdout"] == f'"; {evil}; echo "$({evil})'


async def test_engine_does_not_pre_interpolate_the_command(
    tmp_path: Path, machines: Machines
) -> None:
    """The command reaches bash quoted even when its placeholder is the whole string."""
    pwned = tmp_path / "pwned"
    engine, _ = await machines.run(
        """
        initial_state: working
        transitions:
          - {from: working, to: completed, event: job_done}
          - {from: working, to: completed, event: error}
        actions:
          working:
            - type: bash
              command: "{cmd}"
        """,
        initial_context={"cmd": f"touch {pwned}"},
    )

    assert not pwned.exists()
    assert engine.context["exit_code"] == 127  # "touch <path>" as one word: not found


# -- bash through the engine -----------------------------------------------------------


async def test_bash_error_mappings_from_yaml_drive_the_transition(machines: Machines) -> None:
    engine, _ = await machines.run(
        """
        initial_state: working
        final: [missing, failed]
        transitions:
          - {from: working, to: completed, event: job_done}
          - {from: working, to: missing, event: not_found}
          - {from: working, to: failed, event: error}
        actions:
          working:
            - type: bash
              command: "echo gone >&2; exit 2"
              error_mappings:
                2: not_found
        """
    )

    assert engine.state == "missing"
    assert engine.context["exit_code"] == 2
    assert engine.context["stderr"] == "gone"
    assert "gone" in engine.context["last_error"]


# -- log -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "levelno"),
    [
        ("info", logging.INFO),
        ("warning", logging.WARNING),
        ("error", logging.ERROR),
        ("success", logging.INFO),
        ("debug", logging.DEBUG),
        ("WARNING", logging.WARNING),
    ],
)
async def test_log_levels(caplog: pytest.LogCaptureFixture, level: str, levelno: int) -> None:
    caplog.set_level(logging.DEBUG, logger="statemachine_engine.activity")
    # Without a machine the action logs itself...
    event = await LogAction({"message": "disk at 91%", "level": level}).execute(
        {"machine_name": "worker1"}
    )

    assert event == "continue"
    records = [r for r in caplog.records if r.name == "statemachine_engine.activity"]
    assert len(records) == 1
    record = records[0]
    assert record.levelno == levelno
    assert record.action == "activity_log"  # type: ignore[attr-defined]
    assert record.machine == "worker1"  # type: ignore[attr-defined]
    assert "disk at 91%" in record.getMessage()
    assert "worker1" in record.getMessage()

    # ...inside one, the machine's activity log records it (once).
    runtime = RecordingRuntime()
    action = LogAction({"message": "disk at 91%", "level": level})
    action.runtime = runtime
    await action.execute({"machine_name": "worker1"})
    assert runtime.activity == [("disk at 91%", level.lower())]
    assert len([r for r in caplog.records if r.name == "statemachine_engine.activity"]) == 1


async def test_log_warn_is_recorded_as_warning() -> None:
    runtime = RecordingRuntime()
    action = LogAction({"message": "careful", "level": "warn"})
    action.runtime = runtime

    await action.execute({})

    assert runtime.activity == [("careful", "warning")]


async def test_log_defaults_to_info_and_custom_success() -> None:
    runtime = RecordingRuntime()
    action = LogAction({"message": 42, "success": "logged"})
    action.runtime = runtime

    assert await action.execute({}) == "logged"
    assert runtime.activity == [("42", "info")]


async def test_log_without_runtime_still_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="statemachine_engine.activity")

    assert await LogAction({"message": "alone"}).execute({}) == "continue"

    assert any("alone" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("level", ["loud", "", "critical!"])
async def test_log_bad_level_raises(level: str) -> None:
    runtime = RecordingRuntime()
    action = LogAction({"message": "x", "level": level})
    action.runtime = runtime

    with pytest.raises(ValueError, match="level"):
        await action.execute({})
    assert runtime.activity == []


async def test_log_bad_level_becomes_the_error_event_in_the_engine(machines: Machines) -> None:
    engine, _ = await machines.run(
        """
        initial_state: working
        final: [failed]
        transitions:
          - {from: working, to: completed, event: continue}
          - {from: working, to: failed, event: error}
        actions:
          working:
            - {type: log, message: hi, level: shouting}
        """
    )

    assert engine.state == "failed"
    assert "shouting" in engine.context["last_error"]


async def test_log_and_activity_log_reach_the_activity_log_interpolated(machines: Machines) -> None:
    engine, recorder = await machines.run(
        """
        initial_state: working
        transitions:
          - {from: working, to: completed, event: done}
        actions:
          working:
            - type: log
              message: "processing {file} for {machine_name}"
            - type: activity_log
              message: "{count} left"
              level: warning
            - type: log
              params: {message: "bye", level: success, success: done}
        """,
        initial_context={"file": "a.wav", "count": 2},
    )

    assert engine.state == "completed"
    assert recorder.activities == [
        (f"processing a.wav for {engine.machine_name}", "info"),
        ("2 left", "warning"),
        ("bye", "success"),
    ]


# -- sleep -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config", [{"duration": 0.01}, {"seconds": 0.01}, {"duration": "0.01"}, {"duration": 0}]
)
async def test_sleep_returns_wake_up(config: dict[str, Any]) -> None:
    assert await SleepAction(config).execute({}) == "wake_up"


async def test_sleep_custom_success_event() -> None:
    assert await SleepAction({"duration": 0, "success": "rested"}).execute({}) == "rested"


async def test_sleep_waits_at_least_the_duration() -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()

    await SleepAction({"duration": 0.05}).execute({})

    assert loop.time() - start >= 0.05


async def test_sleep_defaults_to_one_second() -> None:
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(SleepAction({}).execute({}), 0.2)


@pytest.mark.parametrize("bad", ["soon", -1, None, [1], {"s": 1}])
async def test_sleep_bad_duration_raises(bad: Any) -> None:
    with pytest.raises(ValueError, match="duration"):
        await SleepAction({"duration": bad}).execute({})


async def test_sleep_is_cancelled_at_once() -> None:
    task = asyncio.create_task(SleepAction({"duration": 300}).execute({}))
    await asyncio.sleep(0)  # let it start: this yields once, it does not wait for anything

    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 1)


# -- set_context -----------------------------------------------------------------------


@pytest.mark.parametrize("value", [5, 2.5, True, None, "text", [1, "b"], {"a": {"b": 1}}])
async def test_set_context_key_value_keeps_type(value: Any) -> None:
    context: dict[str, Any] = {}

    assert await SetContextAction({"key": "thing", "value": value}).execute(context) == "success"

    assert context == {"thing": value}
    assert type(context["thing"]) is type(value)


async def test_set_context_values_mapping_and_dotted_keys() -> None:
    context: dict[str, Any] = {"result": {"kept": 1}, "scalar": 7}

    event = await SetContextAction(
        {"values": {"a": 1, "result.count": 2, "scalar.inner": 3, "x.y.z": "deep"}}
    ).execute(context)

    assert event == "success"
    assert context == {
        "a": 1,
        "result": {"kept": 1, "count": 2},
        "scalar": {"inner": 3},
        "x": {"y": {"z": "deep"}},
    }


async def test_set_context_key_and_values_together_and_custom_success() -> None:
    context: dict[str, Any] = {}

    event = await SetContextAction(
        {"values": {"a": 1}, "key": "b", "value": 2, "success": "stored"}
    ).execute(context)

    assert event == "stored"
    assert context == {"a": 1, "b": 2}


@pytest.mark.parametrize(
    "key", ["machine_name", "current_state", "event_data", "event_data.payload.x", "job_id"]
)
async def test_set_context_refuses_engine_keys(key: str) -> None:
    context: dict[str, Any] = {"machine_name": "m", "event_data": {"payload": {}}}
    before = repr(context)

    with pytest.raises(ValueError, match="engine"):
        await SetContextAction({"key": key, "value": "hijacked"}).execute(context)

    assert repr(context) == before


async def test_set_context_refused_values_mapping_changes_nothing() -> None:
    context: dict[str, Any] = {"machine_name": "m"}

    with pytest.raises(ValueError, match="machine_name"):
        await SetContextAction({"values": {"fine": 1, "machine_name": "evil"}}).execute(context)

    assert context == {"machine_name": "m"}


async def test_set_context_may_set_last_error() -> None:
    context: dict[str, Any] = {}

    await SetContextAction({"key": "last_error", "value": "cleared"}).execute(context)

    assert context == {"last_error": "cleared"}


@pytest.mark.parametrize("config", [{}, {"value": 1}, {"values": ["a", "b"]}, {"values": "a=1"}])
async def test_set_context_bad_config_raises(config: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="set_context"):
        await SetContextAction(config).execute({})


async def test_set_context_lone_placeholder_keeps_type_through_the_engine(
    machines: Machines,
) -> None:
    engine, _ = await machines.run(
        """
        initial_state: working
        transitions:
          - {from: working, to: completed, event: done}
        actions:
          working:
            - {type: set_context, key: copy, value: "{numbers}"}
            - {type: set_context, key: text, value: "n={numbers.0}"}
            - {type: set_context, key: size, value: "{numbers|length}"}
            - type: set_context
              values: {result.first: "{numbers.0}", result.flag: true}
              success: done
        """,
        initial_context={"numbers": [4, 5]},
    )

    assert engine.state == "completed"
    assert engine.context["copy"] == [4, 5]
    assert engine.context["text"] == "n=4"
    assert engine.context["size"] == 2
    assert engine.context["result"] == {"first": 4, "flag": True}


# -- add_to_list -----------------------------------------------------------------------


async def test_add_to_list_creates_the_list() -> None:
    context: dict[str, Any] = {}

    assert await AddToListAction({"list": "queue", "value": "a"}).execute(context) == "success"

    assert context == {"queue": ["a"]}


@pytest.mark.parametrize("list_option", ["list", "list_key", "key"])
@pytest.mark.parametrize("value_option", ["value", "item"])
async def test_add_to_list_aliases(list_option: str, value_option: str) -> None:
    context: dict[str, Any] = {"queue": [1]}

    await AddToListAction({list_option: "queue", value_option: {"id": 2}}).execute(context)

    assert context == {"queue": [1, {"id": 2}]}


async def test_add_to_list_falsy_values_are_values() -> None:
    context: dict[str, Any] = {}

    for value in (0, "", False):
        await AddToListAction({"list": "q", "value": value, "item": "ignored"}).execute(context)

    assert context["q"] == [0, "", False]


async def test_add_to_list_unique() -> None:
    context: dict[str, Any] = {"seen": ["a"]}

    for value in ("a", "b", "b"):
        await AddToListAction({"list": "seen", "value": value, "unique": True}).execute(context)
    await AddToListAction({"list": "seen", "value": "a"}).execute(context)

    assert context["seen"] == ["a", "b", "a"]


async def test_add_to_list_custom_success() -> None:
    action = AddToListAction({"list": "q", "value": 1, "success": "queued"})
    assert await action.execute({}) == "queued"


async def test_add_to_list_errors() -> None:
    with pytest.raises(ValueError, match="list"):
        await AddToListAction({"value": 1}).execute({})
    context: dict[str, Any] = {"q": "not a list"}
    with pytest.raises(ValueError, match="not a list"):
        await AddToListAction({"list": "q", "value": 1}).execute(context)
    assert context == {"q": "not a list"}


# -- pop_from_list ---------------------------------------------------------------------


async def test_pop_from_list_front_by_default() -> None:
    context: dict[str, Any] = {"q": [1, 2, 3]}

    assert await PopFromListAction({"list": "q"}).execute(context) == "item_popped"

    assert context == {"q": [2, 3], "popped_item": 1}


async def test_pop_from_list_back_and_store_as() -> None:
    context: dict[str, Any] = {"q": [1, 2, 3]}

    event = await PopFromListAction(
        {"list_key": "q", "from": "back", "store_as": "last", "success": "got"}
    ).execute(context)

    assert event == "got"
    assert context == {"q": [1, 2], "last": 3}


@pytest.mark.parametrize("context", [{"q": []}, {}, {"q": None}])
async def test_pop_from_list_empty_or_missing(context: dict[str, Any]) -> None:
    before = dict(context)

    assert await PopFromListAction({"key": "q"}).execute(context) == "list_empty"
    assert await PopFromListAction({"key": "q", "empty": "drained"}).execute(context) == "drained"

    assert context == before


async def test_pop_from_list_errors() -> None:
    with pytest.raises(ValueError, match="front or back"):
        await PopFromListAction({"list": "q", "from": "middle"}).execute({"q": [1]})
    with pytest.raises(ValueError, match="not a list"):
        await PopFromListAction({"list": "q"}).execute({"q": {"a": 1}})
    with pytest.raises(ValueError, match="list"):
        await PopFromListAction({}).execute({"q": [1]})


async def test_list_actions_drive_a_queue_loop_through_the_engine(machines: Machines) -> None:
    engine, _ = await machines.run(
        """
        initial_state: filling
        transitions:
          - {from: filling, to: draining, event: filled}
          - {from: draining, to: draining, event: next}
          - {from: draining, to: completed, event: drained}
        actions:
          filling:
            - {type: add_to_list, list: queue, value: "{first}"}
            - {type: add_to_list, list_key: queue, item: b}
            - {type: add_to_list, key: queue, value: "{first}", unique: true}
            - {type: log, message: "filled", success: filled}
          draining:
            - {type: pop_from_list, list: queue, store_as: item, empty: drained}
            - {type: add_to_list, list: seen, value: "{item}", success: next}
        """,
        initial_context={"first": {"id": 1}},
    )

    assert engine.state == "completed"
    assert engine.context["seen"] == [{"id": 1}, "b"]
    assert engine.context["queue"] == []


DIRECT_CASES = [
    (
        BashAction,
        {"command": "printf %s {x}", "success": "ok"},
        {"x": "a b"},
        "ok",
        "stdout",
        "a b",
    ),
    (LogAction, {"message": "m", "level": "debug", "success": "ok"}, {}, "ok", None, None),
    (SleepAction, {"seconds": 0, "success": "ok"}, {}, "ok", None, None),
    (SetContextAction, {"key": "k", "value": [1], "success": "ok"}, {}, "ok", "k", [1]),
    (AddToListAction, {"list_key": "l", "item": 1, "success": "ok"}, {}, "ok", "l", [1]),
    (PopFromListAction, {"list": "l", "store_as": "p", "empty": "none"}, {}, "none", "p", None),
    (
        PopFromListAction,
        {"list": "l", "from": "back", "store_as": "p"},
        {"l": [1, 2]},
        "item_popped",
        "p",
        2,
    ),
]


@pytest.mark.parametrize("nested", [False, True], ids=["top-level", "params"])
@pytest.mark.parametrize(
    ("cls", "options", "context", "event", "key", "value"),
    DIRECT_CASES,
    ids=[f"{case[0].__name__}-{i}" for i, case in enumerate(DIRECT_CASES)],
)
async def test_actions_read_options_from_params_when_instantiated_directly(
    cls: type[BaseAction],
    options: dict[str, Any],
    context: dict[str, Any],
    event: str,
    key: str | None,
    value: Any,
    nested: bool,
) -> None:
    config = {"type": "x", "params": dict(options)} if nested else dict(options)
    context = copy.deepcopy(context)

    assert await cls(config).execute(context) == event

    if key is not None:
        assert context.get(key) == value


# -- params: means the same as top-level options --------------------------------------

TOP_LEVEL = """
initial_state: working
transitions:
  - {from: working, to: completed, event: finished}
actions:
  working:
    - {type: set_context, key: greeting, value: hello, success: ignored}
    - {type: add_to_list, list: items, value: "{greeting}"}
    - {type: add_to_list, list: items, value: world}
    - {type: pop_from_list, list: items, from: back, store_as: last}
    - {type: sleep, duration: 0, success: rested}
    - {type: log, message: "{greeting} {last}", level: warning}
    - type: bash
      command: "printf '%s' {greeting} {last}; exit 3"
      store_as: shell
      error_mappings: {3: finished}
"""

IN_PARAMS = """
initial_state: working
transitions:
  - {from: working, to: completed, event: finished}
actions:
  working:
    - {type: set_context, params: {key: greeting, value: hello, success: ignored}}
    - {type: add_to_list, params: {list: items, value: "{greeting}"}}
    - {type: add_to_list, params: {list: items, value: world}}
    - {type: pop_from_list, params: {list: items, from: back, store_as: last}}
    - {type: sleep, params: {duration: 0, success: rested}}
    - {type: log, params: {message: "{greeting} {last}", level: warning}}
    - type: bash
      params:
        command: "printf '%s' {greeting} {last}; exit 3"
        store_as: shell
        error_mappings: {3: finished}
"""


@pytest.mark.parametrize("text", [TOP_LEVEL, IN_PARAMS], ids=["top-level", "params"])
async def test_options_under_params_work_like_top_level(text: str, machines: Machines) -> None:

    engine, recorder = await machines.run(text)

    assert engine.state == "completed"
    context = engine.context
    assert context["greeting"] == "hello"
    assert context["items"] == ["hello"]
    assert context["last"] == "world"
    assert context["shell"] == {"stdout": "helloworld", "stderr": "", "exit_code": 3}
    assert recorder.activities == [("hello world", "warning")]


# -- retries ---------------------------------------------------------------------------

COUNTING_COMMAND = (
    "n=$(cat {counter} 2>/dev/null || echo 0); n=$((n + 1)); echo $n > {counter}; "
    "[ $n -ge {needed} ]"
)


async def test_retry_until_success(tmp_path: Path, machines: Machines) -> None:
    counter = tmp_path / "runs"
    engine, _ = await machines.run(
        f"""
        initial_state: working
        final: [failed]
        transitions:
          - {{from: working, to: completed, event: done}}
          - {{from: working, to: failed, event: error}}
        actions:
          working:
            - type: bash
              command: "{COUNTING_COMMAND}"
              success: done
              retry: {{attempts: 3, backoff: 0.01}}
        """,
        initial_context={"counter": str(counter), "needed": 3},
    )

    assert counter.read_text().strip() == "3"
    assert engine.state == "completed"
    assert engine.context["exit_code"] == 0


async def test_retry_exhausted_emits_the_error_event(tmp_path: Path, machines: Machines) -> None:
    counter = tmp_path / "runs"
    engine, recorder = await machines.run(
        f"""
        initial_state: working
        final: [failed]
        transitions:
          - {{from: working, to: completed, event: done}}
          - {{from: working, to: failed, event: gave_up}}
        actions:
          working:
            - type: bash
              params:
                command: "{COUNTING_COMMAND}"
                success: done
                error: gave_up
                retry: {{attempts: 3, backoff: 0.01}}
        """,
        initial_context={"counter": str(counter), "needed": 99},
    )

    assert counter.read_text().strip() == "3"
    assert engine.state == "failed"
    assert engine.context["exit_code"] == 1
    assert recorder.changes[-1] == ("working", "failed", "gave_up")


async def test_no_retry_runs_once(tmp_path: Path, machines: Machines) -> None:
    counter = tmp_path / "runs"
    engine, _ = await machines.run(
        f"""
        initial_state: working
        final: [failed]
        transitions:
          - {{from: working, to: failed, event: error}}
        actions:
          working:
            - type: bash
              command: "{COUNTING_COMMAND}"
        """,
        initial_context={"counter": str(counter), "needed": 99},
    )

    assert engine.state == "failed"
    assert counter.read_text().strip() == "1"


RAISING_ACTION = """
from pathlib import Path

from statemachine_engine.actions import BaseAction


class ExplodeAction(BaseAction):
    async def execute(self, context):
        runs = Path(context["counter"])
        runs.write_text(str(int(runs.read_text()) + 1) if runs.exists() else "1")
        raise RuntimeError(f"kaboom on run {runs.read_text()}")
"""


async def test_raising_action_becomes_the_error_event(tmp_path: Path, machines: Machines) -> None:
    write(tmp_path / "actions" / "explode_action.py", RAISING_ACTION)
    counter = tmp_path / "runs"
    engine, _ = await machines.run(
        """
        initial_state: working
        final: [failed]
        transitions:
          - {from: working, to: completed, event: done}
          - {from: working, to: failed, event: error}
        actions:
          working:
            - {type: explode}
            - {type: log, message: "never reached", success: done}
        """,
        initial_context={"counter": str(counter)},
    )

    assert engine.state == "failed"
    assert engine.context["last_error"] == "kaboom on run 1"
    assert counter.read_text() == "1"


async def test_raising_action_with_retry_and_custom_error(
    tmp_path: Path, machines: Machines
) -> None:
    write(tmp_path / "actions" / "explode_action.py", RAISING_ACTION)
    counter = tmp_path / "runs"
    engine, _ = await machines.run(
        """
        initial_state: working
        final: [broken]
        transitions:
          - {from: working, to: broken, event: exploded}
        actions:
          working:
            - type: explode
              params:
                error: exploded
                retry: {attempts: 2, backoff: 0.01}
        """,
        initial_context={"counter": str(counter)},
    )

    assert engine.state == "broken"
    assert counter.read_text() == "2"
    assert engine.context["last_error"] == "kaboom on run 2"


async def test_builtin_raising_in_the_engine_sets_last_error(machines: Machines) -> None:
    engine, _ = await machines.run(
        """
        initial_state: working
        final: [failed]
        transitions:
          - {from: working, to: failed, event: error}
        actions:
          working:
            - {type: pop_from_list, list: q, from: sideways}
        """,
        initial_context={"q": [1]},
    )

    assert engine.state == "failed"
    assert "front or back" in engine.context["last_error"]
    assert engine.context["q"] == [1]


def test_recording_runtime_is_a_part_of_the_action_runtime() -> None:
    """The recorder used above offers only verbs of BaseAction.runtime's port, each
    with the port's own signature (it leaves out those the actions it serves never use)."""
    import inspect

    from statemachine_engine.actions.base import ActionRuntime

    for name, member in vars(RecordingRuntime).items():
        if name.startswith("_"):
            continue
        assert hasattr(ActionRuntime, name), name
        if inspect.isfunction(member):
            assert inspect.signature(member) == inspect.signature(getattr(ActionRuntime, name))


@pytest.fixture(autouse=True)
def _no_stray_pwned_files(tmp_path: Path) -> Iterator[None]:
    yield
    assert not (tmp_path / "pwned").exists()
