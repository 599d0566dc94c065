"""Whether the file at a SQLite store's path is still the store a process has open.

A process keeps its SQLite file open for its whole life. Three things can happen to the
file under it, and each would let it write on into a store nobody reads, or mix two:

- **deleted or replaced** (``rm pipeline.db*``, ``mv other.db pipeline.db``): the path
  no longer names the inode the process opened (a ``stat``);
- **its -shm deleted, replaced or made unwritable**: a new ``-shm`` beside the old WAL
  would let other processes corrupt the store, an unwritable one ends in SIGBUS (a
  ``stat`` and an ``access``);
- **overwritten in place** (``cp other.db pipeline.db``, another store's backup
  restored): same inode, other bytes. SQLite does not see it. In WAL mode it trusts its
  page cache and the ``-wal`` for as long as the ``-shm`` says no connection committed:
  ``data_version`` stays as it was and queries answer from the old store (a young store
  lives in its WAL entirely) until a checkpoint writes old pages into the new file. So
  every store holds a random identity, written once (table ``store_identity``, schema
  version 7), and the check reads the page holding it straight from the file, one
  ``pread`` past SQLite, and looks for the identity's bytes in it.

The page is read at every check (the inbox watch's tick, 0.75 s, and each heartbeat),
not only when the file's size or times moved: a time stamp is coarse (a copy made in the
same few milliseconds as the last checkpoint would go unseen), and the read of one page
from the page cache costs about as much as the ``stat`` beside it, a few microseconds.

Not seen: a copy of the store itself restored over it (its own backup) carries the same
identity. That still mixes the copy with the running processes' WAL; stop them first.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import NoReturn

from ..errors import StoreError, StoreReplaced
from ._queries import load_queries
from ._sqlite_locks import read_all, sqlite_waits

_Q = load_queries("sqlite")
#: SQLite's primary result codes for a file that is not (or no longer) a sound database.
_CORRUPT, _NOTADB = 11, 26
_DAMAGED_MESSAGES = ("database disk image is malformed", "file is not a database")

FileId = tuple[int, int]

#: One read-only descriptor per database file and process, shared by every store open on
#: it and closed after the last one's connection. Closing any descriptor of a file drops
#: every POSIX lock the process holds on it, SQLite's own included ("How To Corrupt An
#: SQLite Database File", 2.2), so it must never close while one of our connections
#: still has the file open.
_descriptors: dict[FileId, list[int]] = {}
_descriptors_lock = threading.Lock()


class SqliteIdentity:
    """The identity of the file a :class:`~._sqlite.SqliteStore` opened, and the check
    that the file at its path still has it.

    Args:
        path: the store's path.
        conn: the store's connection, just opened (schema version 7 or later).

    Raises:
        StoreError: the store has no identity, or its file cannot be read.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.location = str(path)
        self._conn = conn
        self._database = _file_id(path)
        self._shm_path = f"{path}-shm"  # looked at every check: made once
        self._shm = _file_id(self._shm_path)
        self._wal = _file_id(Path(f"{path}-wal"))
        self._replaced: StoreReplaced | None = None
        if self._database is None:
            raise StoreError("the file went away while it was opened", location=self.location)
        self._fd: int | None = _hold(self._database, path)
        try:
            self._value, self._page = self._where()
        except BaseException:
            self.close()
            raise
        #: Whether the file has held the identity: until then (a store whose migration
        #: was not checkpointed yet: its WAL holds the page) there is nothing to compare,
        #: and a missing identity is never taken for an overwrite.
        self._written = self._page_holds_identity()

    @property
    def lost(self) -> StoreReplaced | None:
        """The error that ended the store's use (raised by :meth:`check`), if one did."""
        return self._replaced

    def close(self) -> None:
        """Let go of the file: only once the store's connection is closed."""
        if self._fd is not None:
            _release(self._database, self._fd)
            self._fd = None

    # -- the check -------------------------------------------------------------------

    def check(self) -> None:
        """Raise :class:`StoreReplaced` if the file (or its ``-shm``) at the store's path
        is no longer the store this connection has open (deleted, replaced, overwritten
        in place), or if the ``-shm`` can no longer be written. Once raised, it is
        raised again by every later check.

        Raises:
            StoreError: the file cannot be read (the check tells nothing).
        """
        if self._replaced is not None:
            raise self._replaced
        if _file_id(self.path) != self._database:
            self._fail(StoreReplaced(self.location))
        if not self._intact():  # before the -shm: a process that saw it first removed ours
            self._fail(StoreReplaced(self.location, message=_overwritten(self.path)), keep=False)
        if self._shm is None:  # not in WAL mode (a file system without it)
            return
        if _file_id(self._shm_path) != self._shm:
            self._fail(StoreReplaced(self.location, " (its -shm file)"))
        if not os.access(self._shm_path, os.W_OK):
            self._replaced = StoreReplaced(self.location, message=shm_unwritable(self.path))
            raise self._replaced

    def after_error(self, exc: sqlite3.Error) -> StoreReplaced | None:
        """What to raise instead of ``exc``, a failed statement, if it comes from the file:
        the :meth:`check` error when the file is no longer this store, else a
        :class:`StoreReplaced` when SQLite found it damaged ("database disk image is
        malformed"): nothing more can be trusted to it. None for any other error."""
        try:
            self.check()
        except StoreReplaced as replaced:
            return replaced
        except StoreError:
            pass
        if not _damaged(exc):
            return None
        self._replaced = StoreReplaced(self.location, message=_unreadable(self.path, exc))
        return self._replaced

    def _fail(self, error: StoreReplaced, *, keep: bool = True) -> NoReturn:
        """Stop using the file for good; ``keep``: save what our WAL holds into the file
        we have open (it is still this store, moved aside or deleted)."""
        self._replaced = error
        if keep:
            self._detach()
        else:
            self._abandon()
        raise error

    def _intact(self) -> bool:
        """False when the file no longer holds this store's identity."""
        if self._page_holds_identity():
            self._written = True
            return True
        if not self._written:  # not in the file yet (still in the WAL): nothing to compare
            return True
        return self._moved()

    def _moved(self) -> bool:
        """True when the identity moved inside the file, as this connection reads the
        store (a ``VACUUM`` rebuilds the file and may give its table another page): it
        is followed there. False when SQLite still places it where the file no longer
        holds it, reads another identity, or fails: the file was overwritten."""
        try:
            value, page = self._where()
        except StoreError:
            return False
        if value != self._value or page == self._page:
            return False
        self._page = page
        self._written = self._page_holds_identity()  # once the VACUUM is checkpointed
        return True

    def _where(self) -> tuple[bytes, tuple[int, int]]:
        """The identity as the connection reads it, and its page: (offset, size)."""
        try:
            rows = read_all(self._conn.cursor(), _Q["store_identity"].statements[0])
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the store's identity: {exc}") from exc
        if not rows:
            raise StoreError(
                "the store has no identity (its table store_identity is empty or gone: "
                "changed by another program?)",
                location=self.location,
            )
        value, rootpage, page_size = rows[0]
        return str(value).encode(), ((int(rootpage) - 1) * int(page_size), int(page_size))

    def _page_holds_identity(self) -> bool:
        assert self._fd is not None
        offset, size = self._page
        try:
            return self._value in os.pread(self._fd, size, offset)
        except OSError as exc:
            raise StoreError(f"cannot read the file: {exc}", location=self.location) from exc

    # -- leaving ---------------------------------------------------------------------

    def _detach(self) -> None:
        """Leave the path to whatever file is there now.

        Our WAL is checkpointed into the file we have open (complete, if it was only
        moved aside), then our ``-wal`` and ``-shm`` are removed from beside the new file
        if they are still there: whoever opened the new file next would otherwise apply
        our WAL to it, overwriting it with pages of the old database.
        """
        with contextlib.suppress(sqlite3.Error), sqlite_waits(self._conn):
            self._conn.execute("PRAGMA wal_checkpoint(FULL)")  # if not, the files still go
        self._remove_ours()

    def _abandon(self) -> None:
        """Leave the file to the bytes now in it, without writing a page into it.

        Our WAL holds pages of the store that was overwritten: a checkpoint (SQLite's on
        closing the last connection, or another process's of the old store) would write
        them into the new file, and the next process to open it would apply them. So the
        ``-wal`` is emptied first (every process of the old store has it open: their
        checkpoints then find no frame to copy, and ours on close neither) and removed
        with the ``-shm``, if they are still ours.
        """
        if self._wal is not None:
            _empty(Path(f"{self.path}-wal"), self._wal)
        self._remove_ours()

    def _remove_ours(self) -> None:
        for suffix, identity in (("-wal", self._wal), ("-shm", self._shm)):
            leftover = Path(f"{self.path}{suffix}")
            if identity is not None and _file_id(leftover) == identity:
                with contextlib.suppress(OSError):
                    leftover.unlink()


