"""What every model facade shares: the store it talks to."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .. import Database
    from ..store import OperatorStore


class BaseModel:
    """A facade over one part of the store (jobs, events, machine state...).

    Args:
        db: a :class:`~statemachine_engine.database.Database` or a store
            (:func:`~statemachine_engine.database.open_store`).
    """

    def __init__(self, db: Database | OperatorStore) -> None:
        from .. import Database

        self.store: OperatorStore = db.store if isinstance(db, Database) else db
