"""What a process takes from its flags and its environment, read once into one frozen
:class:`Settings`.

Precedence is always flag > environment variable > default. :meth:`Settings.load` is the
one place in the package that reads ``os.environ``: a command builds its settings once
from its flags and passes them down; spawned machines and commands get theirs back
through :meth:`Settings.child_environment`. Nothing writes ``os.environ``.

The functions at the end (:func:`resolve_db_path`, :func:`socket_dir`...) are the older
entry points, each answering from the environment as it is now.
"""

from __future__ import annotations

import functools
import os
import re
import stat
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import StateMachineError, StoreError

__all__ = [
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
]

DB_ENV = "STATEMACHINE_DB"
DEFAULT_DB = Path("data") / "pipeline.db"
SOCKET_DIR_ENV = "STATEMACHINE_SOCKET_DIR"
SOCKET_DIR_MODE = 0o700
CONTROL_PREFIX_ENV = "STATEMACHINE_CONTROL_SOCKET_PREFIX"
CACHE_DIR_ENV = "STATEMACHINE_CACHE_DIR"
#: ``off``: ``start_fsm`` starts each process child with a fresh interpreter, not
#: forked from the fork server (``statemachine_engine._fork_server``).
FORK_SERVER_ENV = "STATEMACHINE_FORK_SERVER"
SQLITE_SYNC_ENV = "STATEMACHINE_SQLITE_SYNC"
SQLITE_SYNC_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")
PG_SYNC_ENV = "STATEMACHINE_PG_SYNC"
PG_SYNC_MODES = ("off", "local", "on", "remote_write", "remote_apply")
PG_RECONNECT_TIMEOUT_ENV = "STATEMACHINE_PG_RECONNECT_TIMEOUT"
PG_RECONNECT_TIMEOUT_SECONDS = 120.0
UI_TOKEN_ENV = "STATEMACHINE_UI_TOKEN"  # noqa: S105 - a variable name
#: How long recorded realtime events are kept, in seconds (``off``: for ever), and the
#: most of them kept (``off``: no limit): the store's ``realtime_events`` would otherwise
#: grow with every transition (six rows a job for a worker).
REALTIME_RETENTION_ENV = "STATEMACHINE_REALTIME_RETENTION"
REALTIME_RETENTION_SECONDS = 24 * 3600.0
REALTIME_MAX_EVENTS_ENV = "STATEMACHINE_REALTIME_MAX_EVENTS"
REALTIME_MAX_EVENTS = 1_000_000
#: OpenTelemetry's own variables (docs/observability.md): the span exporters to use,
#: comma-separated (``console``, ``otlp``; unset or ``none``: no tracing), and the switch
#: that turns the SDK off. The SDK reads the others (``OTEL_SERVICE_NAME``,
#: ``OTEL_EXPORTER_OTLP_ENDPOINT``...) itself.
TRACES_EXPORTER_ENV = "OTEL_TRACES_EXPORTER"
SDK_DISABLED_ENV = "OTEL_SDK_DISABLED"
_OFF = ("off", "0", "no", "false")


