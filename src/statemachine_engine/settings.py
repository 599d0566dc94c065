"""Where a machine keeps its sockets and data: defaults, environment, flags.

Precedence is always flag > environment variable > default.
"""

from __future__ import annotations

import os
import re
import stat
import zlib
from pathlib import Path

from .errors import StateMachineError

DB_ENV = "STATEMACHINE_DB"
DEFAULT_DB = Path("data") / "pipeline.db"
SOCKET_DIR_ENV = "STATEMACHINE_SOCKET_DIR"
SOCKET_DIR_MODE = 0o700
CONTROL_PREFIX_ENV = "STATEMACHINE_CONTROL_SOCKET_PREFIX"


def resolve_db_path(flag: str | None) -> str:
    """``--db``, else ``$STATEMACHINE_DB``, else ``data/pipeline.db`` under the cwd.

    URLs (``postgresql://...``) are returned as given; paths are made absolute so that
    spawned machines share the same store whatever their working directory.
    """
    value = flag or os.environ.get(DB_ENV) or str(DEFAULT_DB)
    if "://" in value:
        return value
    return str(Path(value).expanduser().resolve())


def socket_dir(db: str | None = None) -> Path:
    """The private directory holding the sockets of the machines of one store.

    It is :func:`socket_base_dir` / :func:`store_namespace` of the store (``db``, else
    the configured one), so that two projects with two stores never share a socket (two
    machines called ``worker`` run side by side) and each store's ``events.sock`` feeds
    its own monitor. Both levels are created with mode 0700; one that belongs to another
    user, or that others can write to, is refused.
    """
    ensure_private_dir(socket_base_path())
    return ensure_private_dir(socket_dir_path(db))


def socket_dir_path(db: str | None = None) -> Path:
    """Where :func:`socket_dir` is, without creating or checking it."""
    return socket_base_path() / store_namespace(resolve_db_path(db))


def socket_base_path() -> Path:
    """The per-user directory under which each store has its socket directory.

    ``$STATEMACHINE_SOCKET_DIR``, else ``$XDG_RUNTIME_DIR/statemachine``, else
    ``/tmp/statemachine-<uid>``.
    """
    explicit = os.environ.get(SOCKET_DIR_ENV)
    if explicit:
        return Path(explicit)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return Path(runtime) / "statemachine"
    return Path("/tmp") / f"statemachine-{os.getuid()}"  # noqa: S108 - private, checked


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


def control_socket_path(
    machine_name: str, prefix: str | None = None, *, db: str | None = None
) -> Path:
    """The control socket of ``machine_name`` (an absolute path).

    With ``--control-socket-prefix P`` (or ``$STATEMACHINE_CONTROL_SOCKET_PREFIX``) it is
    ``P-<machine>.sock`` (the earlier layout used ``/tmp/statemachine-control``);
    otherwise ``control-<machine>.sock`` in the store's :func:`socket_dir`.
    """
    prefix = prefix or os.environ.get(CONTROL_PREFIX_ENV)
    if prefix:
        return Path(os.path.abspath(f"{prefix}-{machine_name}.sock"))
    return socket_dir(db) / f"control-{machine_name}.sock"