def shm_blocked(shm: str) -> bool:
    """Whether ``shm`` is there and cannot be written. Other processes opening and
    closing the store create and remove it meanwhile (the last to close removes it), so
    only twice in a row "there, and not writable" counts: a file that vanished between
    the two looks was no obstacle."""
    return _unwritable_now(shm) and _unwritable_now(shm)


def _unwritable_now(shm: str) -> bool:
    return not os.access(shm, os.W_OK) and os.path.lexists(shm)


def shm_unwritable(path: Path, *, running: bool = True) -> str:
    """The message for a ``-shm`` file that cannot be written."""
    when = "became unwritable while this machine ran" if running else "cannot be written"
    return (
        f"the store {path}: its shared-memory file {path}-shm {when} (read-only, "
        "immutable or another user's?); every process of the store must write it: fix it "
        "(chmod u+w, chattr -i) or remove it while no process uses the store"
    )


def _overwritten(path: Path) -> str:
    return (
        f"the store {path} was overwritten while this machine ran (the file now holds "
        "another store: one copied or restored over it?); what this machine would write "
        "now would mix the two, so it stops without writing to the file: start the "
        "machines again to use it as it is now"
    )


def _unreadable(path: Path, exc: sqlite3.Error) -> str:
    return (
        f"the store {path} became unreadable while this machine ran ({exc}): was it "
        "overwritten or damaged? Nothing more can be trusted to it, so this machine "
        f"stops: check it (sqlite3 {path} 'PRAGMA integrity_check'), restore it or move "
        "it aside, then start the machines again"
    )


