"""ActionLoader: ``type`` -> ``<type>_action.py`` / ``<Type>Action``; actions dir first."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from statemachine_engine.actions import BaseAction
from statemachine_engine.actions.builtin.log_action import LogAction
from statemachine_engine.config.loader import config_from_text
from statemachine_engine.core.action_loader import ActionLoader, class_name_for
from statemachine_engine.errors import ConfigError, UnknownActionError

BUILTIN_TYPES = ["bash", "log", "sleep", "set_context", "add_to_list", "pop_from_list"]
CUSTOM_MODULE_PREFIX = "statemachine_engine_custom_actions."


@pytest.fixture(autouse=True)
def _forget_custom_modules() -> Iterator[None]:
    """Custom action modules imported by one test must not be seen by the next."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith(CUSTOM_MODULE_PREFIX):
            del sys.modules[name]


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    return path


def greet_action(marker: str = "greet") -> str:
    return f"""
        from statemachine_engine.actions import BaseAction

        class GreetAction(BaseAction):
            async def execute(self, context):
                return {marker!r}
        """


# -- the naming convention -----------------------------------------------------------


@pytest.mark.parametrize(
    ("action_type", "class_name"),
    [
        ("bash", "BashAction"),
        ("log", "LogAction"),
        ("send_event", "SendEventAction"),
        ("add_to_list", "AddToListAction"),
        ("check_database_queue", "CheckDatabaseQueueAction"),
        ("my_thing", "MyThingAction"),
        ("x", "XAction"),
    ],
)
def test_class_name_for_camel_cases_the_type(action_type: str, class_name: str) -> None:
    assert class_name_for(action_type) == class_name


@pytest.mark.parametrize("action_type", BUILTIN_TYPES)
def test_builtins_load_by_convention(action_type: str) -> None:
    loader = ActionLoader()

    cls = loader.load(action_type)

    assert cls.__name__ == class_name_for(action_type)
    assert issubclass(cls, BaseAction)
    assert cls.__module__ == f"statemachine_engine.actions.builtin.{action_type}_action"
    assert loader.is_known(action_type)
    assert action_type in loader.known_types()
    assert loader.source_of(action_type) == "builtin"


def test_load_caches_the_class_and_imports_a_custom_file_once(tmp_path: Path) -> None:
    counter = tmp_path / "imports.txt"
    write(
        tmp_path / "actions" / "counted_action.py",
        f"""
        from pathlib import Path
        from statemachine_engine.actions import BaseAction

        _file = Path({str(counter)!r})
        _file.write_text(_file.read_text() + "x" if _file.exists() else "x")

        class CountedAction(BaseAction):
            async def execute(self, context):
                return None
        """,
    )
    loader = ActionLoader(tmp_path / "actions")

    first = loader.load("counted")
    second = loader.load("counted")

    assert first is second
    assert counter.read_text() == "x"


# -- the actions directory -------------------------------------------------------------


async def test_custom_log_action_overrides_the_builtin(tmp_path: Path) -> None:
    custom = write(
        tmp_path / "log_action.py",
        """
        from statemachine_engine.actions import BaseAction

        class LogAction(BaseAction):
            async def execute(self, context):
                context["custom_log_ran"] = True
                return "custom"
        """,
    )
    loader = ActionLoader(tmp_path)

    cls = loader.load("log")

    assert cls is not LogAction
    assert loader.source_of("log") == str(custom.resolve())
    context: dict[str, object] = {}
    assert await cls({"message": "hi"}).execute(context) == "custom"
    assert context == {"custom_log_ran": True}
    # The builtin is still what a loader without the directory provides.
    assert ActionLoader().load("log") is LogAction


async def test_custom_action_is_found_in_nested_directories(tmp_path: Path) -> None:
    write(tmp_path / "team" / "billing" / "greet_action.py", greet_action("nested"))
    loader = ActionLoader(tmp_path)

    assert loader.is_known("greet")
    assert "greet" in loader.known_types()
    assert await loader.load("greet")({}).execute({}) == "nested"


