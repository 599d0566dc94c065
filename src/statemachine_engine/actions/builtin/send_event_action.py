"""``send_event``: send an event to another machine (or to this one).

Options:
    target_machine: the receiving machine's name (``target`` is accepted too).
    event_type: the event (default ``generic_event``).
    payload: a mapping, interpolated field by field, or one placeholder such as
        ``"{event_data.payload}"`` to forward a whole payload.
    job_id: the job the event is about (default: the current job's id, if any).
    delay: deliver the event this long after it is sent: seconds, or a duration such as
        ``90s``, ``5m``, ``2h``, ``1h30m``.
    at: deliver the event at this ISO 8601 time (``2026-12-07T09:00:00+00:00``; without
        a timezone, the local time of this host). Not together with ``delay``; a time
        past delivers at once.
    store_as: context key that receives the sent event's id (to cancel it later).
    fire_and_forget: when true, return no event afterwards.
    success: event returned once the event is committed (default ``event_sent``).

The event is committed to the target's inbox in the store before the action returns,
so it is never lost: a target that is not running gets it when it starts. A delayed
event waits there, with its due time, and is delivered then (docs/durability.md).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ...errors import ActionError
from .._seconds import due_time
from ..base import event_names, runtime_of
from ._builtin import BuiltinAction

#: The event sent when the config names none.
DEFAULT_EVENT_TYPE = "generic_event"


class SendEventAction(BuiltinAction):
    """Send an event."""

    options = frozenset(
        {"event_type", "fire_and_forget", "job_id", "payload", "target", "target_machine"}
        | {"delay", "at", "store_as"}
    )

    store_only = True
    default_success = "event_sent"

    @classmethod
    def emitted_events(cls, options: Mapping[str, Any]) -> frozenset[str] | None:
        if options.get("fire_and_forget") is True:  # no event once sent
            return event_names([options.get("error", cls.default_error)])
        return super().emitted_events(options)

    @classmethod
    def sent_events(cls, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        target = options.get("target_machine", options.get("target"))
        if target is None:
            return []
        return [(str(target), str(options.get("event_type", DEFAULT_EVENT_TYPE)))]

    async def execute(self, context: dict[str, Any]) -> str | None:
        runtime = runtime_of(self)
        target = self.get_config_value("target_machine") or self.get_config_value("target")
        if not target or (isinstance(target, str) and target.startswith("{")):
            raise ActionError("send_event needs a 'target_machine'")
        event_type = str(self.get_config_value("event_type", DEFAULT_EVENT_TYPE))
        payload = self.get_config_value("payload")
        if payload is None:
            payload = {}
        job_id = self.get_config_value("job_id", context.get("job_id"))
        try:
            due_at = due_time(
                delay=self.get_config_value("delay"),
                at=self.get_config_value("at"),
                now=time.time(),
            )
        except ValueError as exc:
            raise ActionError(f"send_event: {exc}") from None
        event_id = await runtime.deliver_event(
            str(target),
            event_type,
            payload,
            job_id=None if job_id is None else str(job_id),
            due_at=due_at,
        )
        store_as = self.get_config_value("store_as")
        if store_as:
            context[str(store_as)] = event_id
        if self.get_config_value("fire_and_forget", False) is True:
            return None
        return self.success_event
