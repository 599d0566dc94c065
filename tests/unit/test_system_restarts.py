"""Restart decisions and the command line of each supervised process (pure)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from statemachine_engine.system import MachineSpec, RestartPolicy, manifest_from_text
from statemachine_engine.system._process import command_for, units_of
from statemachine_engine.system._restarts import decide, describe_exit

FAST = RestartPolicy("on-failure", max_restarts=3, within=60.0, backoff=1.0, max_backoff=5.0)


@pytest.mark.parametrize(
    ("mode", "status", "restarts"),
    [
        ("always", 0, True),
        ("always", 1, True),
        ("on-failure", 0, False),
        ("on-failure", 1, True),
        ("on-failure", -9, True),
        ("no", 1, False),
    ],
)
def test_the_policy_says_whether(mode: str, status: int, restarts: bool) -> None:
    decision = decide(FAST._replace(mode=mode), status, [], now=100.0)
    assert decision.restart is restarts
    assert not decision.gave_up


def test_the_backoff_doubles_up_to_its_cap_and_a_crash_loop_gives_up() -> None:
    delays = []
    recent: list[float] = []
    for now in (10.0, 11.0, 13.0):
        decision = decide(FAST, 1, recent, now)
        delays.append(decision.delay)
        recent.append(now + decision.delay)
    assert delays == [1.0, 2.0, 4.0]
    final = decide(FAST, 1, recent, 20.0)
    assert (final.restart, final.gave_up) == (False, True)
    assert "crash loop: 3 restarts within 60s" in final.reason


def test_restarts_long_ago_do_not_count() -> None:
    decision = decide(FAST, 1, [0.0, 1.0, 2.0], now=500.0)
    assert (decision.restart, decision.delay) == (True, 1.0)


def test_no_restarts_allowed_gives_up_at_once() -> None:
    decision = decide(FAST._replace(max_restarts=0), 1, [], 0.0)
    assert (decision.restart, decision.gave_up) == (False, True)
    assert decision.reason == "exited 1; max_restarts is 0, given up"


def test_a_usage_error_is_not_restarted() -> None:
    decision = decide(FAST._replace(mode="always"), 2, [], 0.0)
    assert (decision.restart, decision.gave_up) == (False, True)


def test_exits_in_words() -> None:
    assert describe_exit(0) == "exited 0"
    assert describe_exit(-9) == "killed by SIGKILL"


def test_one_process_per_machine_and_per_group(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.yaml").write_text("initial_state: s\n")
    manifest = manifest_from_text(
        "store: p.db\n"
        "machines:\n"
        "  a: {config: a.yaml, instances: 3, initial_context: {n: 1}}\n"
        "  b: {config: b.yaml, in_process: front}\n"
        "  c: {config: c.yaml, in_process: front}\n",
        tmp_path / "statemachine-project.yaml",
    )
    units = units_of(list(manifest.machines.values()))
    assert [(u.name, [s.name for s in u.specs]) for u in units] == [
        ("a", ["a"]),
        ("front", ["b", "c"]),
    ]
    head = [sys.executable, "-m", "statemachine_engine"]
    assert command_for(units[0], manifest) == [
        *head,
        str(tmp_path / "a.yaml"),
        "--machine-name",
        "a",
        "--instances",
        "3",
        "--initial-context",
        json.dumps({"n": 1}),
        "--db",
        str(tmp_path / "p.db"),
    ]
    assert command_for(units[1], manifest) == [
        *head,
        str(tmp_path / "b.yaml"),
        str(tmp_path / "c.yaml"),
        "--db",
        str(tmp_path / "p.db"),
    ]
    assert isinstance(units[0].specs[0], MachineSpec)
