"""The public API: explicit, pinned, and every name resolves (STYLE.md #8).

Public modules are listed in :data:`PUBLIC_MODULES`; every other module has a leading
underscore (itself or a package above it), so what users may import is decided here,
not by accident. Each public module's ``__all__`` is pinned in :data:`EXPECTED_ALL`.
"""

from __future__ import annotations

import fnmatch
import importlib
from pathlib import Path

import pytest

import statemachine_engine

ROOT = "statemachine_engine"

#: Every public module and package (relative to the root package; "" is the package).
#: A module not listed here and not matched by PUBLIC_PATTERNS must have a leading
#: underscore (or sit in a package that has one).
PUBLIC_MODULES = {
    "",  # the package: StateMachineEngine, ActionLoader, BaseAction, Database, JobModel
    "__main__",  # python -m statemachine_engine
    "cli",  # the `statemachine` console script
    "errors",  # every exception users catch
    "settings",  # sockets and data locations (the public Settings)
    "actions",  # from statemachine_engine.actions import BaseAction
    "actions.base",  # BaseAction and ActionRuntime, documented for subclassing
    "actions.builtin",  # the builtins: `type: x` -> x_action.py
    "config",  # the config language layer
    "config.loader",  # load_config, config_from_text
    "config.model",  # MachineConfig and its parts
    "context",  # the context layer
    "context.interpolation",  # placeholders, ShellValueError
    "core",  # from statemachine_engine.core import StateMachineEngine
    "core.engine",  # StateMachineEngine's documented path
    "core.action_loader",  # ActionLoader
    "core.loader",  # older path of config.loader, kept on purpose
    "core.model",  # older path of config.model, kept on purpose
    "core.interpolation",  # older path of context.interpolation, kept on purpose
    "database",  # Database, JobModel, open_store, Store
    "database.cli",  # the `statemachine-db` console script
    "database.cli.__main__",  # python -m statemachine_engine.database.cli
    "database.store",  # the Store and OperatorStore protocols
    "database.realtime_feed",  # follow_realtime (docs/scaling.md)
    "database.models",  # the earlier API's facades
    "database.models.base",
    "database.models.job",
    "database.models.machine_event",
    "database.models.machine_state",
    "database.models.realtime_event",
    "messaging",  # the messaging layer
    "monitoring",  # the monitoring server
    "monitoring.websocket_server",  # python -m statemachine_engine.monitoring.websocket_server
    "tools",
    "tools.events",  # the `statemachine-events` console script
    "tools.diagrams",  # build_diagrams, DiagramSet (docs/diagrams.md)
    "tools.diagrams.cli",  # `statemachine-diagrams`, `statemachine-fsm`
    "tools.lint",  # lint_paths, simulate...
    "tools.lint.cli",  # `statemachine-validate`, `statemachine-lint`
    "ui",
    "ui.cli",  # the `statemachine-ui` console script
    "system",  # load_manifest and the manifest's model
    "system.cli",  # the `statemachine-system` console script
}
#: Public by name: one module per builtin action type (DESIGN.md).
PUBLIC_PATTERNS = ["actions.builtin.*_action"]