@dataclass(frozen=True)
class Settings:
    """One process's settings.

    Attributes:
        db: the store: an absolute SQLite path or a ``postgresql://`` URL (``--db``,
            ``$STATEMACHINE_DB``, ``data/pipeline.db`` under the working directory).
        socket_base: the per-user directory under which each store has its socket
            directory (``$STATEMACHINE_SOCKET_DIR``, ``$XDG_RUNTIME_DIR/statemachine``,
            ``/tmp/statemachine-<uid>``).
        control_socket_prefix: ``--control-socket-prefix`` (or its variable): control
            sockets at ``<prefix>-<machine>.sock`` instead of the socket directory.
        cache_dir: where parsed configs are kept; None when caching is off
            (``$STATEMACHINE_CACHE_DIR``, ``off`` to disable; else under
            ``$XDG_CACHE_HOME`` or ``~/.cache``).
        sqlite_sync: SQLite's ``synchronous`` pragma (``$STATEMACHINE_SQLITE_SYNC``).
        pg_sync: PostgreSQL's ``synchronous_commit`` (``$STATEMACHINE_PG_SYNC``).
        pg_reconnect_timeout: seconds a lost PostgreSQL connection is retried before an
            operation fails (``$STATEMACHINE_PG_RECONNECT_TIMEOUT``).
        realtime_retention: seconds a recorded realtime event is kept
            (``$STATEMACHINE_REALTIME_RETENTION``; None: for ever).
        realtime_max_events: the most recorded realtime events kept, the newest
            (``$STATEMACHINE_REALTIME_MAX_EVENTS``; None: no limit).
        ui_token: the monitoring API's token (``--token``, ``$STATEMACHINE_UI_TOKEN``).
        no_color: ``$NO_COLOR`` is set (to anything but an empty text): no colours on a
            terminal.
        traces_exporters: the OpenTelemetry span exporters to trace to
            (``$OTEL_TRACES_EXPORTER``); empty: no tracing (also when
            ``$OTEL_SDK_DISABLED`` is ``true``).
        environ: the environment as it was read, handed on to children.
    """

    db: str
    socket_base: Path
    control_socket_prefix: str | None = None
    cache_dir: Path | None = None
    sqlite_sync: str = "NORMAL"
    pg_sync: str = "off"
    pg_reconnect_timeout: float = PG_RECONNECT_TIMEOUT_SECONDS
    realtime_retention: float | None = REALTIME_RETENTION_SECONDS
    realtime_max_events: int | None = REALTIME_MAX_EVENTS
    ui_token: str | None = None
    no_color: bool = False
    traces_exporters: tuple[str, ...] = ()
    environ: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False)

    @classmethod
    def load(
        cls,
        *,
        db: str | None = None,
        control_socket_prefix: str | None = None,
        ui_token: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Settings from these flags (None: not given), then ``environ`` (default: this
        process's environment), then the defaults. A malformed value raises
        :class:`~statemachine_engine.errors.StoreError` naming its variable."""
        env = MappingProxyType(dict(os.environ if environ is None else environ))
        return cls(
            db=_resolve_location(db or env.get(DB_ENV) or str(DEFAULT_DB)),
            socket_base=_socket_base(env),
            control_socket_prefix=control_socket_prefix or env.get(CONTROL_PREFIX_ENV) or None,
            cache_dir=_cache_dir(env),
            sqlite_sync=_choice(env, SQLITE_SYNC_ENV, SQLITE_SYNC_MODES, "NORMAL", str.upper),
            pg_sync=_choice(env, PG_SYNC_ENV, PG_SYNC_MODES, "off", str.lower),
            pg_reconnect_timeout=_seconds(env, PG_RECONNECT_TIMEOUT_ENV),
            realtime_retention=_limit(
                env, REALTIME_RETENTION_ENV, REALTIME_RETENTION_SECONDS, float, "seconds"
            ),
            realtime_max_events=_limit(
                env, REALTIME_MAX_EVENTS_ENV, REALTIME_MAX_EVENTS, int, "events"
            ),
            ui_token=ui_token or env.get(UI_TOKEN_ENV) or None,
            no_color=bool(env.get("NO_COLOR")),
            traces_exporters=_exporters(env),
            environ=env,
        )

    def with_flags(
        self, *, db: str | None = None, control_socket_prefix: str | None = None
    ) -> Settings:
        """These settings with the store ``db`` and the control socket prefix, where
        given (None: unchanged)."""
        changes: dict[str, Any] = {}
        if db is not None:
            changes["db"] = _resolve_location(db)
        if control_socket_prefix:
            changes["control_socket_prefix"] = control_socket_prefix
        return replace(self, **changes) if changes else self

    def socket_dir_path(self, location: str | None = None) -> Path:
        """The socket directory of the store at ``location`` (default: :attr:`db`),
        without creating or checking it: ``socket_base / store_namespace(location)``."""
        return _socket_dir_path(self.socket_base, location or self.db)

    def socket_dir(self, location: str | None = None) -> Path:
        """The private directory holding the sockets of the machines of one store.

        Two projects with two stores never share a socket (two machines called
        ``worker`` run side by side), and each store's ``events.sock`` feeds its own
        monitor. Both levels are created with mode 0700. An existing base is used as it
        is (never chmod-ed: it may be a shared directory) unless another user could plant
        files in it; the store's own directory must be ours and private.
        """
        _ensure_socket_base(self.socket_base)
        return ensure_private_dir(self.socket_dir_path(location))

    def control_socket_path(self, machine_name: str, *, location: str | None = None) -> Path:
        """The control socket of ``machine_name`` (an absolute path): ``<prefix>-<machine>
        .sock`` with a control socket prefix (the earlier layout used
        ``/tmp/statemachine-control``), else ``control-<machine>.sock`` in the socket
        directory of the store at ``location`` (default: :attr:`db`)."""
        if not self.control_socket_prefix:
            self.socket_dir(location)  # created and checked
        return self.control_socket_location(machine_name, location=location)

    @property
    def fork_server(self) -> bool:
        """Whether process children are forked from the fork server (see
        :data:`FORK_SERVER_ENV`)."""
        return self.environ.get(FORK_SERVER_ENV, "").strip().lower() != "off"

    def control_socket_location(self, machine_name: str, *, location: str | None = None) -> Path:
        """:meth:`control_socket_path` without creating or checking its directory (for a
        caller that did once, linking thousands of machines)."""
        if self.control_socket_prefix:
            return Path(os.path.abspath(f"{self.control_socket_prefix}-{machine_name}.sock"))
        return self.socket_dir_path(location) / f"control-{machine_name}.sock"

    def control_socket_namer(self, *, location: str | None = None) -> Callable[[str], str]:
        """:meth:`control_socket_location` as a function of the machine name, giving a
        string: the directory worked out once for thousands of names."""
        if self.control_socket_prefix:
            return lambda machine_name: str(self.control_socket_location(machine_name))
        head = str(self.socket_dir_path(location) / "control-")

        def name(machine_name: str) -> str:
            if "/" in machine_name:  # (as a Path would make it)
                return str(self.control_socket_location(machine_name, location=location))
            return f"{head}{machine_name}.sock"

        return name

    def child_environment(self, extra: Mapping[str, Any] | None = None) -> dict[str, str]:
        """The environment of a command or machine this process starts: its own, with
        these settings' store and control socket prefix (so that the child works on the
        same store and its events find their targets), then ``extra``."""
        env = dict(self.environ)
        env[DB_ENV] = self.db
        if self.control_socket_prefix:
            env[CONTROL_PREFIX_ENV] = self.control_socket_prefix
        if extra:
            env.update((str(key), str(value)) for key, value in extra.items())
        return env


def _resolve_location(value: str) -> str:
    """URLs as given; paths made absolute, so that spawned machines share the same store
    whatever their working directory."""
    if "://" in value or value == ":memory:":
        return value
    return str(Path(value).expanduser().resolve())


def _socket_base(env: Mapping[str, str]) -> Path:
    explicit = env.get(SOCKET_DIR_ENV)
    if explicit:
        return Path(explicit)
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return Path(runtime) / "statemachine"
    return Path("/tmp") / f"statemachine-{os.getuid()}"  # noqa: S108 - private, checked


def _cache_dir(env: Mapping[str, str]) -> Path | None:
    explicit = env.get(CACHE_DIR_ENV)
    if explicit:
        return None if explicit.lower() in _OFF else Path(explicit)
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "statemachine-engine"


def _choice(
    env: Mapping[str, str],
    name: str,
    allowed: tuple[str, ...],
    default: str,
    case: Callable[[str], str],
) -> str:
    value = case(env.get(name) or default)
    if value not in allowed:
        raise StoreError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _exporters(env: Mapping[str, str]) -> tuple[str, ...]:
    if env.get(SDK_DISABLED_ENV, "").strip().lower() == "true":
        return ()
    names = [name.strip().lower() for name in env.get(TRACES_EXPORTER_ENV, "").split(",")]
    if "none" in names:
        return ()
    for name in names:
        if name and not re.fullmatch(r"[a-z0-9_]{1,64}", name):
            raise StateMachineError(
                f"{TRACES_EXPORTER_ENV} names exporters such as console or otlp "
                f"(comma-separated), got {env[TRACES_EXPORTER_ENV]!r}"
            )
    return tuple(dict.fromkeys(name for name in names if name))


def _seconds(env: Mapping[str, str], name: str) -> float:
    raw = env.get(name)
    if not raw:
        return PG_RECONNECT_TIMEOUT_SECONDS
    try:
        return max(0.0, float(raw))
    except ValueError:
        raise StoreError(f"{name} must be a number of seconds, got {raw!r}") from None


def _limit(
    env: Mapping[str, str], name: str, default: Any, kind: Callable[[str], Any], what: str
) -> Any:
    """A positive number from ``env[name]`` (``default`` when unset; None for ``off``)."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if raw.lower() == "off":
        return None
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not value > 0 or value == float("inf"):
        number = "a number of" if kind is float else "a whole number of"
        raise StoreError(f"{name} must be {number} {what} above 0, or off, got {raw!r}")
    return value


@functools.lru_cache(maxsize=64)
def _socket_dir_path(base: Path, location: str) -> Path:
    # Asked once per machine a host links: thousands of times for one or two stores.
    return base / store_namespace(location)


@functools.lru_cache(maxsize=64)
def store_namespace(location: str) -> str:
    """A short name for the store at ``location`` (a resolved path or URL): the stem of
    a SQLite file or ``pg``, and a checksum of the whole location, e.g.
    ``pipeline-1c291ca3``. (A checksum, not a hash from hashlib: that would load OpenSSL
    into every machine process for eight characters.)"""
    if "://" in location:
        stem = "pg"
    else:
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(location).stem)[:16] or "db"
    return f"{stem}-{zlib.crc32(location.encode()):08x}"


