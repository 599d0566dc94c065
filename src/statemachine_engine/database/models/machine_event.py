"""Events waiting in machines' inboxes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._delivery import deliver
from .._records import EventStatus as EventStatus
from .._records import MachineEvent as MachineEvent
from .base import BaseModel

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._records import EventOrigin

__all__ = [
    "EventStatus",
    "MachineEvent",
    "MachineEventModel",
]


class MachineEventModel(BaseModel):
    """Send events to machines and read their inboxes."""

    async def send(
        self, target: str, event_type: str, payload: Any = None, **origin: Unpack[EventOrigin]
    ) -> int:
        """Commit an event to ``target``'s inbox and wake it if it runs; returns the id."""
        return await deliver(self.store, target, event_type, payload, **origin)

    async def pending(
        self, target: str, after_id: int = 0, limit: int = 1000
    ) -> list[MachineEvent]:
        return await self.store.pending_events(target, after_id=after_id, limit=limit)
