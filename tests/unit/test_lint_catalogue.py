"""The linter's catalogue of builtin actions agrees with the builtins themselves."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

import statemachine_engine.actions.builtin as builtin_package
from statemachine_engine.core.action_loader import ActionLoader
from statemachine_engine.tools.lint.catalogue import (
    BUILTINS,
    emitted_events,
    traits_of,
    written_keys,
)

BUILTIN_TYPES = sorted(
    path.name.removesuffix("_action.py")
    for path in Path(builtin_package.__file__).parent.glob("*_action.py")
)


def test_every_builtin_is_catalogued() -> None:
    assert sorted(BUILTINS) == BUILTIN_TYPES


@pytest.mark.parametrize("action_type", BUILTIN_TYPES)
def test_default_events_match_the_classes(action_type: str) -> None:
    cls = ActionLoader().load(action_type)
    assert BUILTINS[action_type].success == cls.default_success
    assert cls.default_error == "error"
    source = inspect.getsource(importlib.import_module(cls.__module__))
    for option, default in BUILTINS[action_type].other_events.items():
        # Each extra event is an option the builtin reads, with that default.
        read = f'get_config_value("{option}"'
        assert read in source, option
        if default is not None:
            assert f'{read}, "{default}")' in source, default


def test_emitted_events_follow_the_options() -> None:
    assert emitted_events("bash", {}) == {"job_done", "error"}
    assert emitted_events("bash", {"success": "ok", "error_mappings": {2: "usage"}}) == {
        "ok",
        "error",
        "usage",
    }
    assert emitted_events("check_database_queue", {"empty": "idle"}) == {
        "new_job",
        "idle",
        "error",
    }
    assert emitted_events("send_event", {"fire_and_forget": True}) == {"error"}
    assert emitted_events("check_events", {"event_types": ["a", "b"]}) == {
        "a",
        "b",
        "no_events",
        "error",
    }
    assert emitted_events("activity_log", {}) == {"continue", "error"}
    assert emitted_events("bash", {"success": "{next}"}) is None
    assert emitted_events("greet", {}) is None


def test_written_keys() -> None:
    assert written_keys("set_context", {"key": "a.b", "values": {"c": 1}}) == {"a", "c"}
    assert written_keys("pop_from_list", {"list": "items"}) == {"popped_item"}
    assert written_keys("add_to_list", {"list_key": "seen"}) == {"seen"}
    assert "stdout" in written_keys("bash", {"store_as": "run"})
    assert "run" in written_keys("bash", {"store_as": "run"})
    assert traits_of("greet") is None