def _ensure_socket_base(directory: Path) -> None:
    """Create ``directory`` owner-only if it is missing; refuse an existing one that
    another user could plant files in (``$STATEMACHINE_SOCKET_DIR`` may name a shared
    directory such as ``/tmp``: its mode is the owner's business, not ours)."""
    try:
        directory.mkdir(mode=SOCKET_DIR_MODE, parents=True)
    except FileExistsError:
        from ._files import check_directory

        if directory.is_symlink():
            raise StateMachineError(f"socket directory {directory} is a symbolic link") from None
        check_directory(directory, f"sockets (set {SOCKET_DIR_ENV} elsewhere)")
    except OSError as exc:
        raise StateMachineError(
            f"cannot create socket directory {directory}: {exc.strerror}"
        ) from exc


def ensure_private_dir(directory: Path) -> Path:
    """Create ``directory`` owner-only, or check that an existing one is ours and private."""
    try:
        directory.mkdir(mode=SOCKET_DIR_MODE, parents=True, exist_ok=True)
        info = directory.lstat()
    except OSError as exc:
        raise StateMachineError(
            f"cannot create socket directory {directory}: {exc.strerror}"
        ) from exc
    if not stat.S_ISDIR(info.st_mode):
        raise StateMachineError(f"socket directory {directory} is not a directory")
    if info.st_uid != os.getuid():
        raise StateMachineError(
            f"socket directory {directory} belongs to another user (uid {info.st_uid}); "
            f"set {SOCKET_DIR_ENV} to a directory of your own"
        )
    if info.st_mode & 0o077:
        directory.chmod(SOCKET_DIR_MODE)
    return directory


# -- the older entry points, answering from the environment as it is now -----------


def cache_dir() -> Path | None:
    """:attr:`Settings.cache_dir` (read alone: a config loads whatever else is set)."""
    return _cache_dir(os.environ)


def resolve_db_path(flag: str | None) -> str:
    """``--db``, else ``$STATEMACHINE_DB``, else ``data/pipeline.db`` under the cwd."""
    return Settings.load(db=flag).db


def socket_dir(db: str | None = None) -> Path:
    """:meth:`Settings.socket_dir` of the store ``db`` (default: the configured one)."""
    return Settings.load(db=db).socket_dir()


def socket_dir_path(db: str | None = None) -> Path:
    """:meth:`Settings.socket_dir_path` of the store ``db`` (default: the configured one)."""
    return Settings.load(db=db).socket_dir_path()


def control_socket_path(
    machine_name: str, prefix: str | None = None, *, db: str | None = None
) -> Path:
    """:meth:`Settings.control_socket_path` with this prefix and store."""
    return Settings.load(db=db, control_socket_prefix=prefix).control_socket_path(machine_name)
