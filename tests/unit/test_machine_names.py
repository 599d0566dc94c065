"""The names machines run under: chosen from the flag, the config and its file; refused
where they could not name a machine's files and log lines."""

from __future__ import annotations

import pytest

from statemachine_engine._input_rules import MAX_NAME_LENGTH as MAX_MACHINE_NAME
from statemachine_engine.config.loader import config_from_text
from statemachine_engine.config.model import MachineConfig
from statemachine_engine.core._launches import (
    MAX_INSTANCES,
    check_machine_name,
    instance_names,
    machine_name_for,
)
from statemachine_engine.errors import StateMachineError

CONFIG = """
name: Named
{metadata}
initial_state: a
transitions:
  - {{from: a, to: completed, event: go}}
"""


def config(metadata: str = "", path: str | None = "/configs/worker.v2.yaml") -> MachineConfig:
    return config_from_text(CONFIG.format(metadata=metadata), path=path)


def test_the_flag_then_the_metadata_then_the_file_then_the_config_name() -> None:
    assert machine_name_for(config("metadata: {machine_name: meta}"), "flagged") == "flagged"
    assert machine_name_for(config("metadata: {machine_name: meta}")) == "meta"
    assert machine_name_for(config()) == "worker.v2"
    assert machine_name_for(config(path=None)) == "Named"


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("", "must not be blank"),
        ("  ", "must not be blank"),
        ("a/b", "holds '/'"),
        ("a\nb", "control character"),
        ("tab\there", "control character"),
        ("del\x7f", "control character"),
        ("x" * (MAX_MACHINE_NAME + 1), f"at most {MAX_MACHINE_NAME} characters"),
    ],
)
def test_a_name_that_cannot_name_a_machine_is_refused(name: str, says: str) -> None:
    with pytest.raises(StateMachineError, match=says):
        check_machine_name(name)


@pytest.mark.parametrize("name", ["worker_1", "a b", "é-ü", "x" * MAX_MACHINE_NAME, "v1.2"])
def test_names_users_give_are_taken(name: str) -> None:
    check_machine_name(name)


def test_a_bad_name_from_the_metadata_is_refused_too() -> None:
    with pytest.raises(StateMachineError, match="holds '/'"):
        machine_name_for(config("metadata: {machine_name: a/b}"))


def test_instances_are_numbered_and_bounded() -> None:
    assert instance_names("w", None) == ["w"]
    assert instance_names("w", 2) == ["w_001", "w_002"]
    assert instance_names("w", 1000)[-1] == "w_1000"
    with pytest.raises(StateMachineError, match=f"at most {MAX_INSTANCES}"):
        instance_names("w", MAX_INSTANCES + 1)
    with pytest.raises(StateMachineError, match="at most"):
        instance_names("x" * (MAX_MACHINE_NAME - 3), 10)
