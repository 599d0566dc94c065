"""YAML limits (issue 13, point 9): aliases, nesting and size are bounded in the loader.

An alias bomb ("billion laughs") kept ``statemachine-validate`` busy for a minute at
4.5 GB; now every tool that reads configs refuses it at once, in one ``file:line`` line.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from statemachine_engine.config._yaml_source import MAX_ALIAS_NODES, MAX_YAML_BYTES, MAX_YAML_DEPTH
from tests.support.files import write
from tests.support.processes import STATEMACHINE

VALIDATE = [sys.executable, "-m", "statemachine_engine.tools.lint.cli"]
DIAGRAMS = [sys.executable, "-m", "statemachine_engine.tools.diagrams.cli"]
TOOLS = {
    "statemachine-validate": VALIDATE,
    "statemachine-diagrams": DIAGRAMS,
    "statemachine": [*STATEMACHINE, "--machine-name", "m"],
}
#: Generous: the bound is what stops the bomb; this only keeps a broken build from hanging.
DEADLINE = 60


def alias_bomb() -> str:
    """Nine levels of nine aliases each: 9**9 (387 million) strings once expanded."""
    lines = [
        "name: Bomb",
        "initial_state: idle",
        "states: [idle]",
        'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
    ]
    for level in range(1, 9):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "\n".join(lines) + "\n"


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    output = (result.stdout + result.stderr).splitlines()
    found = [line for line in output if ".yaml:" in line]
    assert len(found) == 1, output  # one line, naming file:line
    return found


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_an_alias_bomb_is_refused_in_one_line_with_its_place(tool: str, tmp_path: Path) -> None:
    config = write(tmp_path / "bomb.yaml", alias_bomb())
    found = errors(run([*TOOLS[tool], str(config)], tmp_path))
    assert re.search(r"bomb\.yaml:\d+:", found[0]), found[0]
    assert f"YAML aliases expand to more than {MAX_ALIAS_NODES} nodes" in found[0]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("x: " + "[" * 5000 + "]" * 5000, id="flow"),
        pytest.param("x: " + "{a: " * 5000 + "1" + "}" * 5000, id="mapping"),
    ],
)
def test_deep_yaml_is_refused_in_one_line(body: str, tmp_path: Path) -> None:
    config = write(tmp_path / "deep.yaml", "name: Deep\ninitial_state: idle\n" + body + "\n")
    found = errors(run([*VALIDATE, str(config)], tmp_path))
    assert (
        f"deep.yaml:3: SM001 error YAML nested more than {MAX_YAML_DEPTH} levels deep" in (found[0])
    )


def test_a_config_larger_than_the_bound_is_refused_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "large.yaml"
    config.write_text("name: Large\n# " + "x" * MAX_YAML_BYTES + "\n", encoding="utf-8")
    found = errors(run([*VALIDATE, str(config)], tmp_path))
    assert f"the config is too large: {config.stat().st_size} bytes" in found[0]


def test_configs_that_share_blocks_through_aliases_still_load(tmp_path: Path) -> None:
    shared = "\n".join(
        f"  s{i}: *work" if i else "  s0: &work\n    - {type: log, message: hi}" for i in range(200)
    )
    transitions = "\n".join(
        f"  - {{from: s{i}, to: s{i + 1}, event: continue}}" for i in range(199)
    )
    config = write(
        tmp_path / "shared.yaml",
        "name: Shared\ninitial_state: s0\nfinal: [s199]\n"
        f"transitions:\n{transitions}\nactions:\n{shared}\n",
    )
    result = run([*VALIDATE, str(config)], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
