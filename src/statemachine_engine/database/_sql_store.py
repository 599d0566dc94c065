"""The one store implementation: every operation, over a connector per dialect.

:class:`SqlStore` is :class:`~.store.Store` (what machines and actions use) and
:class:`~.store.OperatorStore` (what operators use besides), written once: argument
checks, parameters and rows to records, in three groups by concern (:mod:`._queue`,
:mod:`._machines`, :mod:`._operator`). A dialect is a connector (:mod:`._sqlite`,
:mod:`._postgres`): it opens and migrates its database, runs its dialect's named queries
(``schema/queries.sql`` where the dialects agree, else ``schema/<dialect>/queries.sql``)
and says how changes are heard. Dialects differ only there.
"""

from __future__ import annotations

from .store import OperatorStore


class SqlStore(OperatorStore):
    """A store on the database a connector opened.

    Args:
        connector: the dialect's connector (it is closed with the store).
    """

    def check_identity(self) -> None:
        """Raise :class:`~.store.StoreReplaced` if the database at the store's location
        is no longer the one it opened (SQLite; nothing to check elsewhere)."""
        self.connector.check_identity()
