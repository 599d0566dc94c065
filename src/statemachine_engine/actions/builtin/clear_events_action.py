"""``clear_events``: discard waiting events of given types from a machine's inbox.

Options: ``event_types`` (list, required), ``target_machine`` (default: this machine),
``success`` (default ``events_cleared``), ``empty`` (nothing to clear, default
``no_events_to_clear``). Stores the count as ``cleared_events``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ...errors import ActionError
from ..base import BaseAction
from ..runtime_access import runtime_of


class ClearEventsAction(BaseAction):
    """Drop waiting events."""

    default_success: ClassVar[str | None] = "events_cleared"

    async def execute(self, context: dict[str, Any]) -> str | None:
        runtime = runtime_of(self)
        types = self.get_config_value("event_types")
        if isinstance(types, str):
            types = [types]
        if not types:
            raise ActionError("clear_events needs 'event_types'")
        target = str(self.get_config_value("target_machine") or runtime.machine_name)
        wanted = {str(name) for name in types}
        events = await runtime.store.pending_events(target, limit=100_000)
        ids = [event.id for event in events if event.event_type in wanted]
        cleared = await runtime.store.mark_events(ids, "dropped") if ids else 0
        context["cleared_events"] = cleared
        if not cleared:
            return str(self.get_config_value("empty", "no_events_to_clear"))
        return self.success_event
