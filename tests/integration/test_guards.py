"""Guarded transitions in a real ``statemachine`` process: events routed by ``if:``,
a guard that cannot be evaluated reported and counted as false, an event no guard
takes dropped with a reason that says so."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from tests.support.files import write
from tests.support.processes import MachineProcess, moved, run_cli

StartMachine = Callable[..., MachineProcess]
DB_CLI = [sys.executable, "-m", "statemachine_engine.database.cli"]

ROUTER = """
initial_state: waiting
events:
  file: {context_map: {size: payload.size}}
  done: {}
transitions:
  - {from: waiting, to: image, event: file, if: 'event_data.payload.kind == "image" && size < 1000'}
  - {from: waiting, to: large, event: file, if: "size >= 1000"}
  - {from: waiting, to: other, event: file}
  - {from: [image, large, other], to: waiting, event: done}
  - {from: waiting, to: counted, event: count, if: "seen > 1"}
  - {from: counted, to: waiting, event: done}
  - {from: "*", to: stopped, event: stop}
"""


def _send(tmp_path: Path, event: str, payload: object) -> None:
    sent = run_cli(
        "send-event",
        "--target",
        "router",
        "--type",
        event,
        "--payload",
        json.dumps(payload),
        cwd=tmp_path,
        argv=DB_CLI,
    )
    assert sent.returncode == 0, sent.stderr


def test_guards_route_each_event_to_the_first_transition_whose_if_holds(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    router = statemachine(write(tmp_path / "router.yaml", ROUTER))
    router.expect(moved("router", None, "start", "waiting"))
    for payload, target in (
        ({"kind": "image", "size": 10}, "image"),
        ({"kind": "image", "size": 5000}, "large"),
        ({"kind": "text", "size": 10}, "other"),
    ):
        _send(tmp_path, "file", payload)
        router.expect(moved("router", "waiting", "file", target))
        _send(tmp_path, "done", {})
        router.expect(moved("router", target, "done", "waiting"))
    assert router.stop() == 0


def test_a_guard_that_cannot_be_evaluated_is_reported_and_the_event_dropped(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    router = statemachine(write(tmp_path / "router.yaml", ROUTER))
    router.expect(moved("router", None, "start", "waiting"))
    _send(tmp_path, "count", {})
    router.expect(r"if: seen > 1 .* could not be evaluated on 'count': seen is not set")
    router.expect(r"no transition from 'waiting' on 'count' whose if: holds; event dropped")
    events = run_cli("list-events", "--format", "json", cwd=tmp_path, argv=DB_CLI)
    assert events.returncode == 0, events.stderr
    dropped = [e for e in json.loads(events.stdout) if e["event_type"] == "count"]
    assert dropped
    assert "whose if: holds" in json.dumps(dropped[0])
    # The machine goes on: the next event is routed as usual.
    _send(tmp_path, "file", {"kind": "text", "size": 1})
    router.expect(moved("router", "waiting", "file", "other"))
    assert router.stop() == 0


def test_a_config_whose_guard_does_not_compile_is_refused_with_its_line(
    tmp_path: Path, statemachine: StartMachine
) -> None:
    broken = ROUTER.replace('if: "size >= 1000"', 'if: "size >= "')
    router = statemachine(write(tmp_path / "router.yaml", broken))
    assert router.wait() != 0
    assert "router.yaml:7:" in router.stderr
    assert "if: syntax error" in router.stderr
    assert "Traceback" not in router.stderr
