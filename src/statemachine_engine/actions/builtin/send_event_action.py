"""``send_event``: send an event to another machine (or to this one).

Options:
    target_machine: the receiving machine's name (``target`` is accepted too).
    event_type: the event (default ``generic_event``).
    payload: a mapping, interpolated field by field, or one placeholder such as
        ``"{event_data.payload}"`` to forward a whole payload.
    job_id: the job the event is about (default: the current job's id, if any).
    fire_and_forget: when true, return no event afterwards.
    success: event returned once the event is committed (default ``event_sent``).

The event is committed to the target's inbox in the store before the action returns,
so it is never lost: a target that is not running gets it when it starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import ActionError
from ..base import event_names, runtime_of
from ._builtin import BuiltinAction

#: The event sent when the config names none.
DEFAULT_EVENT_TYPE = "generic_event"


class SendEventAction(BuiltinAction):
    """Send an event."""

    options = frozenset(
        {"event_type", "fire_and_forget", "job_id", "payload", "target", "target_machine"}
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
        await runtime.deliver_event(
            str(target), event_type, payload, job_id=None if job_id is None else str(job_id)
        )
        if self.get_config_value("fire_and_forget", False) is True:
            return None
        return self.success_event
