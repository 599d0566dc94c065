"""``cancel_event``: cancel a delayed event before it is due (it is never delivered).

Options:
    event_id: the event's id, as ``send_event``'s ``store_as:`` kept it (e.g.
        ``"{reminder_id}"``); required.
    success: event returned once it is cancelled (default ``event_cancelled``).
    too_late: event returned when it cannot be any more: it is due already (its machine
        may have read it), handled, or not a delayed event (default ``not_cancelled``).

An id no event has is an action error.
"""

from __future__ import annotations

from typing import Any

from ...errors import ActionError
from ..base import runtime_of, whole_option
from ._builtin import BuiltinAction


class CancelEventAction(BuiltinAction):
    """Cancel a delayed event."""

    options = frozenset({"event_id"})
    store_only = True
    default_success = "event_cancelled"
    other_events = {"too_late": "not_cancelled"}

    async def execute(self, context: dict[str, Any]) -> str | None:
        if self.get_config_value("event_id") in (None, ""):
            raise ActionError("cancel_event needs an 'event_id' (send_event's store_as: keeps it)")
        event_id = whole_option(self, "event_id", 0)
        if not await runtime_of(self).cancel_event(event_id):
            return self.result_event("too_late")
        return self.success_event
