"""Dead ends at run time and failures nobody handled, seen from the engine and the host.

The CLI refuses configs whose lint finds a dead end before they start
(``tests/acceptance/test_dead_ends.py``); a config given to the engine or the host as
a model is not linted, and the engine itself ends a machine that enters such a state.
"""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest

from statemachine_engine.config.loader import config_from_text
from statemachine_engine.core._host import MachineHost
from statemachine_engine.database._sqlite import SqliteStore
from statemachine_engine.errors import ConfigRefused, DeadEndError, UnhandledFailure
from tests.support.engines import Machines
from tests.support.files import write

DEAD_END = """
    initial_state: a
    transitions:
      - {from: a, to: failed, event: go}
    actions:
      a:
        - {type: log, message: "working", success: go}
      failed:
        - {type: log, message: "tidying up before the end"}
"""


async def test_entering_a_state_with_no_way_out_ends_the_machine_as_a_failure(
    machines: Machines, caplog: pytest.LogCaptureFixture
) -> None:
    engine, recorder = await machines.run(DEAD_END)
    assert engine.state == "failed"
    assert engine.finish_reason == "dead_end"
    assert isinstance(engine.failure, DeadEndError)
    assert str(engine.failure) == (
        "state 'failed' has no way out: add a transition from it, or list it under `final:`"
    )
    assert engine.failure.state == "failed"
    # Its actions ran first, like a terminal state's.
    assert recorder.messages == ["working", "tidying up before the end"]
    [record] = [r for r in caplog.records if getattr(r, "action", None) == "dead_end"]
    assert record.levelno == logging.ERROR
    assert record.state == "failed"  # type: ignore[attr-defined]


async def test_a_state_listed_as_final_ends_cleanly(machines: Machines) -> None:
    engine, _ = await machines.run(DEAD_END + "    final: [failed]\n")
    assert engine.finish_reason == "final"
    assert engine.failure is None


@pytest.mark.parametrize(
    "way_out",
    [
        "  - {from: failed, to: a, event: retry}\n",
        "  - {from: '*', to: a, event: retry}\n",
        "  - {from: failed, to: a, event: timeout(60)}\n",
        "  - {from: failed, to: failed, event: ping}\n",
    ],
    ids=["transition", "wildcard", "timeout", "loop"],
)
async def test_a_state_with_some_way_out_waits(machines: Machines, way_out: str) -> None:
    text = DEAD_END.replace("transitions:\n", "transitions:\n    " + way_out)
    engine, recorder, _ = machines.start(text)
    await recorder.entered("failed")
    await recorder.until(lambda: "tidying up before the end" in recorder.messages)
    assert await machines.stop(engine) == "failed"
    assert engine.finish_reason == "stopped"
    assert engine.failure is None


async def test_a_host_reports_a_dead_end_among_its_failures_and_records_it_stopped(
    db: Path, store: SqliteStore
) -> None:
    config = config_from_text(textwrap.dedent(DEAD_END))
    async with MachineHost(db=str(db), control=False, event_socket_path=False) as host:
        host.spawn(config, machine_name="ender")
        results = await host.wait()
    assert results == {"ender": "failed"}
    assert isinstance(host.failures["ender"], DeadEndError)
    record = await store.load_machine("ender")
    assert record is not None
    assert (record.current_state, record.status) == ("failed", "stopped")


async def test_a_host_refuses_a_config_path_whose_lint_finds_a_dead_end(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path / "dead.yaml", DEAD_END)
    async with MachineHost(durable=False, control=False, event_socket_path=False) as host:
        with pytest.raises(ConfigRefused) as refused:
            host.spawn(path, machine_name="never")
        assert not host.machines
    [line] = refused.value.lines
    assert line.startswith(f"{path}:8: SM105 error state 'failed' has no way out")


async def test_a_host_logs_lint_warnings_once_for_many_instances(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = DEAD_END + "    final: [failed]\n"
    text = text.replace("transitions:\n", "transitions:\n      - {from: a, to: a, event: ping}\n")
    path = write(tmp_path / "warned.yaml", text)
    async with MachineHost(durable=False, control=False, event_socket_path=False) as host:
        for n in range(5):
            host.spawn(path, machine_name=f"warned_{n}")
        await host.wait()
    assert not host.failures
    warnings = [r for r in caplog.records if getattr(r, "action", None) == "lint_finding"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert warnings[0].getMessage().startswith(f"{path}:3: SM202 warning event 'ping'")


# -- errors no transition takes -------------------------------------------------------------


async def test_an_unhandled_error_event_is_a_warning_with_the_actions_message(
    machines: Machines, caplog: pytest.LogCaptureFixture
) -> None:
    text = """
        initial_state: a
        transitions:
          - {from: a, to: completed, event: done}
        actions:
          a:
            - {type: fail_job}
            - {type: log, message: "next", success: done}
    """
    engine, _ = await machines.run(text)
    [record] = [r for r in caplog.records if getattr(r, "action", None) == "error_unhandled"]
    assert record.levelno == logging.WARNING
    assert record.error == "fail_job: no job_id given and no job claimed"  # type: ignore[attr-defined]
    assert record.event == "error"  # type: ignore[attr-defined]
    assert record.state == "a"  # type: ignore[attr-defined]
    # The config moved on from that state: the end is a clean one.
    assert engine.finish_reason == "final"
    assert engine.failure is None


async def test_ending_in_a_terminal_state_right_after_an_unhandled_error_is_a_failure(
    machines: Machines,
) -> None:
    text = """
        initial_state: completed
        transitions: []
        actions:
          completed:
            - {type: bash, command: "echo nope >&2; exit 5"}
    """
    engine, _ = await machines.run(text)
    assert engine.finish_reason == "final"
    assert isinstance(engine.failure, UnhandledFailure)
    assert str(engine.failure) == (
        "ended in 'completed' right after an action failed (command exited with status 5: "
        "nope) and no transition took its error event 'error'"
    )


async def test_a_handled_error_is_no_failure(machines: Machines) -> None:
    text = """
        initial_state: a
        transitions:
          - {from: a, to: completed, event: error}
        actions:
          a:
            - {type: bash, command: "exit 5"}
    """
    engine, _ = await machines.run(text)
    assert engine.state == "completed"
    assert engine.failure is None
