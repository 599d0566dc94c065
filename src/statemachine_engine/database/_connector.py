"""What a dialect gives the one store implementation: a connector.

A connector opens (and migrates) its database, runs its dialect's named queries
(:mod:`._queries`) atomically, says how the store's changes are heard
(:mod:`._wakeup`) and closes. Everything else (argument checks, parameters, rows to
records, retries of a claim) is written once, in the operations built on it
(:class:`Operations` and :class:`~._sql_store.SqlStore`).
"""

# Annotations are evaluated here (no `from __future__ import annotations`): a NamedTuple
# turns string annotations into ForwardRefs, each compiled at import (docs/performance.md).
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from .._input_rules import INT64

if TYPE_CHECKING:
    from ._rows import Row
    from ._wakeup import Listener


class Result(NamedTuple):
    """What a named query gave back."""

    #: The rows it returned (a query of several statements: those of the last that
    #: returns rows).
    rows: "Sequence[Row]"
    #: How many rows it changed (or returned).
    rowcount: int


class Connector(Protocol):
    """A database of one dialect, as the store uses it."""

    #: The database, fit for messages (a path, or a URL without its password).
    location: str
    #: Committing an event to a machine's inbox wakes the machine by itself (see
    #: :attr:`Operations.notifies_machines`).
    notifies_machines: bool
    #: Machines on other hosts use the database too (PostgreSQL): their liveness is known
    #: from heartbeats alone, which must come often (see :func:`._names.heartbeat_seconds`).
    spans_hosts: bool

    async def run(self, name: str, params: Mapping[str, Any]) -> Result:
        """Run the named query ``name`` with ``params``, in one transaction.

        Raises:
            StoreError: the database refused it or cannot be reached.
        """

    def check_identity(self) -> None:
        """Raise :class:`~.store.StoreReplaced` if the database under the store's
        location is no longer the one it opened (SQLite; a no-op elsewhere)."""

    def change_token(self) -> int | None:
        """See :meth:`.store.Store.change_token`."""

    async def listener(self) -> "Listener":
        """See :meth:`.store.Store.listener`."""

    async def close(self) -> None: ...


class CarriedWrite(Protocol):
    """A write that may wait to commit with a connector's next write transaction (a
    connector that can carry writes has ``carry(key, write)`` and ``flush()``; one that
    also hands each carried write its query's result has ``carried_results = True``)."""

    def take(self) -> "tuple[str, Mapping[str, Any]] | None":
        """The named query and its parameters to commit now (None: nothing waits)."""

    def committed(self, result: "Result | None" = None) -> None:
        """What :meth:`take` gave was committed; ``result``: what its query returned,
        where the connector reads it (see ``carried_results``)."""

    def failed(self) -> None:
        """What :meth:`take` gave was not committed (it waits for a later write)."""


class Operations:
    """Base of the store's operation groups: the connector they run queries on."""

    def __init__(self, connector: Connector) -> None:
        self.connector = connector
        #: The database, fit for messages (a path, or a URL without its password).
        self.location = connector.location
        #: True when committing an event to a machine's inbox wakes that machine by
        #: itself, wherever it runs (it listens on topic ``machine:<name>``); False when
        #: the sender wakes it through its control socket on this host.
        self.notifies_machines = connector.notifies_machines
        self.spans_hosts = connector.spans_hosts
        #: ``await self._run(name, params)``: one named query (the connector's ``run``).
        self._run = connector.run

    async def _rows(self, name: str, **params: Any) -> "Sequence[Row]":
        """The rows of the named query run with ``params``."""
        return (await self._run(name, params)).rows


def limit_param(limit: int | None) -> int | None:
    """A listing's ``limit`` as the queries take it (None: no limit, as is one that no
    table reaches and no dialect's integer holds)."""
    return None if limit is None or limit >= INT64.stop else int(limit)


def first(result: Result) -> "Row | None":
    """The first row of ``result`` (None when it has none)."""
    rows = result.rows
    return rows[0] if rows else None
