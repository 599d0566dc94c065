"""Events waiting in machines' inboxes."""

from __future__ import annotations

from typing import Any, Final, NamedTuple

from .base import BaseModel


class EventStatus:
    """The statuses of an event in a machine's inbox.

    ``pending`` until the machine consumes it (``processed``) or refuses it (``dropped``,
    with the reason).
    """

    PENDING: Final = "pending"
    PROCESSED: Final = "processed"
    DROPPED: Final = "dropped"
    ALL: Final = ("pending", "processed", "dropped")
    HANDLED: Final = ("processed", "dropped")


class MachineEvent(NamedTuple):
    """One event addressed to a machine."""

    id: int
    target_machine: str
    event_type: str
    payload: Any = None
    source_machine: str | None = None
    job_id: str | None = None
    status: str = "pending"
    created_at: float = 0.0
    processed_at: float | None = None
    #: Why the event was dropped (or why it cannot be handled: an undecodable payload).
    reason: str | None = None
    #: False when the stored payload is outside the JSON bounds (``payload`` is its text).
    decodable: bool = True

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


class MachineEventModel(BaseModel):
    """Send events to machines and read their inboxes."""

    async def send(
        self,
        target: str,
        event_type: str,
        payload: Any = None,
        *,
        source: str | None = None,
        job_id: str | None = None,
    ) -> int:
        """Commit an event to ``target``'s inbox and wake it if it runs; returns the id."""
        from ...messaging.delivery import deliver

        return await deliver(self.store, target, event_type, payload, source=source, job_id=job_id)

    async def pending(
        self, target: str, after_id: int = 0, limit: int = 1000
    ) -> list[MachineEvent]:
        return await self.store.pending_events(target, after_id=after_id, limit=limit)