async def test_shallowest_custom_file_wins(tmp_path: Path) -> None:
    write(tmp_path / "deep" / "deeper" / "greet_action.py", greet_action("deeper"))
    write(tmp_path / "deep" / "greet_action.py", greet_action("deep"))
    write(tmp_path / "zz" / "greet_action.py", greet_action("zz"))

    loader = ActionLoader(tmp_path)

    assert loader.source_of("greet") == str((tmp_path / "deep" / "greet_action.py").resolve())
    assert await loader.load("greet")({}).execute({}) == "deep"


def test_files_without_the_action_suffix_are_not_action_types(tmp_path: Path) -> None:
    write(tmp_path / "greet.py", greet_action())
    write(tmp_path / "helpers_action.txt", "not python")

    loader = ActionLoader(tmp_path)

    assert not loader.is_known("greet")
    assert not loader.is_known("helpers")
    with pytest.raises(UnknownActionError):
        loader.load("greet")


def test_known_types_are_sorted_and_merge_custom_builtin_and_aliases(tmp_path: Path) -> None:
    write(tmp_path / "greet_action.py", greet_action())

    known = ActionLoader(tmp_path).known_types()

    assert known == sorted(known)
    assert len(known) == len(set(known))
    assert {"greet", "activity_log", *BUILTIN_TYPES} <= set(known)


def test_missing_actions_dir_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"

    with pytest.raises(ConfigError) as info:
        ActionLoader(missing)

    assert info.value.path == str(missing)
    assert str(missing) in str(info.value)
    assert "not found" in str(info.value)


def test_actions_dir_that_is_a_file_is_a_config_error(tmp_path: Path) -> None:
    not_a_dir = write(tmp_path / "greet_action.py", greet_action())

    with pytest.raises(ConfigError):
        ActionLoader(not_a_dir)


# -- aliases and unknown types ---------------------------------------------------------


def test_activity_log_is_an_alias_of_log() -> None:
    loader = ActionLoader()

    assert loader.load("activity_log") is LogAction
    assert loader.is_known("activity_log")
    assert "activity_log" in loader.known_types()


def test_unknown_type_lists_the_known_types(tmp_path: Path) -> None:
    write(tmp_path / "greet_action.py", greet_action())
    loader = ActionLoader(tmp_path)

    assert not loader.is_known("no_such_thing")
    with pytest.raises(UnknownActionError) as info:
        loader.load("no_such_thing")

    error = info.value
    assert isinstance(error, ConfigError)
    assert error.action_type == "no_such_thing"
    assert error.known == tuple(loader.known_types())
    message = str(error)
    assert "'no_such_thing'" in message
    for known in ("bash", "greet", "log", "activity_log"):
        assert known in message


def test_unknown_type_is_reported_when_the_config_loads() -> None:
    loader = ActionLoader()
    text = textwrap.dedent(
        """
        initial_state: a
        transitions:
          - {from: a, to: completed, event: done}
        actions:
          a:
            - type: log
              message: fine
            - type: frobnicate
        """
    )

    with pytest.raises(UnknownActionError) as info:
        config_from_text(
            text,
            path="machine.yaml",
            is_known_action=loader.is_known,
            known_actions=loader.known_types,
        )

    assert info.value.action_type == "frobnicate"
    assert info.value.path == "machine.yaml"
    assert info.value.line == 9
    assert "bash" in str(info.value)


# -- broken custom files ---------------------------------------------------------------


def test_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    broken = write(
        tmp_path / "broken_action.py",
        """
        from statemachine_engine.actions import BaseAction

        class BrokenAction(BaseAction)
            async def execute(self, context):
                return None
        """,
    )
    loader = ActionLoader(tmp_path)

    with pytest.raises(ConfigError) as info:
        loader.load("broken")

    error = info.value
    assert not isinstance(error, UnknownActionError)
    assert error.path == str(broken.resolve())
    assert error.line == 3
    assert f"{broken.resolve()}:3" in str(error)
    assert "SyntaxError" in str(error)
    assert isinstance(error.__cause__, SyntaxError)


def test_import_time_exception_names_the_file_and_line(tmp_path: Path) -> None:
    broken = write(
        tmp_path / "explodes_action.py",
        """
        from statemachine_engine.actions import BaseAction

        def _configure():
            raise RuntimeError("no API key configured")

        _configure()

        class ExplodesAction(BaseAction):
            async def execute(self, context):
                return None
        """,
    )
    loader = ActionLoader(tmp_path)

    with pytest.raises(ConfigError) as info:
        loader.load("explodes")

    error = info.value
    assert error.path == str(broken.resolve())
    # The innermost line of the file in the traceback: the raise inside _configure.
    assert error.line == 4
    assert "RuntimeError: no API key configured" in str(error)
    assert isinstance(error.__cause__, RuntimeError)


