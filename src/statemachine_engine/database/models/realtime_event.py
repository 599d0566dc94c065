"""Realtime events (state changes, activity log lines...) kept for replay."""

from __future__ import annotations

from typing import Any

from .._records import RealtimeEvent as RealtimeEvent
from .base import BaseModel

__all__ = [
    "RealtimeEvent",
    "RealtimeEventModel",
]


class RealtimeEventModel(BaseModel):
    """Record and replay realtime events."""

    async def record(self, machine_name: str, event_type: str, payload: Any = None) -> int:
        return await self.store.record_realtime(machine_name, event_type, payload)

    async def since(
        self, after_id: int = 0, machine_name: str | None = None, limit: int = 1000
    ) -> list[RealtimeEvent]:
        return await self.store.list_realtime(after_id=after_id, machine=machine_name, limit=limit)
