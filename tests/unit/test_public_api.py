"""The public API: explicit, sorted, and every name resolves (STYLE.md #8)."""

from __future__ import annotations

import importlib

import pytest

import statemachine_engine

PACKAGES = [
    "statemachine_engine",
    "statemachine_engine.core",
    "statemachine_engine.actions",
    "statemachine_engine.database",
    "statemachine_engine.database.models",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_unique(name: str) -> None:
    exported = importlib.import_module(name).__all__
    assert exported == sorted(exported)
    assert len(set(exported)) == len(exported)


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_resolves(name: str) -> None:
    module = importlib.import_module(name)
    for member in module.__all__:
        assert getattr(module, member) is not None, member


def test_top_level_exports_the_main_classes() -> None:
    # DESIGN.md: StateMachineEngine, ActionLoader, BaseAction, Database, JobModel.
    assert {
        "ActionLoader",
        "BaseAction",
        "Database",
        "JobModel",
        "StateMachineEngine",
        "__version__",
    } <= set(statemachine_engine.__all__)
    assert isinstance(statemachine_engine.__version__, str)


def test_exported_classes_are_the_canonical_ones() -> None:
    from statemachine_engine.actions.base import BaseAction
    from statemachine_engine.config.loader import load_config
    from statemachine_engine.config.model import MachineConfig
    from statemachine_engine.core import loader as older_loader
    from statemachine_engine.core import model as older_model
    from statemachine_engine.core.engine import StateMachineEngine
    from statemachine_engine.core.host import MachineHost

    assert older_loader.load_config is load_config  # the older paths still work
    assert older_model.MachineConfig is MachineConfig
    assert statemachine_engine.StateMachineEngine is StateMachineEngine
    assert statemachine_engine.MachineHost is MachineHost
    assert statemachine_engine.BaseAction is BaseAction
    assert statemachine_engine.MachineConfig is MachineConfig
    assert statemachine_engine.load_config is load_config


def test_documented_import_paths() -> None:
    from statemachine_engine.actions import BaseAction
    from statemachine_engine.core import StateMachineEngine
    from statemachine_engine.core.engine import StateMachineEngine as Engine
    from statemachine_engine.database import (
        Database,
        JobModel,
        MachineEventModel,
        MachineStateModel,
        RealtimeEventModel,
    )
    from statemachine_engine.database.models.job import JobModel as CanonicalJobModel

    assert statemachine_engine.Database is Database
    assert statemachine_engine.JobModel is JobModel is CanonicalJobModel
    assert {
        MachineEventModel.__name__,
        MachineStateModel.__name__,
        RealtimeEventModel.__name__,
    } == {
        "MachineEventModel",
        "MachineStateModel",
        "RealtimeEventModel",
    }
    assert StateMachineEngine is Engine
    assert BaseAction.__name__ == "BaseAction"
    assert callable(BaseAction.execute)


def test_dir_lists_the_public_names() -> None:
    assert set(statemachine_engine.__all__) <= set(dir(statemachine_engine))


@pytest.mark.parametrize("name", ["statemachine_engine", "statemachine_engine.core"])
def test_unknown_attribute_raises_attribute_error(name: str) -> None:
    module = importlib.import_module(name)
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        module.NoSuchThing  # noqa: B018