def test_missing_import_in_custom_file_names_the_import_line(tmp_path: Path) -> None:
    write(
        tmp_path / "needs_action.py",
        """
        from statemachine_engine.actions import BaseAction
        import no_such_module_for_statemachine_tests

        class NeedsAction(BaseAction):
            pass
        """,
    )

    with pytest.raises(ConfigError) as info:
        ActionLoader(tmp_path).load("needs")

    assert info.value.line == 2
    assert "no_such_module_for_statemachine_tests" in str(info.value)


def test_failed_import_is_not_cached_and_leaves_no_module_behind(tmp_path: Path) -> None:
    file = write(tmp_path / "flaky_action.py", "raise ValueError('first try')\n")
    loader = ActionLoader(tmp_path)

    with pytest.raises(ConfigError):
        loader.load("flaky")
    assert f"{CUSTOM_MODULE_PREFIX}flaky_action" not in sys.modules

    write(file, greet_action("second try").replace("GreetAction", "FlakyAction"))
    assert loader.load("flaky").__name__ == "FlakyAction"


def test_sys_exit_while_importing_is_a_failure_to_import_not_an_exit(tmp_path: Path) -> None:
    file = write(tmp_path / "quits_action.py", "import sys\n\nsys.exit(3)\n")

    with pytest.raises(ConfigError) as info:
        ActionLoader(tmp_path).load("quits")

    error = info.value
    assert (error.path, error.line, error.rule) == (str(file.resolve()), 3, "SM109")
    assert error.message == "cannot import action 'quits': SystemExit: 3"
    assert isinstance(error.__cause__, SystemExit)
    assert f"{CUSTOM_MODULE_PREFIX}quits_action" not in sys.modules


def test_a_bare_system_exit_is_named_alone(tmp_path: Path) -> None:
    write(tmp_path / "quits_action.py", "raise SystemExit\n")

    with pytest.raises(ConfigError, match=r"cannot import action 'quits': SystemExit$"):
        ActionLoader(tmp_path).load("quits")


def test_keyboard_interrupt_while_importing_stays_an_interrupt(tmp_path: Path) -> None:
    write(tmp_path / "interrupted_action.py", "raise KeyboardInterrupt\n")

    with pytest.raises(KeyboardInterrupt):
        ActionLoader(tmp_path).load("interrupted")


def test_every_load_failure_carries_its_lint_rule(tmp_path: Path) -> None:
    write(tmp_path / "broken_action.py", "def oops(:\n")
    write(tmp_path / "empty_action.py", "X = 1\n")
    loader = ActionLoader(tmp_path)

    for action_type in ("broken", "empty"):
        with pytest.raises(ConfigError) as info:
            loader.load(action_type)
        assert info.value.rule == "SM109"


# -- execute must be async def ---------------------------------------------------------


def test_a_plain_def_execute_is_refused_at_its_line(tmp_path: Path) -> None:
    file = write(
        tmp_path / "greet_action.py",
        """
        from statemachine_engine.actions import BaseAction

        class GreetAction(BaseAction):
            def execute(self, context):
                return "greeted"
        """,
    )

    with pytest.raises(ConfigError) as info:
        ActionLoader(tmp_path).load("greet")

    error = info.value
    assert (error.path, error.line, error.rule) == (str(file.resolve()), 4, "SM109")
    assert error.message == (
        "action 'greet': GreetAction.execute must be `async def` (the engine awaits what it "
        "returns); write `async def execute(self, context):`"
    )


def test_a_plain_def_execute_inherited_is_refused_where_it_is_written(tmp_path: Path) -> None:
    write(
        tmp_path / "greet_action.py",
        """
        from statemachine_engine.actions import BaseAction

        class Sync(BaseAction):
            def execute(self, context):
                return "greeted"

        class GreetAction(Sync):
            pass
        """,
    )

    with pytest.raises(ConfigError, match=r"GreetAction\.execute must be `async def`") as info:
        ActionLoader(tmp_path).load("greet")
    assert info.value.line == 4