def _damaged(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11 and later
    if code is not None:
        return code & 0xFF in (_CORRUPT, _NOTADB)
    return str(exc) in _DAMAGED_MESSAGES


def _file_id(path: str | Path) -> FileId | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _hold(file_id: FileId, path: Path) -> int:
    """A read-only descriptor of the file ``file_id`` (shared; see ``_descriptors``)."""
    with _descriptors_lock:
        held = _descriptors.get(file_id)
        if held is not None:
            held[1] += 1
            return held[0]
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise StoreError(f"cannot read the file: {exc}", location=str(path)) from exc
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != file_id:  # replaced meanwhile: nothing held yet
            os.close(fd)
            raise StoreError("the file was replaced while it was opened", location=str(path))
        _descriptors[file_id] = [fd, 1]
        return fd


def _release(file_id: FileId | None, fd: int) -> None:
    if file_id is None:
        return
    with _descriptors_lock:
        held = _descriptors.get(file_id)
        if held is None or held[0] != fd:
            return
        held[1] -= 1
        if held[1] == 0:
            del _descriptors[file_id]
            os.close(fd)


def _empty(path: Path, file_id: FileId) -> None:
    """Truncate the file at ``path`` if it is still ``file_id`` (never through a link)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return
    try:
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) == file_id:
            os.ftruncate(fd, 0)
    except OSError:
        pass
    finally:
        os.close(fd)
