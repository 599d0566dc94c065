"""``check_events``: take the first waiting event of some types from an inbox.

Options:
    event_types: the types to look for (a list, or one name).
    target_machine: whose inbox (default: this machine's).
    wait: seconds to wait for one when none is waiting (default 5; woken at once
        when an event is delivered to this machine).
    success: event to return when one was taken (default: the taken event's type,
        so transitions can be written on the event itself).
    empty: event when none came (default ``no_events``).

The taken event is marked processed and becomes ``event_data`` in the context
(``{event_data.payload.x}``), like an event that causes a transition. Events of these
types are left in the store for this action rather than handled as transitions.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from ...context.entries import event_data
from ...errors import ActionError
from ..base import BaseAction
from ..runtime_access import runtime_of, seconds

DEFAULT_WAIT_SECONDS = 5.0


class CheckEventsAction(BaseAction):
    """Fetch an event from an inbox."""

    default_success: ClassVar[str | None] = None

    async def execute(self, context: dict[str, Any]) -> str | None:
        runtime = runtime_of(self)
        types = self.get_config_value("event_types")
        wanted = {types} if isinstance(types, str) else {str(name) for name in types or ()}
        if not wanted:
            raise ActionError("check_events needs 'event_types'")
        target = str(self.get_config_value("target_machine") or runtime.machine_name)
        deadline = time.monotonic() + seconds(self, "wait", DEFAULT_WAIT_SECONDS)
        while True:
            mark = runtime.delivery_mark
            for event in await runtime.store.pending_events(target, limit=100_000):
                if event.event_type not in wanted:
                    continue
                if not await runtime.store.mark_events([event.id], "processed"):
                    continue  # another reader took it first
                context["event_data"] = event_data(
                    event.event_type,
                    event.payload if event.payload is not None else {},
                    source=event.source_machine,
                    job_id=event.job_id,
                )
                return self.get_config_value("success") or event.event_type
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return str(self.get_config_value("empty", "no_events"))
            await runtime.wait_for_delivery(mark, remaining)
