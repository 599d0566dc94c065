"""What ``statemachine-validate`` passes, ``statemachine`` runs: broken custom action files
(SM109) and action options that fail every time (SM110), as real processes.

Each ``statemachine`` run uses the test's own SQLite file (``STATEMACHINE_DB``, set per
test by ``tests/conftest.py``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.files import write
from tests.support.processes import console_script, run_cli

VALIDATE = console_script("statemachine-validate") or [
    sys.executable,
    "-m",
    "statemachine_engine.tools.lint.cli",
]
SYSTEM = console_script("statemachine-system") or [
    sys.executable,
    "-m",
    "statemachine_engine.system.cli",
]


def one_action(name: str, action: str, event: str) -> str:
    """A machine whose state ``a`` runs ``action`` and moves on ``event`` to completed."""
    return (
        f"name: {name}\ninitial_state: a\n"
        f"transitions:\n  - {{from: a, to: completed, event: {event}}}\n"
        f"actions:\n  a:\n    - {action}\n"
    )


USES_SYN = one_action("syn", "{type: syn, success: ok}", "ok")

#: Custom action files that cannot be loaded: (source, line the error names, its words).
BROKEN = {
    "syntax-error": ("def oops(:\n", 1, "cannot import action 'syn': SyntaxError: "),
    "missing-module": (
        "import os\nimport no_such_module_for_statemachine_tests\n",
        2,
        "cannot import action 'syn': ModuleNotFoundError: No module named "
        "'no_such_module_for_statemachine_tests'",
    ),
    "exits-when-imported": (
        "import sys\nsys.exit(3)\n",
        2,
        "cannot import action 'syn': SystemExit: 3",
    ),
    "no-action-class": ("X = 1\n", None, "expected a BaseAction subclass named SynAction"),
    "plain-def-execute": (
        "from statemachine_engine.actions import BaseAction\n\n\n"
        "class SynAction(BaseAction):\n"
        "    def execute(self, context):\n"
        "        return 'ok'\n",
        5,
        "SynAction.execute must be `async def`",
    ),
}


def errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    """``statemachine``'s error lines, or a linter's findings (a traceback fails the test)."""
    assert "Traceback" not in result.stdout + result.stderr
    refused = [line for line in result.stderr.splitlines() if ": error: " in line]
    return refused + result.stdout.splitlines()


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_an_action_file_statemachine_refuses_is_an_error_of_validate(
    case: str, tmp_path: Path
) -> None:
    source, line, words = BROKEN[case]
    action = write(tmp_path / "acts" / "syn_action.py", source).resolve()
    config = write(tmp_path / "syn.yaml", USES_SYN)
    where = f"{action}:{line}" if line else str(action)

    run = run_cli("--actions-dir", "acts", config, cwd=tmp_path)
    [refusal] = errors(run)
    assert run.returncode == 1, run.stderr
    assert refusal.startswith(f"statemachine: error: {where}: ")
    assert words in refusal
    assert "--start-->" not in run.stderr  # it never started

    lint = run_cli("--actions-dir", "acts", config, cwd=tmp_path, argv=VALIDATE)
    assert lint.returncode == 1, lint.stdout + lint.stderr
    [finding] = errors(lint)
    assert finding.startswith(f"{action}:{line or 1}: SM109 error ")
    assert refusal.removeprefix(f"statemachine: error: {where}: ") in finding
    assert finding.endswith(f"; state 'a' runs it ({config}:7)")
    assert "1 error, 0 warnings in 1 config" in lint.stderr


def test_the_system_manifest_lints_each_machine_with_its_actions_dir(tmp_path: Path) -> None:
    write(tmp_path / "acts" / "syn_action.py", "raise SystemExit(3)\n")
    write(tmp_path / "syn.yaml", USES_SYN)
    write(
        tmp_path / "statemachine-project.yaml",
        "name: h\nmachines:\n  syn: {config: syn.yaml, actions_dir: acts}\n",
    )

    result = run_cli("validate", cwd=tmp_path, argv=SYSTEM)

    assert result.returncode == 1, result.stdout + result.stderr
    [finding] = errors(result)
    assert finding.startswith(f"{(tmp_path / 'acts' / 'syn_action.py').resolve()}:1: SM109 error ")
    assert "cannot import action 'syn': SystemExit: 3" in finding


def test_a_keyboard_interrupt_while_importing_an_action_stays_an_interrupt(
    tmp_path: Path,
) -> None:
    write(tmp_path / "acts" / "syn_action.py", "raise KeyboardInterrupt\n")
    config = write(tmp_path / "syn.yaml", USES_SYN)

    assert run_cli("--actions-dir", "acts", config, cwd=tmp_path).returncode == 130
    assert run_cli("--actions-dir", "acts", config, cwd=tmp_path, argv=VALIDATE).returncode == 130


BASH_TIMEOUT = one_action(
    "types3", '{type: bash, command: "echo hi", timeout: TIMEOUT}', "job_done"
)


def test_a_bash_timeout_that_is_no_number_refuses_the_start_as_validate_reports(
    tmp_path: Path,
) -> None:
    config = write(tmp_path / "types3.yaml", BASH_TIMEOUT.replace("TIMEOUT", '"ten"'))
    expected = (
        f"{config}:7: SM110 error bash action in state 'a' fails every time it runs: "
        "option timeout must be a number of seconds (or 90s, 5m, 2h), got 'ten'"
    )

    lint = run_cli(config, cwd=tmp_path, argv=VALIDATE)
    assert lint.returncode == 1
    assert lint.stdout.splitlines() == [expected]

    run = run_cli(config, cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert errors(run) == [f"statemachine: error: {expected}"]
    assert "--start-->" not in run.stderr


def test_a_bash_timeout_known_only_at_run_time_fails_the_action_in_plain_words(
    tmp_path: Path,
) -> None:
    text = BASH_TIMEOUT.replace("TIMEOUT", '"{limit}"').replace(
        "event: job_done}", "event: job_done}\n  - {from: a, to: failed, event: error}"
    )
    config = write(tmp_path / "types3.yaml", text + "final: [completed, failed]\n")

    run = run_cli(config, "--initial-context", '{"limit": "ten"}', cwd=tmp_path)

    assert run.returncode == 0, run.stderr
    assert (
        "action bash in 'a' failed: option timeout must be a number of seconds "
        "(or 90s, 5m, 2h), got 'ten'"
    ) in run.stderr
    assert "could not convert" not in run.stderr
    assert "--error--> failed" in run.stderr


def test_a_bash_timeout_with_units_runs(tmp_path: Path) -> None:
    config = write(tmp_path / "types3.yaml", BASH_TIMEOUT.replace("TIMEOUT", "90s"))

    assert run_cli(config, cwd=tmp_path, argv=VALIDATE).returncode == 0
    run = run_cli(config, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "a --job_done--> completed" in run.stderr