#: The exact ``__all__`` of every public module (each defines one).
EXPECTED_ALL: dict[str, list[str]] = {
    "": [
        "ActionLoader",
        "BaseAction",
        "Database",
        "JobModel",
        "MachineConfig",
        "MachineHost",
        "StateMachineEngine",
        "__version__",
        "load_config",
    ],
    "actions": ["BaseAction"],
    "actions.base": [
        "COMMON_OPTIONS",
        "ActionRuntime",
        "BaseAction",
        "JobClaim",
        "MachineLaunch",
        "event_names",
        "job_id_option",
        "runtime_of",
        "seconds_option",
        "settings_of",
        "whole_option",
    ],
    "actions.builtin": [],
    "cli": ["build_parser", "main"],
    "config": [],
    "config.loader": [
        "ActionTypeCheck",
        "check_action_types",
        "config_from_text",
        "load_config",
        "source_hash",
    ],
    "config.model": [
        "DEFAULT_TERMINAL_STATES",
        "LOST_JOB_EVENT",
        "NOWHERE",
        "START_EVENT",
        "WILDCARD",
        "ActionSpec",
        "EventSpec",
        "MachineConfig",
        "Position",
        "Transition",
    ],
    "context": [],
    "context.interpolation": [
        "MISSING",
        "Landing",
        "ShellCommand",
        "ShellValueError",
        "interpolate",
        "interpolate_text",
        "placeholders",
        "render_shell",
        "resolve_path",
        "shell_command",
        "shell_landings",
        "to_text",
    ],
    "core": ["ActionLoader", "MachineConfig", "MachineHost", "StateMachineEngine", "load_config"],
    "core.action_loader": ["ALIASES", "ActionLoader", "class_name_for"],
    "core.engine": ["MachineObserver", "StateMachineEngine"],
    "core.interpolation": [
        "MISSING",
        "Landing",
        "ShellCommand",
        "ShellValueError",
        "interpolate",
        "interpolate_text",
        "placeholders",
        "render_shell",
        "resolve_path",
        "shell_command",
        "shell_landings",
        "to_text",
    ],
    "core.loader": ["load_config"],
    "core.model": ["MachineConfig"],
    "database": [
        "Database",
        "Job",
        "JobModel",
        "JobNotFound",
        "JobStatus",
        "MachineEventModel",
        "MachineStateModel",
        "OperatorStore",
        "RealtimeEventModel",
        "Store",
        "StoreError",
        "StoreNotFound",
        "open_store",
    ],
    "database.cli": ["build_parser", "main"],
    "database.models": [
        "ErrorRecord",
        "EventStatus",
        "Job",
        "JobModel",
        "JobStatus",
        "MachineEvent",
        "MachineEventModel",
        "MachineStateModel",
        "MachineStateRecord",
        "RealtimeEvent",
        "RealtimeEventModel",
        "TransitionRecord",
    ],
    "database.models.base": ["BaseModel", "StoreHandle"],
    "database.models.job": ["Job", "JobCompletion", "JobModel", "JobStatus", "NewJob"],
    "database.models.machine_event": ["EventStatus", "MachineEvent", "MachineEventModel"],
    "database.models.machine_state": [
        "DEAD_JOB",
        "ERROR_TRANSITION",
        "STALE_HEARTBEAT_SECONDS",
        "ErrorRecord",
        "MachineStateModel",
        "MachineStateRecord",
        "TransitionRecord",
        "liveness",
        "pid_alive",
    ],
    "database.models.realtime_event": ["RealtimeEvent", "RealtimeEventModel"],
    "database.realtime_feed": ["follow_realtime"],
    "database.store": [
        "DEFAULT_LEASE_SECONDS",
        "DEFAULT_MAX_ATTEMPTS",
        "RETRY_BACKOFF_CAP_SECONDS",
        "RETRY_BACKOFF_SECONDS",
        "JobNotFound",
        "OperatorStore",
        "Store",
        "StoreError",
        "StoreNotFound",
        "StoreReplaced",
        "WakeAddress",
    ],
    "errors": [
        "LOAD_RULE",
        "UNKNOWN_ACTION_RULE",
        "ActionError",
        "ConfigError",
        "ConfigRefused",
        "DeadEndError",
        "DiagramNotFound",
        "DiagramUnavailable",
        "EventNotCancelled",
        "EventNotFound",
        "EventSocketBusy",
        "GuardError",
        "JSONDataError",
        "JobExists",
        "JobNotFound",
        "MachineAlreadyRunning",
        "MachineFailed",
        "MalformedTimeout",
        "ShellValueError",
        "StateMachineError",
        "StoreError",
        "StoreNotFound",
        "StoreReplaced",
        "SystemStartFailed",
        "UnhandledFailure",
        "UnknownActionError",
        "UnknownStateError",
        "UsageError",
    ],
    "messaging": [],
    "monitoring": [],
    "monitoring.websocket_server": ["build_parser", "main"],
    "settings": [
        "CACHE_DIR_ENV",
        "CONTROL_PREFIX_ENV",
        "DB_ENV",
        "DEFAULT_DB",
        "PG_RECONNECT_TIMEOUT_ENV",
        "PG_RECONNECT_TIMEOUT_SECONDS",
        "PG_SYNC_ENV",
        "PG_SYNC_MODES",
        "REALTIME_MAX_EVENTS_ENV",
        "REALTIME_RETENTION_ENV",
        "SOCKET_DIR_ENV",
        "SOCKET_DIR_MODE",
        "SQLITE_SYNC_ENV",
        "SQLITE_SYNC_MODES",
        "TRACES_EXPORTER_ENV",
        "UI_TOKEN_ENV",
        "Settings",
        "cache_dir",
        "control_socket_path",
        "ensure_private_dir",
        "resolve_db_path",
        "socket_dir",
        "socket_dir_path",
        "store_namespace",
    ],
    "system": [
        "DEFAULT_MANIFEST",
        "LogSpec",
        "MachineSpec",
        "Manifest",
        "RestartPolicy",
        "UiSpec",
        "load_manifest",
        "manifest_from_text",
    ],
    "system.cli": ["build_parser", "main"],
    "tools": [],
    "tools.diagrams": ["DiagramSet", "build_diagrams"],
    "tools.diagrams.cli": ["build_parser", "fsm_main", "main"],
    "tools.events": ["build_parser", "main"],
    "tools.lint": [
        "Finding",
        "LintContext",
        "LintResult",
        "Rule",
        "Simulation",
        "Step",
        "lint_paths",
        "run_checks",
        "simulate",
        "summary",
        "text_lines",
    ],
    "tools.lint.cli": ["build_parser", "lint_main", "main"],
    "ui": [],
    "ui.cli": ["build_parser", "main"],
}

