"""``statemachine`` as users run it: a real process, real signals, real control socket.

A running machine is watched through its stderr (the engine logs every transition as
``[name] a --event--> b``), read line by line with a deadline; nothing sleeps.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from statemachine_engine._version import __version__
from tests.conftest import EXAMPLES
from tests.support.fifo import Fifo
from tests.support.files import mode, write
from tests.support.pids import Reaper, live_members
from tests.support.processes import (
    MODULE,
    STATEMACHINE,
    MachineProcess,
    console_script,
    control_path,
    moved,
    run_cli,
    send,
    socket_dir,
)

HELLO = EXAMPLES / "hello" / "hello.yaml"


# -- helpers ------------------------------------------------------------------------


def assert_one_error_line(result: subprocess.CompletedProcess[str], *patterns: str) -> str:
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("statemachine: error: "), line
    for pattern in patterns:
        assert re.search(pattern, line), (pattern, line)
    return line


def assert_no_traceback(machine: MachineProcess) -> None:
    assert "Traceback" not in machine.stderr
    assert "CRITICAL" not in machine.stderr


WAITER = """
    name: Waiter
    initial_state: waiting
    events: [go, quit]
    transitions:
      - {from: waiting, to: working, event: go}
      - {from: working, to: waiting, event: continue}
      - {from: "*", to: stopped, event: quit}
    actions:
      working:
        - {type: log, message: "working on {event_data.payload.file} (job {event_data.job_id})"}
      stopped:
        - {type: log, message: "bye"}
    """

LONG_RUNNER = """
    initial_state: working
    transitions:
      - {from: working, to: completed, event: job_done}
    actions:
      working:
        - type: bash
          command: 'sleep 60 & echo "$$ $!" > {fifo}; wait'
    """


# -- running to the end ----------------------------------------------------------------


def launchers() -> list[Any]:
    script = console_script("statemachine")
    return [
        pytest.param(MODULE, id="python-m"),
        pytest.param(
            script,
            id="console-script",
            marks=pytest.mark.skipif(script is None, reason="statemachine is not on PATH"),
        ),
    ]


@pytest.mark.parametrize("argv", launchers())
def test_hello_example_runs_to_the_end(tmp_path: Path, argv: list[str]) -> None:
    result = run_cli(HELLO, cwd=tmp_path, argv=argv)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    expected = [
        re.escape("[hello] --start--> greeting"),
        re.escape("[hello] Hello from hello!"),
        moved("hello", "greeting", "greeted", "counting"),
        re.escape("[hello] count is now 1"),
        moved("hello", "counting", "more", "counting"),
        re.escape("[hello] count is now 2"),
        re.escape("[hello] count is now 3"),
        moved("hello", "counting", "enough", "completed"),
        re.escape("[hello] Done: counted to 3."),
    ]
    position = 0
    for pattern in expected:  # in this order
        while position < len(lines) and not re.search(pattern, lines[position]):
            position += 1
        assert position < len(lines), f"{pattern!r} missing or out of order:\n{result.stderr}"
    # The machine ended by itself: the control socket is gone.
    assert not control_path("hello").exists()


@pytest.mark.parametrize("argv", launchers())
def test_version(tmp_path: Path, argv: list[str]) -> None:
    result = run_cli("--version", cwd=tmp_path, argv=argv)
    assert result.returncode == 0
    assert result.stdout.strip() == f"statemachine {__version__}"


def test_help(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.startswith("usage: statemachine ")
    for option in (
        "--machine-name",
        "--actions-dir",
        "--initial-context",
        "--db",
        "--debug",
        "--event-socket-path",
        "--control-socket-prefix",
        "--version",
        "STATEMACHINE_DB",
    ):
        assert option in result.stdout, option


# -- user errors ---------------------------------------------------------------------------

BAD_YAML = """
    initial_state: a
    transitions:
      - {from: a, to: b, event: x
    """

UNKNOWN_ACTION = """
    initial_state: a
    transitions:
      - {from: a, to: b, event: x}
    actions:
      a:
        - type: frobnicate
    """

UNKNOWN_STATE = """
    initial_state: a
    states: [a, b]
    transitions:
      - {from: a, to: b, event: x}
      - {from: b, to: c, event: y}
    """

GOOD = """
    initial_state: a
    transitions:
      - {from: a, to: completed, event: start}
    """


@pytest.mark.parametrize(
    ("config", "extra", "code", "patterns"),
    [
        pytest.param(None, [], 1, [r"missing\.yaml", "not found"], id="missing-file"),
        pytest.param(BAD_YAML, [], 1, [r"config\.yaml:4:\d+: ", "invalid YAML"], id="bad-yaml"),
        pytest.param(
            UNKNOWN_ACTION,
            [],
            1,
            [r"config\.yaml:6:\d+: ", "unknown action type 'frobnicate'", "bash"],
            id="unknown-action",
        ),
        pytest.param(
            UNKNOWN_STATE, [], 1, [r"config\.yaml:5:\d+: ", "'c'", "not listed"], id="unknown-state"
        ),
        pytest.param(
            GOOD,
            ["--initial-context", "{not json"],
            2,
            ["--initial-context", "JSON"],
            id="bad-json",
        ),
        pytest.param(
            GOOD,
            ["--initial-context", "[1, 2]"],
            2,
            ["--initial-context", "object"],
            id="not-object",
        ),
        pytest.param(
            GOOD,
            ["--actions-dir", "no-such-dir"],
            1,
            ["no-such-dir", "not found"],
            id="actions-dir",
        ),
        pytest.param(
            GOOD,
            ["--machine-name", "m" * 100],
            1,
            ["cannot bind control socket", "bytes long, over the 107"],
            id="socket-path-too-long",
        ),
    ],
)
def test_user_errors_give_one_line_and_no_traceback(
    tmp_path: Path, config: str | None, extra: list[str], code: int, patterns: list[str]
) -> None:
    path = tmp_path / "missing.yaml" if config is None else write(tmp_path / "config.yaml", config)
    result = run_cli(path, *extra, cwd=tmp_path)
    assert result.returncode == code, result.stderr
    assert_one_error_line(result, *patterns)
    assert list(socket_dir().glob("*.sock")) == []


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        pytest.param(["--machine-name", "a/b"], "--machine-name: .*'/'", id="slash"),
        pytest.param(["--machine-name", ""], "--machine-name: must not be blank", id="empty"),
        pytest.param(
            ["--machine-name", "a\nb"], "--machine-name: .*control character", id="newline"
        ),
        pytest.param(["--instances", "1000000000"], "--instances: must be 1 to 100000", id="many"),
    ],
)
def test_flags_that_cannot_name_machines_are_usage_errors(
    tmp_path: Path, flags: list[str], says: str
) -> None:
    result = run_cli(write(tmp_path / "config.yaml", GOOD), *flags, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert re.search(f"^statemachine: error: argument {says}", result.stderr.splitlines()[-1])
    assert not (tmp_path / "data").exists()  # refused before anything was made


def test_a_config_that_is_not_a_mapping_is_a_user_error(tmp_path: Path) -> None:
    result = run_cli(write(tmp_path / "list.yaml", "- a\n- b\n"), cwd=tmp_path)
    assert result.returncode == 1
    assert_one_error_line(result, r"list\.yaml")


# -- context and names ------------------------------------------------------------------------


def test_initial_context_seeds_the_context(tmp_path: Path) -> None:
    config = write(
        tmp_path / "greeter.yaml",
        """
        initial_state: greet
        transitions:
          - {from: greet, to: completed, event: continue}
        actions:
          greet:
            - {type: log, message: "{greeting}, {who}! ({count})"}
        """,
    )
    context = json.dumps({"greeting": "hello", "who": "world", "count": 3})
    result = run_cli(config, "--initial-context", context, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "[greeter] hello, world! (3)" in result.stderr


@pytest.mark.parametrize(
    ("metadata", "flag", "expected"),
    [
        pytest.param("metadata: {machine_name: from_meta}", None, "from_meta", id="metadata"),
        pytest.param("", None, "whoami", id="file-stem"),
        pytest.param("metadata: {machine_name: from_meta}", "flagged", "flagged", id="flag"),
    ],
)
def test_machine_name(tmp_path: Path, metadata: str, flag: str | None, expected: str) -> None:
    config = write(
        tmp_path / "whoami.yaml",
        f"""
        name: "Who am I"
        {metadata}
        initial_state: ask
        transitions:
          - {{from: ask, to: completed, event: continue}}
        actions:
          ask:
            - {{type: log, message: "I am {{machine_name}}"}}
        """,
    )
    args = [config] if flag is None else [config, "--machine-name", flag]
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"[{expected}] I am {expected}" in result.stderr
    assert f"[{expected}] --start--> ask" in result.stderr


# -- signals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"]
)
def test_signals_stop_a_machine_cleanly_during_a_long_action(
    tmp_path: Path,
    statemachine: Callable[..., MachineProcess],
    fifo: Fifo,
    reaper: Reaper,
    signum: int,
    code: int,
) -> None:
    config = write(tmp_path / "long.yaml", LONG_RUNNER)
    machine = statemachine(config, "--initial-context", json.dumps({"fifo": str(fifo)}))
    machine.expect(moved("long", None, "start", "working"))
    assert control_path("long").exists()
    shell, child = reaper.watch(*map(int, fifo.readline().split()))
    machine.proc.send_signal(signum)
    assert machine.wait() == code, machine.stderr
    assert child.exited(), "the bash action's child survived"
    assert shell.exited(), "the bash action's shell survived"
    assert live_members(shell.pid) == []
    assert not control_path("long").exists()
    assert_no_traceback(machine)
    assert "completed" not in machine.stderr  # the action's result was discarded


def test_a_second_process_with_the_same_name_is_refused(
    tmp_path: Path, statemachine: Callable[..., MachineProcess]
) -> None:
    config = write(tmp_path / "waiter.yaml", WAITER)
    first = statemachine(config)
    first.expect(moved("waiter", None, "start", "waiting"))

    second = run_cli(config, cwd=tmp_path)
    assert second.returncode == 1
    assert_one_error_line(second, "'waiter'", "already running", str(first.proc.pid))
    assert first.proc.poll() is None
    assert control_path("waiter").exists()  # the refused process did not remove it

    # Another name is fine meanwhile.
    other = statemachine(config, "--machine-name", "waiter2")
    other.expect(moved("waiter2", None, "start", "waiting"))
    send("waiter2", "quit")
    assert other.wait() == 0

    send("waiter", "quit")
    first.expect(moved("waiter", "waiting", "quit", "stopped"))
    assert first.wait() == 0

    # Once the first has ended, the name is free again.
    third = statemachine(config)
    third.expect(moved("waiter", None, "start", "waiting"))
    send("waiter", "quit")
    assert third.wait() == 0


# -- the control socket ---------------------------------------------------------------------------


def test_control_socket_events_drive_transitions(
    tmp_path: Path, statemachine: Callable[..., MachineProcess]
) -> None:
    config = write(tmp_path / "waiter.yaml", WAITER)
    machine = statemachine(config)
    machine.expect(moved("waiter", None, "start", "waiting"))
    path = control_path("waiter")
    assert path.exists()
    assert mode(path) == 0o600

    send("waiter", "go", {"file": "a.txt"}, job_id=7)
    machine.expect(moved("waiter", "waiting", "go", "working"))
    machine.expect(re.escape("[waiter] working on a.txt (job 7)"))
    machine.expect(moved("waiter", "working", "continue", "waiting"))

    # The earlier implementation's tools send the payload as a JSON string.
    send("waiter", "go", json.dumps({"file": "b.txt"}))
    machine.expect(re.escape("[waiter] working on b.txt"))
    machine.expect(moved("waiter", "working", "continue", "waiting"))

    send("waiter", "quit")
    machine.expect(moved("waiter", "waiting", "quit", "stopped"))
    machine.expect(re.escape("[waiter] bye"))
    assert machine.wait() == 0
    assert not path.exists()
    assert_no_traceback(machine)


def test_bad_datagrams_are_logged_and_the_machine_goes_on(
    tmp_path: Path, statemachine: Callable[..., MachineProcess]
) -> None:
    config = write(tmp_path / "waiter.yaml", WAITER)
    machine = statemachine(config)
    machine.expect(moved("waiter", None, "start", "waiting"))

    send("waiter", b"{this is not json")
    machine.expect("not JSON")
    send("waiter", b'{"no_type": 1}')
    machine.expect('without a "type"')
    send("waiter", "unknown_event")
    machine.expect("unknown_event")  # logged as dropped
    send("waiter", "go", {"file": "ok.txt"})
    machine.expect(re.escape("[waiter] working on ok.txt"))

    send("waiter", "quit")
    assert machine.wait() == 0
    assert_no_traceback(machine)


def test_log_file_holds_what_stderr_shows(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "hello.log"
    result = run_cli(HELLO, "--log-file", log, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert log.read_text() == result.stderr
    assert mode(log) == 0o600
    bad = run_cli(HELLO, "--log-file", "/proc/no/such/hello.log", cwd=tmp_path)
    assert_one_error_line(bad, "cannot open log file /proc/no/such/hello.log")


def test_control_socket_prefix(tmp_path: Path, statemachine: Callable[..., MachineProcess]) -> None:
    config = write(tmp_path / "waiter.yaml", WAITER)
    prefix = socket_dir() / "legacy"
    machine = statemachine(config, "--control-socket-prefix", prefix)
    machine.expect(moved("waiter", None, "start", "waiting"))
    path = Path(f"{prefix}-waiter.sock")
    assert path.exists()
    assert not control_path("waiter").exists()
    send("waiter", "quit", path=path)
    assert machine.wait() == 0
    assert not path.exists()


ECHO_SETTINGS = """
    name: Echo settings
    initial_state: echoing
    states: [echoing, done]
    final: [done]
    transitions:
      - {from: echoing, to: done, event: echoed}
    actions:
      echoing:
        - type: bash
          command: printf '%s|%s' "$STATEMACHINE_DB" "$STATEMACHINE_CONTROL_SOCKET_PREFIX" > OUT
          success: echoed
"""


def test_commands_get_the_store_and_prefix_from_the_flags(
    tmp_path: Path, statemachine: Callable[..., MachineProcess]
) -> None:
    # The flags win over the environment the machine was started with (the test's
    # STATEMACHINE_DB), and what a command starts works on the same store.
    out = tmp_path / "settings.txt"
    config = write(tmp_path / "echo.yaml", ECHO_SETTINGS.replace("OUT", str(out)))
    prefix = tmp_path / "flagged"
    machine = statemachine(
        config, "--db", tmp_path / "flagged.db", "--control-socket-prefix", prefix
    )
    assert machine.wait() == 0, machine.stderr
    assert out.read_text() == f"{tmp_path / 'flagged.db'}|{prefix}"


# -- configs written for the earlier implementation -----------------------------------------------


def test_compat_timeout_worker(
    tmp_path: Path,
    statemachine: Callable[..., MachineProcess],
    compat_config: Callable[[str], Path],
) -> None:
    machine = statemachine(compat_config("timeout_worker.yaml"))
    machine.expect(moved("timeout_worker", None, "start", "initializing"))
    machine.expect(moved("timeout_worker", "initializing", "initialized", "waiting"))
    send("timeout_worker", "start_work")
    machine.expect(moved("timeout_worker", "waiting", "start_work", "processing"))
    machine.expect("Processing work")
    # `* --stop--> completed`; completed's cleanup emits stop again, which ends it.
    send("timeout_worker", "stop")
    machine.expect(moved("timeout_worker", "processing", "stop", "completed"))
    machine.expect("Demo completed")
    assert machine.wait() == 0
    assert "timed_out" not in machine.stderr
    assert_no_traceback(machine)


GREET_ACTION = """
from statemachine_engine.actions.base import BaseAction


class GreetAction(BaseAction):
    async def execute(self, context):
        payload = context.get("event_data", {}).get("payload") or {}
        self.logger.info("Hello, %s!", payload.get("name", "stranger"))
        return self.get_config_value("success", "greeted")
"""

CALCULATE_ACTION = """
import operator

from statemachine_engine.actions.base import BaseAction

OPERATIONS = {
    "add": operator.add,
    "subtract": operator.sub,
    "multiply": operator.mul,
    "divide": operator.truediv,
}


class CalculateAction(BaseAction):
    async def execute(self, context):
        payload = context.get("event_data", {}).get("payload") or {}
        operation = payload.get("operation") or self.get_config_value("operation", "add")
        result = OPERATIONS[operation](payload["a"], payload["b"])
        context["calculation_result"] = result
        self.logger.info("%s gives %s", operation, result)
        return self.get_config_value("success", "calculated")
"""


def test_custom_actions_dir(
    tmp_path: Path,
    statemachine: Callable[..., MachineProcess],
    compat_config: Callable[[str], Path],
) -> None:
    actions = tmp_path / "my_actions"
    write(actions / "greet_action.py", GREET_ACTION)
    write(actions / "nested" / "calculate_action.py", CALCULATE_ACTION)
    machine = statemachine(compat_config("custom_actions_worker.yaml"), "--actions-dir", actions)
    machine.expect(moved("custom_worker", None, "start", "waiting"))

    send("custom_worker", "greet", {"name": "Ada"})
    machine.expect("Hello, Ada!")
    machine.expect(moved("custom_worker", "greeting", "greeted", "waiting"))

    send("custom_worker", "calculate", {"a": 6, "b": 7})
    machine.expect("add gives 13")
    machine.expect(moved("custom_worker", "calculating", "calculated", "waiting"))

    send("custom_worker", "calculate", {"a": 6, "b": 7, "operation": "multiply"})
    machine.expect("multiply gives 42")
    machine.expect(moved("custom_worker", "calculating", "calculated", "waiting"))

    send("custom_worker", "stop")
    machine.expect(re.escape("Worker shutting down"))
    assert machine.wait() == 0
    assert_no_traceback(machine)
    # `calculated` leads out of calculating, so the log after it is skipped (DESIGN.md:
    # an action's event that causes a transition skips the rest of the list).
    assert "Calculation result" not in machine.stderr


def test_custom_actions_need_the_actions_dir(
    tmp_path: Path, compat_config: Callable[[str], Path]
) -> None:
    result = run_cli(compat_config("custom_actions_worker.yaml"), cwd=tmp_path)
    assert result.returncode == 1
    assert_one_error_line(result, "unknown action type 'greet'")


def test_an_actions_dir_overrides_a_builtin(tmp_path: Path) -> None:
    actions = tmp_path / "actions"
    write(
        actions / "log_action.py",
        """
        from statemachine_engine.actions.base import BaseAction


        class LogAction(BaseAction):
            async def execute(self, context):
                self.logger.warning("CUSTOM LOG: %s", self.get_config_value("message"))
                return "logged"
        """,
    )
    config = write(
        tmp_path / "custom_log.yaml",
        """
        initial_state: a
        transitions:
          - {from: a, to: completed, event: logged}
        actions:
          a:
            - {type: log, message: "from {machine_name}"}
        """,
    )
    result = run_cli(config, "--actions-dir", actions, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "CUSTOM LOG: from custom_log" in result.stderr
    assert "[custom_log] a --logged--> completed" in result.stderr


def test_sigterm_while_a_stopped_machine_closes_still_exits_0(tmp_path: Path) -> None:
    """SIGTERMs that arrive after the machine has ended, while the process closes (a
    supervisor's late stop), once killed it (-15): each moment of the close is hit."""
    with subprocess.Popen(
        [*STATEMACHINE, EXAMPLES / "simple_worker" / "simple_worker.yaml"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as machine:
        assert machine.stderr is not None
        seen = []
        for line in machine.stderr:
            seen.append(line)
            if "--start--> waiting" in line:
                send("simple_worker", "stop")
            if "Simple worker stopped" in line:
                break
        status = None
        while status is None:  # signal it again and again until it has exited
            machine.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                status = machine.wait(timeout=0.001)
        seen.append(machine.stderr.read())
    assert status == 0, "".join(seen)
