"""One frozen settings object: flag > environment > default, read in one module only."""

from __future__ import annotations

import ast
import dataclasses
import os
from pathlib import Path

import pytest

import statemachine_engine
from statemachine_engine.errors import StateMachineError, StoreError
from statemachine_engine.settings import (
    CONTROL_PREFIX_ENV,
    DB_ENV,
    PG_RECONNECT_TIMEOUT_SECONDS,
    Settings,
    store_namespace,
)

PACKAGE = Path(statemachine_engine.__file__).parent
#: The modules that may read the process environment (the issue allows two at most).
ENVIRONMENT_READERS = {
    "settings.py",
    "_fork_server.py",  # installs a forked child's environment, as exec would
}


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.load(environ={"XDG_CACHE_HOME": str(tmp_path / "c")})
    assert settings.db == str(tmp_path / "data" / "pipeline.db")
    assert settings.socket_base == Path(f"/tmp/statemachine-{os.getuid()}")
    assert settings.control_socket_prefix is None
    assert settings.cache_dir == tmp_path / "c" / "statemachine-engine"
    assert (settings.sqlite_sync, settings.pg_sync) == ("NORMAL", "off")
    assert settings.pg_reconnect_timeout == PG_RECONNECT_TIMEOUT_SECONDS
    assert (settings.realtime_retention, settings.realtime_max_events) == (86_400, 1_000_000)
    assert settings.ui_token is None


def test_flags_beat_the_environment_which_beats_the_defaults(tmp_path: Path) -> None:
    environ = {
        DB_ENV: str(tmp_path / "env.db"),
        CONTROL_PREFIX_ENV: "/tmp/env-prefix",
        "STATEMACHINE_UI_TOKEN": "env-token",
        "STATEMACHINE_SOCKET_DIR": str(tmp_path / "s"),
        "STATEMACHINE_CACHE_DIR": "off",
        "STATEMACHINE_SQLITE_SYNC": "full",
        "STATEMACHINE_PG_SYNC": "ON",
        "STATEMACHINE_PG_RECONNECT_TIMEOUT": "7.5",
        "STATEMACHINE_REALTIME_RETENTION": "3600.5",
        "STATEMACHINE_REALTIME_MAX_EVENTS": "off",
    }
    from_env = Settings.load(environ=environ)
    assert from_env.db == str(tmp_path / "env.db")
    assert from_env.control_socket_prefix == "/tmp/env-prefix"
    assert from_env.ui_token == "env-token"
    assert from_env.socket_base == tmp_path / "s"
    assert from_env.cache_dir is None
    assert (from_env.sqlite_sync, from_env.pg_sync) == ("FULL", "on")
    assert from_env.pg_reconnect_timeout == 7.5
    assert (from_env.realtime_retention, from_env.realtime_max_events) == (3600.5, None)

    flagged = Settings.load(
        db=str(tmp_path / "flag.db"),
        control_socket_prefix="/tmp/flag-prefix",
        ui_token="flag-token",
        environ=environ,
    )
    assert flagged.db == str(tmp_path / "flag.db")
    assert flagged.control_socket_prefix == "/tmp/flag-prefix"
    assert flagged.ui_token == "flag-token"


def test_urls_are_kept_and_paths_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = "postgresql://u:secret@localhost/db"
    assert Settings.load(db=url, environ={}).db == url
    assert Settings.load(db="x/../p.db", environ={}).db == str(tmp_path / "p.db")
    assert Settings.load(db=":memory:", environ={}).db == ":memory:"


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("STATEMACHINE_SQLITE_SYNC", "sometimes", "STATEMACHINE_SQLITE_SYNC must be one of"),
        ("STATEMACHINE_PG_SYNC", "maybe", "STATEMACHINE_PG_SYNC must be one of"),
        ("STATEMACHINE_PG_RECONNECT_TIMEOUT", "soon", "must be a number of seconds"),
        ("STATEMACHINE_REALTIME_RETENTION", "1d", "must be a number of seconds above 0, or off"),
        ("STATEMACHINE_REALTIME_RETENTION", "0", "must be a number of seconds above 0, or off"),
        ("STATEMACHINE_REALTIME_MAX_EVENTS", "1e6", "must be a whole number of events above 0"),
        ("STATEMACHINE_REALTIME_MAX_EVENTS", "-5", "must be a whole number of events above 0"),
    ],
)
def test_a_malformed_value_names_its_variable(variable: str, value: str, says: str) -> None:
    with pytest.raises(StoreError, match=says):
        Settings.load(environ={variable: value})


