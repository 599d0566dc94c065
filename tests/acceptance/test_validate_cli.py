"""``statemachine-validate`` / ``statemachine-lint`` as real processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.golden.diagram_configs import COMPAT
from tests.support.files import write
from tests.support.processes import console_script, run_cli

#: The examples' machine configs (each multi-machine example's manifest,
#: statemachine-project.yaml, is not one).
EXAMPLE_CONFIGS = sorted(
    p for p in EXAMPLES.glob("*/*.yaml") if p.name != "statemachine-project.yaml"
)
SIMPLE_WORKER = EXAMPLES / "simple_worker" / "simple_worker.yaml"


def script(name: str = "statemachine-validate") -> list[str]:
    found = console_script(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e . first")
    return found


def actions_dir_of(config: Path) -> list[str]:
    actions = config.parent / "actions"
    return ["--actions-dir", str(actions)] if actions.is_dir() else []


@pytest.mark.parametrize("name", ["statemachine-validate", "statemachine-lint"])
def test_help(name: str, tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path, argv=script(name))
    assert result.returncode == 0
    for option in ("--strict", "--format", "--simulate", "--actions-dir"):
        assert option in result.stdout


@pytest.mark.parametrize("config", EXAMPLE_CONFIGS, ids=lambda p: p.stem)
def test_every_example_is_clean_even_with_strict(config: Path, tmp_path: Path) -> None:
    result = run_cli("--strict", config, *actions_dir_of(config), cwd=tmp_path, argv=script())
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "0 errors, 0 warnings in 1 config" in result.stderr


def test_a_manifest_stands_for_the_configs_it_names(tmp_path: Path) -> None:
    pipeline = EXAMPLES / "pipeline"
    given = [pipeline / "statemachine-project.yaml", pipeline / "ingest.yaml"]
    result = run_cli("--strict", *given, cwd=tmp_path, argv=script())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors, 0 warnings in 3 configs" in result.stderr


def test_a_config_with_errors_and_warnings(tmp_path: Path) -> None:
    config = write(
        tmp_path / "m.yaml",
        """
        initial_state: waiting
        transitions:
          - {from: waiting, to: working, event: go}
          - {from: working, to: completed, event: job_done}
        actions:
          working:
            - {type: bsh, command: "true"}
        """,
    )
    result = run_cli(config, cwd=tmp_path, argv=script("statemachine-lint"))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{config}:3: SM202 warning event 'go' is returned by no action, is no timeout and "
        "is not declared under events:. If another machine or an operator sends it, list it "
        "under events:; otherwise fix the name",
        f"{config}:7: SM102 error unknown action type 'bsh' in state 'working': no builtin has "
        "that name and no --actions-dir provides bsh_action.py",
    ]
    assert "1 error, 1 warning in 1 config" in result.stderr

    data = json.loads(run_cli("--format", "json", config, cwd=tmp_path, argv=script()).stdout)
    assert (data["ok"], data["errors"], data["warnings"]) == (False, 1, 1)
    assert data["findings"][1] == {
        "path": str(config),
        "line": 7,
        "column": 7,
        "code": "SM102",
        "severity": "error",
        "message": data["findings"][1]["message"],
    }


def test_warnings_fail_only_with_strict(tmp_path: Path) -> None:
    config = write(
        tmp_path / "m.yaml",
        """
        initial_state: waiting
        transitions:
          - {from: waiting, to: completed, event: go}
        """,
    )
    assert run_cli(config, cwd=tmp_path, argv=script()).returncode == 0
    strict = run_cli("--strict", config, cwd=tmp_path, argv=script())
    assert strict.returncode == 1
    assert "SM202 warning" in strict.stdout


def test_a_payload_value_in_bash_arithmetic_is_a_warning_with_its_line(tmp_path: Path) -> None:
    config = write(
        tmp_path / "calc.yaml",
        """
        initial_state: waiting
        events:
          go: {context_map: {n: payload.n}}
        transitions:
          - {from: waiting, to: checking, event: go}
          - {from: checking, to: waiting, event: job_done}
          - {from: checking, to: waiting, event: error}
        actions:
          checking:
            - type: bash
              command: "[[ {n} -gt 3 ]] && echo big || echo small"
        """,
    )
    result = run_cli(config, cwd=tmp_path, argv=script())
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{config}:10: SM206 warning bash action in state 'checking': placeholder {{n}} lands "
        "in a bash arithmetic context ([[ -eq/-ne/-lt/-le/-gt/-ge ]]) and its value comes "
        "from an event's payload (promoted by context_map): at run time it must hold an "
        "integer literal such as 42, else the action fails with its error: event. Give the "
        "action an error: event with a transition, or check the value in an earlier bash "
        "action ([[ {n} =~ ^[+-]?[0-9]+$ ]]) whose error: leads elsewhere"
    ]
    assert "0 errors, 1 warning in 1 config" in result.stderr
    assert run_cli("--strict", config, cwd=tmp_path, argv=script()).returncode == 1


def test_a_config_that_does_not_load_is_one_finding(tmp_path: Path) -> None:
    config = write(tmp_path / "bad.yaml", "initial_state: a\ntransitions:\n  - {from: a\n")
    result = run_cli(config, SIMPLE_WORKER, cwd=tmp_path, argv=script())
    assert result.returncode == 1
    assert result.stdout.startswith(f"{config}:4: SM001 error invalid YAML")
    assert len(result.stdout.splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_configs_given_together_send_each_other_events(tmp_path: Path) -> None:
    sender = write(
        tmp_path / "sender.yaml",
        """
        initial_state: sending
        transitions:
          - {from: sending, to: completed, event: event_sent}
        actions:
          sending:
            - {type: send_event, target_machine: receiver, event_type: ping}
        """,
    )
    receiver = write(
        tmp_path / "receiver.yaml",
        """
        initial_state: waiting
        transitions:
          - {from: waiting, to: completed, event: ping}
        """,
    )
    alone = run_cli("--strict", receiver, cwd=tmp_path, argv=script())
    assert alone.returncode == 1
    together = run_cli("--strict", receiver, sender, cwd=tmp_path, argv=script())
    assert together.returncode == 0, together.stdout


@pytest.mark.parametrize("path", COMPAT, ids=lambda p: p.stem)
def test_compat_configs_lint_without_crashing(path: Path, tmp_path: Path) -> None:
    result = run_cli("--format", "json", path, cwd=tmp_path, argv=script())
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    json.loads(result.stdout)


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = run_cli(tmp_path / "nope.yaml", cwd=tmp_path, argv=script())
    assert missing.returncode == 2
    assert "config file not found" in missing.stderr
    bad_dir = run_cli(SIMPLE_WORKER, "--actions-dir", tmp_path / "x", cwd=tmp_path, argv=script())
    assert bad_dir.returncode == 2
    assert run_cli("--format", "xml", SIMPLE_WORKER, cwd=tmp_path, argv=script()).returncode == 2
    for result in (missing, bad_dir):
        assert result.stderr.strip().count("\n") == 0


def test_simulate(tmp_path: Path) -> None:
    walk = run_cli(
        SIMPLE_WORKER,
        "--simulate",
        "no_jobs, new_job,job_done,success,stop",
        cwd=tmp_path,
        argv=script(),
    )
    assert walk.returncode == 0, walk.stderr
    assert walk.stdout.splitlines() == [
        "initial: waiting",
        "waiting --no_jobs--> waiting",
        "waiting --new_job--> processing",
        "processing --job_done--> finishing",
        "finishing --success--> waiting",
        "waiting --stop--> stopped",
        "final: stopped (terminal)",
    ]


def test_simulate_stops_at_the_first_event_with_no_transition(tmp_path: Path) -> None:
    walk = run_cli(
        SIMPLE_WORKER,
        "--simulate",
        "new_job,success,stop",
        "--format",
        "json",
        cwd=tmp_path,
        argv=script(),
    )
    assert walk.returncode == 1
    data = json.loads(walk.stdout)
    assert data["steps"] == [{"from": "waiting", "event": "new_job", "to": "processing"}]
    assert data["unhandled"] == {"index": 1, "event": "success", "state": "processing"}
    assert "no transition from 'processing' on 'success' (event 2 of 3)" in walk.stderr


def test_simulate_usage_errors(tmp_path: Path) -> None:
    two = run_cli(SIMPLE_WORKER, SIMPLE_WORKER, "--simulate", "a", cwd=tmp_path, argv=script())
    assert two.returncode == 2
    empty = run_cli(SIMPLE_WORKER, "--simulate", "a,,b", cwd=tmp_path, argv=script())
    assert empty.returncode == 2
    bad = write(tmp_path / "bad.yaml", "initial_state: [\n")
    assert run_cli(bad, "--simulate", "a", cwd=tmp_path, argv=script()).returncode == 2
