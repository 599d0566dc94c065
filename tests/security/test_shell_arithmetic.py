"""Payload values never run as code in bash arithmetic contexts (issue 13, point 1).

Bash evaluates the *value* of a variable expanded in an arithmetic context as an
expression, and ``a[$(cmd)]`` in an expression runs ``cmd``: quoting cannot protect a
value there. A value landing in one must be an integer literal, or the action fails
with its error event and a message naming the placeholder. Real machine processes,
real bash.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.files import write
from tests.support.processes import MachineProcess, moved, send

StartMachine = Callable[..., MachineProcess]

CONFIG = """
name: calc
initial_state: waiting
events:
  go: {{context_map: {{n: payload.n}}}}
transitions:
  - {{from: waiting, to: checking, event: go}}
  - {{from: checking, to: done, event: checked}}
  - {{from: checking, to: refused, event: refused}}
  - {{from: done, to: waiting, event: continue}}
  - {{from: refused, to: waiting, event: continue}}
  - {{from: "*", to: stopped, event: stop}}
actions:
  checking:
    - type: bash
      command: {command}
      success: checked
      error: refused
  done:
    - {{type: log, message: "result {{stdout}}"}}
  refused:
    - {{type: log, message: "refused: {{last_error}}"}}
"""

ATTACKS = ["a[$(touch pwned)]", "x[`touch pwned`]", "1+a[$(touch pwned)]", "$(touch pwned)"]

COMMANDS = {
    "[[ -gt ]]": ('"[[ {n} -gt 3 ]] && echo big || echo small"', {"5": "big", "-7": "small"}),
    "$(( ))": ('"echo $(( {n} + 1 ))"', {"5": "6", "-7": "-6"}),
    "let": ("\"let 'r = 0'; let r={n}*2; echo $r\"", {"5": "10", "-7": "-14"}),
    "subscript": ('"a=(x y z); a[{n}]=w; echo ${a[*]}"', {"1": "x w z", "-1": "x y w"}),
    "backquotes": ('"echo `echo $(( {n} ))`"', {"5": "5", "-7": "-7"}),
    "substring": ('"s=abcdef; echo \\"${s:{n}:2}\\""', {"1": "bc", "-2": "ef"}),
}


@pytest.mark.parametrize("construct", sorted(COMMANDS))
def test_a_payload_never_runs_in_an_arithmetic_context(
    construct: str, tmp_path: Path, statemachine: StartMachine
) -> None:
    command, results = COMMANDS[construct]
    config = write(tmp_path / "calc.yaml", CONFIG.format(command=command))
    machine = statemachine(config, "--machine-name", "calc")
    machine.expect(moved("calc", None, "start", "waiting"))
    for attack in ATTACKS:
        send("calc", "go", {"n": attack})
        line = machine.expect(r"\[calc\] refused: .*")
        assert "placeholder {n}" in line, line
        assert "integer literal" in line, line
        machine.expect(moved("calc", "refused", "continue", "waiting"))
        assert not (tmp_path / "pwned").exists(), (construct, attack)
    # Integers still work, negative ones included.
    for number, expected in results.items():
        send("calc", "go", {"n": number})
        machine.expect(rf"\[calc\] result {__import__('re').escape(expected)}$")
        machine.expect(moved("calc", "done", "continue", "waiting"))
    send("calc", "stop")
    assert machine.wait() == 0
    assert not (tmp_path / "pwned").exists()