PACKAGE_DIR = Path(statemachine_engine.__file__).parent


def dotted(relative: str) -> str:
    return f"{ROOT}.{relative}" if relative else ROOT


def modules_on_disk() -> list[str]:
    """Every module and package under the root, relative to it, in file order."""
    found = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE_DIR).with_suffix("").parts)
        if not all(
            (PACKAGE_DIR.joinpath(*parts[:i]) / "__init__.py").is_file() for i in range(len(parts))
        ):
            continue  # not inside a package (static files, scripts)
        if parts[-1] == "__init__":
            parts.pop()
        found.append(".".join(parts))
    return found


def is_public(relative: str) -> bool:
    return relative in PUBLIC_MODULES or any(
        fnmatch.fnmatchcase(relative, pattern) for pattern in PUBLIC_PATTERNS
    )


def looks_public(relative: str) -> bool:
    """No leading underscore on the module or on any package above it."""
    return not any(part.startswith("_") and part != "__main__" for part in relative.split("."))


def isort_key(name: str) -> tuple[int, str]:
    """CONSTANTS, then Classes, then everything else, each in order."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


IMPORTABLE = sorted(m for m in PUBLIC_MODULES if m.rpartition(".")[2] != "__main__")


def test_every_module_without_an_underscore_is_known_public() -> None:
    unlisted = [dotted(m) for m in modules_on_disk() if looks_public(m) and not is_public(m)]
    assert not unlisted, (
        "modules without a leading underscore that are not in the public list: "
        f"{unlisted}. An implementation module gets a leading underscore "
        "(git mv x.py _x.py); a module users may import is added to PUBLIC_MODULES "
        "(and its __all__ to EXPECTED_ALL) in tests/unit/test_public_api.py"
    )


def test_every_public_module_exists_and_has_no_underscore_above_it() -> None:
    on_disk = set(modules_on_disk())
    missing = sorted(dotted(m) for m in PUBLIC_MODULES if m not in on_disk)
    assert not missing, f"public modules that no longer exist: {missing}"
    hidden = sorted(dotted(m) for m in PUBLIC_MODULES if not looks_public(m))
    assert not hidden, f"public modules under a private package: {hidden}"


def test_the_builtins_are_all_public_by_their_file_name() -> None:
    builtin = [m for m in modules_on_disk() if m.startswith("actions.builtin.")]
    assert builtin
    odd = [m for m in builtin if looks_public(m) and not m.endswith("_action")]
    assert not odd, f"builtin modules not named <type>_action.py: {odd}"


@pytest.mark.parametrize("name", IMPORTABLE)
def test_all_is_pinned(name: str) -> None:
    module = importlib.import_module(dotted(name))
    exported = getattr(module, "__all__", None)
    expected = EXPECTED_ALL.get(name)
    assert exported == expected, (
        f"{dotted(name)}.__all__ is {exported!r}, pinned as {expected!r}: a change of "
        "the public API is made on purpose, here too (EXPECTED_ALL)"
    )


def test_every_pinned_module_is_public() -> None:
    assert set(EXPECTED_ALL) <= PUBLIC_MODULES


@pytest.mark.parametrize("name", sorted(EXPECTED_ALL))
def test_all_is_sorted_and_unique(name: str) -> None:
    exported = importlib.import_module(dotted(name)).__all__
    assert exported == sorted(exported, key=isort_key)  # as ruff's RUF022 sorts
    assert len(set(exported)) == len(exported)


@pytest.mark.parametrize("name", sorted(EXPECTED_ALL))
def test_every_exported_name_resolves(name: str) -> None:
    module = importlib.import_module(dotted(name))
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
    from statemachine_engine.core import MachineHost
    from statemachine_engine.core import loader as older_loader
    from statemachine_engine.core import model as older_model
    from statemachine_engine.core.engine import StateMachineEngine

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
    from statemachine_engine.database.realtime_feed import follow_realtime
    from statemachine_engine.tools.diagrams import DiagramSet, build_diagrams

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
    assert callable(follow_realtime)
    assert callable(build_diagrams)
    assert DiagramSet.__name__ == "DiagramSet"


def test_console_scripts_point_at_public_modules() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    pyproject = PACKAGE_DIR.parents[1] / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("not run from a checkout")
    scripts = tomllib.loads(pyproject.read_text())["project"]["scripts"]
    for command, target in scripts.items():
        module, _, function = target.partition(":")
        relative = module.removeprefix(ROOT).lstrip(".")
        assert is_public(relative), f"{command} runs {module}, which is not public"
        assert callable(getattr(importlib.import_module(module), function)), command


def test_dir_lists_the_public_names() -> None:
    assert set(statemachine_engine.__all__) <= set(dir(statemachine_engine))


@pytest.mark.parametrize("name", ["statemachine_engine", "statemachine_engine.core"])
def test_unknown_attribute_raises_attribute_error(name: str) -> None:
    module = importlib.import_module(name)
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        module.NoSuchThing  # noqa: B018
