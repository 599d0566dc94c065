"""The diagram and lint packages export a sorted, resolvable API (STYLE.md #8)."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize(
    "name", ["statemachine_engine.tools.diagrams", "statemachine_engine.tools.lint"]
)
def test_all_is_sorted_and_resolves(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__)
    for member in module.__all__:
        assert getattr(module, member) is not None, member


def test_the_shared_contract() -> None:
    from statemachine_engine.tools.diagrams import DiagramSet, build_diagrams

    assert DiagramSet._fields == ("stem", "main", "groups", "metadata", "markdown")
    assert callable(build_diagrams)
