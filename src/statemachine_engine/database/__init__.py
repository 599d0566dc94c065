"""The durable store: jobs, machine inboxes, machine state and realtime events.

    from statemachine_engine.database import Database, JobModel

    db = Database()                      # --db / $STATEMACHINE_DB / data/pipeline.db
    job = await JobModel(db).add("task", {"file": "a.txt"})

One implementation (:class:`~._sql_store.SqlStore`) serves :class:`~.store.Store` (what
machines use) and :class:`~.store.OperatorStore` (what operators use besides) over a
connector per dialect: SQLite is the embedded default, PostgreSQL (``postgresql://...``
wherever a database is given) the one for several hosts. ``open_store(":memory:")`` is a
SQLite store in this process's memory, for fast tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import JobNotFound, StoreError, StoreNotFound
from .store import OperatorStore, Store

if TYPE_CHECKING:
    from ..settings import Settings
    from .models import (
        Job,
        JobModel,
        JobStatus,
        MachineEventModel,
        MachineStateModel,
        RealtimeEventModel,
    )

__all__ = [
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
]


POSTGRES_EXTRA = "statemachine-engine[postgres]"
#: The location of a store in this process's memory.
MEMORY = ":memory:"


def open_store(
    location: str | None = None, *, create: bool = True, settings: Settings | None = None
) -> OperatorStore:
    """Open the store at ``location``, else the one the settings name.

    A ``postgresql://`` (or ``postgres://``) URL opens PostgreSQL (the connection is made
    on first use); ``":memory:"`` a SQLite store in this process's memory (no file, gone
    when closed: for tests); anything else is a SQLite file path. With ``create=False``
    (commands that only read) a missing SQLite file raises :class:`StoreNotFound`:
    neither it nor its directory is created. ``settings`` default to the environment's.
    """
    from ..settings import Settings

    settings = (settings or Settings.load()).with_flags(db=location)
    if location == MEMORY:
        from ._sqlite import SqliteStore

        return SqliteStore(MEMORY, settings=settings)
    resolved = settings.db
    scheme = resolved.split("://", 1)[0].lower() if "://" in resolved else None
    if scheme in ("postgresql", "postgres"):
        try:
            from ._postgres import PostgresStore
        except ImportError as exc:
            if exc.name is None or not exc.name.startswith("psycopg"):
                raise
            message = f'PostgreSQL needs psycopg 3: pip install "{POSTGRES_EXTRA}"'
            raise StoreError(message) from exc
        return PostgresStore(resolved, settings=settings)
    if scheme is not None:
        raise StoreError(
            f"unknown database URL scheme {scheme!r}; give a SQLite file path or a "
            "postgresql:// URL"
        )
    from ._sqlite import SqliteStore

    return SqliteStore(resolved, create=create, settings=settings)


class Database:
    """A handle on the store, as the earlier API named it.

    Args:
        location: a database path (default: ``--db`` / ``$STATEMACHINE_DB`` /
            ``data/pipeline.db`` under the working directory).
    """

    def __init__(self, location: str | None = None) -> None:
        self.store: OperatorStore = open_store(location)

    @property
    def location(self) -> str:
        return self.store.location

    async def close(self) -> None:
        await self.store.close()


def __getattr__(name: str) -> Any:
    if name in {
        "Job",
        "JobModel",
        "JobStatus",
        "MachineEventModel",
        "MachineStateModel",
        "RealtimeEventModel",
    }:
        from . import models

        return getattr(models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
