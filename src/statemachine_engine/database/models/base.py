"""What every model facade shares: the store it talks to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:
    from ..store import OperatorStore

__all__ = [
    "BaseModel",
    "StoreHandle",
]


class StoreHandle(Protocol):
    """Something holding an open store (a :class:`~statemachine_engine.database.Database`)."""

    @property
    def store(self) -> OperatorStore: ...


class BaseModel:
    """A facade over one part of the store (jobs, events, machine state...).

    Args:
        db: a :class:`~statemachine_engine.database.Database` or a store
            (:func:`~statemachine_engine.database.open_store`).
    """

    def __init__(self, db: StoreHandle | OperatorStore) -> None:
        # A Database holds its store; a store has no ``store`` of its own.
        self.store = cast("OperatorStore", getattr(db, "store", db))
