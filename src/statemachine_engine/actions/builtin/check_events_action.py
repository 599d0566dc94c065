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
from collections.abc import Mapping
from typing import Any

from ...context._entries import event_data
from ...errors import ActionError
from ..base import BaseAction, event_names, runtime_of, seconds_option

DEFAULT_WAIT_SECONDS = 5.0


def _event_types(types: Any) -> set[str]:
    """The ``event_types`` option: one name, or a list of them."""
    return {types} if isinstance(types, str) else {str(name) for name in types or ()}


class CheckEventsAction(BaseAction):
    """Fetch an event from an inbox."""

    options = frozenset({"event_types", "target_machine", "wait"})

    store_only = True
    default_success = None
    other_events = {"empty": "no_events"}
    writes = frozenset({"event_data"})
    polling_results = ("empty",)

    @classmethod
    def emitted_events(cls, options: Mapping[str, Any]) -> frozenset[str] | None:
        events = super().emitted_events(options)
        if events is None or options.get("success") is not None:
            return events
        # Without success: it returns the taken event's type.
        types = options.get("event_types")
        return event_names([*events, *(types if isinstance(types, list) else [types])])

    @classmethod
    def consumed_events(cls, options: Mapping[str, Any]) -> frozenset[str]:
        return frozenset(_event_types(options.get("event_types")))

    async def execute(self, context: dict[str, Any]) -> str | None:
        runtime = runtime_of(self)
        wanted = _event_types(self.get_config_value("event_types"))
        if not wanted:
            raise ActionError("check_events needs 'event_types'")
        target = str(self.get_config_value("target_machine") or runtime.machine_name)
        deadline = time.monotonic() + seconds_option(self, "wait", DEFAULT_WAIT_SECONDS)
        while True:
            mark = runtime.delivery_mark
            event = await runtime.take_event(target, wanted)
            if event is not None:
                context["event_data"] = event_data(
                    event.event_type,
                    event.payload if event.payload is not None else {},
                    source=event.source_machine,
                    job_id=event.job_id,
                )
                return self.get_config_value("success") or event.event_type
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self.result_event("empty")
            await runtime.wait_for_delivery(mark, remaining)
