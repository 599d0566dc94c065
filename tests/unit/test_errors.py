"""One exception tree, defined in errors.py and drawn in its docstring (STYLE.md #7)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

import statemachine_engine
from statemachine_engine import errors
from statemachine_engine.errors import StateMachineError

# A node of the drawn tree: the root alone, or "├── Name" / "└── Name" under "│   " or
# "    " per level; a line holding only "│" and text carries on the description above.
_NODE = re.compile(
    r"^ {4}(?:(?P<root>StateMachineError)\b|(?P<indent>(?:[│ ] {3})*)[├└]── (?P<name>\w+))"
)


def drawn_tree() -> list[tuple[str, str | None, str]]:
    """``(name, parent, description)`` of each class drawn in errors.py's docstring."""
    assert errors.__doc__ is not None
    block = errors.__doc__.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    nodes: list[tuple[str, str | None, str]] = []
    path: list[str] = []
    for line in block.splitlines():
        match = _NODE.match(line)
        if match is None:
            assert nodes, f"the tree starts with a line that is no class: {line!r}"
            name, parent, description = nodes[-1]
            nodes[-1] = (name, parent, description + " " + line.strip(" │"))
            continue
        if match["root"]:
            depth, name = 0, match["root"]
        else:
            depth, name = len(match["indent"]) // 4 + 1, match["name"]
        del path[depth:]
        assert len(path) == depth, f"{name} is drawn below a missing parent"
        nodes.append((name, path[-1] if path else None, line[match.end() :].strip()))
        path.append(name)
    return nodes


def defined_tree() -> dict[str, str | None]:
    """Name -> parent (its base within the tree) of every class errors.py defines."""
    tree: dict[str, str | None] = {}
    for name, value in vars(errors).items():
        if inspect.isclass(value) and issubclass(value, BaseException):
            assert value.__module__ == errors.__name__, f"{name} is imported into errors.py"
            bases = [base for base in value.__bases__ if issubclass(base, StateMachineError)]
            tree[name] = bases[0].__name__ if bases else None
    return tree


def test_the_docstring_draws_every_class_under_its_parent() -> None:
    drawn = {name: parent for name, parent, _ in drawn_tree()}
    assert drawn == defined_tree()


def test_the_tree_has_one_root() -> None:
    assert [name for name, parent in defined_tree().items() if parent is None] == [
        "StateMachineError"
    ]


def test_a_second_base_is_named_where_the_class_is_drawn() -> None:
    for name, _, description in drawn_tree():
        for base in getattr(errors, name).__bases__:
            if not issubclass(base, StateMachineError) and base is not Exception:
                assert f"also a {base.__name__}" in description, name


def _package_modules() -> list[str]:
    found = [statemachine_engine.__name__]
    for module in pkgutil.walk_packages(statemachine_engine.__path__, "statemachine_engine."):
        if not module.name.endswith("__main__") and module.name != errors.__name__:
            found.append(module.name)
    return found


def test_no_public_exception_is_defined_outside_errors_py() -> None:
    outside = []
    for module_name in _package_modules():
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module_name
                and not name.startswith("_")
            ):
                outside.append(f"{module_name}.{name}")
    assert outside == []


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("statemachine_engine.database", "JobNotFound"),
        ("statemachine_engine.database", "StoreError"),
        ("statemachine_engine.database", "StoreNotFound"),
        ("statemachine_engine.database.store", "JobNotFound"),
        ("statemachine_engine.database.store", "StoreError"),
        ("statemachine_engine.database.store", "StoreNotFound"),
        ("statemachine_engine.database.store", "StoreReplaced"),
        ("statemachine_engine.monitoring._diagrams", "DiagramNotFound"),
        ("statemachine_engine.monitoring._diagrams", "DiagramUnavailable"),
        ("statemachine_engine.messaging._event_socket", "EventSocketBusy"),
        ("statemachine_engine._jsondata", "JSONDataError"),
        ("statemachine_engine.core.interpolation", "ShellValueError"),
        ("statemachine_engine.config._transitions", "MalformedTimeout"),
    ],
)
def test_the_older_import_paths_name_the_same_class(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is getattr(errors, name)


def test_a_config_error_carries_the_rule_it_breaks() -> None:
    assert errors.ConfigError("bad").rule == errors.LOAD_RULE == "SM001"
    assert errors.ConfigError("bad", rule="SM101").rule == "SM101"
    unknown = errors.UnknownActionError("bsh", ["bash"], path="m.yaml", line=3)
    assert errors.UnknownActionError("zzz", ["bash"]).message == (
        "unknown action type 'zzz'; known types: bash"  # nothing near: no guess
    )
    assert unknown.rule == errors.UNKNOWN_ACTION_RULE == "SM102"
    assert str(unknown) == (
        "m.yaml:3: unknown action type 'bsh' (did you mean 'bash'?); known types: bash"
    )


def test_errors_that_are_also_value_errors_keep_their_message() -> None:
    timeout = errors.MalformedTimeout("malformed timeout event 'timeout(x)'")
    assert isinstance(timeout, ValueError)
    assert str(timeout) == "malformed timeout event 'timeout(x)'"
    data = errors.JSONDataError("too deep", bounded=False)
    assert isinstance(data, ValueError)
    assert (str(data), data.bounded) == ("too deep", False)
