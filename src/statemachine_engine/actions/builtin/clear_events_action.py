"""``clear_events``: discard waiting events of given types from a machine's inbox.

Options: ``event_types`` (list, required), ``target_machine`` (default: this machine),
``success`` (default ``events_cleared``), ``empty`` (nothing to clear, default
``no_events_to_clear``). Stores the count as ``cleared_events``.
"""

from __future__ import annotations

from typing import Any

from ...errors import ActionError
from ..base import BaseAction, runtime_of


class ClearEventsAction(BaseAction):
    """Drop waiting events."""

    options = frozenset({"event_types", "target_machine"})

    store_only = True
    default_success = "events_cleared"
    other_events = {"empty": "no_events_to_clear"}
    writes = frozenset({"cleared_events"})

    async def execute(self, context: dict[str, Any]) -> str | None:
        runtime = runtime_of(self)
        types = self.get_config_value("event_types")
        if isinstance(types, str):
            types = [types]
        if not types:
            raise ActionError("clear_events needs 'event_types'")
        target = str(self.get_config_value("target_machine") or runtime.machine_name)
        cleared = await runtime.drop_events(target, {str(name) for name in types})
        context["cleared_events"] = cleared
        if not cleared:
            return self.result_event("empty")
        return self.success_event