async def test_a_decorated_async_execute_is_accepted(tmp_path: Path) -> None:
    write(
        tmp_path / "greet_action.py",
        """
        import functools
        from statemachine_engine.actions import BaseAction

        def logged(method):
            @functools.wraps(method)
            def wrapper(self, context):
                return method(self, context)
            return wrapper

        class GreetAction(BaseAction):
            @logged
            async def execute(self, context):
                return "greeted"
        """,
    )

    assert await ActionLoader(tmp_path).load("greet")({}).execute({}) == "greeted"


def test_every_builtin_execute_is_async() -> None:
    loader = ActionLoader()
    for action_type in loader.known_types():
        loader.load(action_type)  # raises for a plain def


# -- finding the class in a file -------------------------------------------------------


async def test_single_subclass_with_another_name_is_accepted(tmp_path: Path) -> None:
    write(
        tmp_path / "greet_action.py",
        """
        from statemachine_engine.actions import BaseAction
        from statemachine_engine.actions.builtin.log_action import LogAction  # imported only

        class Helper:
            pass

        class Greeter(BaseAction):
            async def execute(self, context):
                return "greeted"
        """,
    )

    cls = ActionLoader(tmp_path).load("greet")

    assert cls.__name__ == "Greeter"
    assert await cls({}).execute({}) == "greeted"


def test_the_conventional_name_wins_over_other_subclasses(tmp_path: Path) -> None:
    write(
        tmp_path / "greet_action.py",
        """
        from statemachine_engine.actions import BaseAction

        class Base(BaseAction):
            pass

        class GreetAction(Base):
            pass

        class Other(BaseAction):
            pass
        """,
    )

    assert ActionLoader(tmp_path).load("greet").__name__ == "GreetAction"


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("X = 1\n", id="no-class"),
        pytest.param("class GreetAction:\n    pass\n", id="name-matches-but-not-a-BaseAction"),
        pytest.param(
            "from statemachine_engine.actions.builtin.log_action import LogAction\n",
            id="only-an-imported-action",
        ),
        pytest.param(
            "from statemachine_engine.actions import BaseAction\n"
            "class One(BaseAction):\n    pass\n"
            "class Two(BaseAction):\n    pass\n",
            id="two-candidates",
        ),
    ],
)
def test_file_without_a_usable_class_is_a_config_error(tmp_path: Path, source: str) -> None:
    file = write(tmp_path / "greet_action.py", source)

    with pytest.raises(ConfigError) as info:
        ActionLoader(tmp_path).load("greet")

    assert not isinstance(info.value, UnknownActionError)
    assert info.value.path == str(file.resolve())
    assert "GreetAction" in str(info.value)
    assert str(file.resolve()) in str(info.value)


# -- preloading --------------------------------------------------------------------


def test_loader_construction_does_not_import_custom_files(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    write(
        tmp_path / "actions" / "lazy_action.py",
        f"""
        from pathlib import Path
        Path({str(marker)!r}).touch()
        raise RuntimeError("imported")
        """,
    )

    loader = ActionLoader(tmp_path / "actions")

    assert loader.is_known("lazy")
    assert not marker.exists()


def test_preload_imports_eagerly(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    write(
        tmp_path / "actions" / "eager_action.py",
        f"""
        from pathlib import Path
        from statemachine_engine.actions import BaseAction

        Path({str(marker)!r}).touch()

        class EagerAction(BaseAction):
            pass
        """,
    )
    loader = ActionLoader(tmp_path / "actions")
    assert not marker.exists()

    loader.preload({"eager", "log"})

    assert marker.exists()
    marker.unlink()
    assert loader.load("eager").__name__ == "EagerAction"
    assert not marker.exists(), "preloaded class must be reused, not re-imported"


def test_preload_surfaces_broken_and_unknown_types(tmp_path: Path) -> None:
    write(tmp_path / "broken_action.py", "def oops(:\n")
    loader = ActionLoader(tmp_path)

    with pytest.raises(ConfigError) as info:
        loader.preload({"log", "broken"})
    assert info.value.line == 1

    with pytest.raises(UnknownActionError):
        loader.preload({"log", "nope"})