def test_settings_are_frozen_and_overridden_by_copy(tmp_path: Path) -> None:
    settings = Settings.load(db=str(tmp_path / "a.db"), environ={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.db = "elsewhere"  # type: ignore[misc]
    assert settings.with_flags() is settings
    other = settings.with_flags(db=str(tmp_path / "b.db"), control_socket_prefix="/tmp/p")
    assert (other.db, other.control_socket_prefix) == (str(tmp_path / "b.db"), "/tmp/p")
    assert settings.db == str(tmp_path / "a.db")


def test_sockets_are_placed_per_store(tmp_path: Path) -> None:
    settings = Settings.load(
        db=str(tmp_path / "pipeline.db"),
        environ={"STATEMACHINE_SOCKET_DIR": str(tmp_path / "sockets")},
    )
    directory = settings.socket_dir()
    assert directory == tmp_path / "sockets" / store_namespace(settings.db)
    assert directory.stat().st_mode & 0o777 == 0o700
    assert settings.control_socket_path("w1") == directory / "control-w1.sock"
    other = settings.socket_dir_path(str(tmp_path / "other.db"))
    assert other.parent == directory.parent
    assert other != directory
    prefixed = settings.with_flags(control_socket_prefix=str(tmp_path / "legacy"))
    assert prefixed.control_socket_path("w1") == tmp_path / "legacy-w1.sock"


@pytest.mark.parametrize("prefix", [None, "legacy", "legacy/"])
@pytest.mark.parametrize("name", ["w1", "a b", "a/b", "a//b", "x/./y", "é"])
def test_the_control_socket_namer_names_as_the_location_does(
    tmp_path: Path, prefix: str | None, name: str
) -> None:
    settings = Settings.load(
        db=str(tmp_path / "pipeline.db"),
        control_socket_prefix=None if prefix is None else str(tmp_path / prefix),
        environ={"STATEMACHINE_SOCKET_DIR": str(tmp_path / "sockets")},
    )
    other = str(tmp_path / "other.db")
    assert settings.control_socket_namer()(name) == str(settings.control_socket_location(name))
    assert settings.control_socket_namer(location=other)(name) == str(
        settings.control_socket_location(name, location=other)
    )


def test_children_get_the_store_and_prefix_back(tmp_path: Path) -> None:
    settings = Settings.load(
        db=str(tmp_path / "flag.db"),
        control_socket_prefix="/tmp/p",
        environ={"PATH": "/bin", DB_ENV: "ignored.db"},
    )
    env = settings.child_environment({"EXTRA": 1})
    assert env == {
        "PATH": "/bin",
        DB_ENV: str(tmp_path / "flag.db"),
        CONTROL_PREFIX_ENV: "/tmp/p",
        "EXTRA": "1",
    }


_ENVIRON_NAMES = ("environ", "getenv", "putenv")


def _reads_or_writes_environ(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in _ENVIRON_NAMES
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(alias.name in _ENVIRON_NAMES for alias in node.names)
        ):
            return True
    return False


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if _reads_or_writes_environ(ast.parse(path.read_text(encoding="utf-8")))
    }
    assert readers == ENVIRONMENT_READERS, (
        "read settings through statemachine_engine.settings.Settings, built once per "
        "command and passed down"
    )


def test_nothing_writes_the_environment() -> None:
    source = (PACKAGE / "settings.py").read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            assert "environ" not in ast.unparse(node.value)
        if isinstance(node, ast.Call):
            assert ast.unparse(node.func) not in ("os.putenv", "os.environ.update")


@pytest.mark.parametrize("mode", [0o755, 0o1777, 0o700])
def test_an_existing_socket_base_keeps_its_mode(tmp_path: Path, mode: int) -> None:
    base = tmp_path / "shared"
    base.mkdir()
    base.chmod(mode)
    settings = Settings.load(
        db=str(tmp_path / "a.db"), environ={"STATEMACHINE_SOCKET_DIR": str(base)}
    )
    directory = settings.socket_dir()
    assert base.stat().st_mode & 0o7777 == mode
    assert directory.parent == base
    assert directory.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("mode", [0o775, 0o2775, 0o777])
def test_a_socket_base_others_may_write_to_without_the_sticky_bit_is_refused(
    tmp_path: Path, mode: int
) -> None:
    base = tmp_path / "shared"
    base.mkdir()
    base.chmod(mode)
    settings = Settings.load(
        db=str(tmp_path / "a.db"), environ={"STATEMACHINE_SOCKET_DIR": str(base)}
    )
    with pytest.raises(StateMachineError, match="no sticky bit"):
        settings.socket_dir()
    assert base.stat().st_mode & 0o7777 == mode
    assert list(base.iterdir()) == []


def test_a_missing_socket_base_is_made_owner_only(tmp_path: Path) -> None:
    base = tmp_path / "new" / "sockets"
    settings = Settings.load(
        db=str(tmp_path / "a.db"), environ={"STATEMACHINE_SOCKET_DIR": str(base)}
    )
    settings.socket_dir()
    assert base.stat().st_mode & 0o777 == 0o700
