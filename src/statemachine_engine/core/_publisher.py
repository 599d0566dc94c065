"""A machine's realtime events, streamed as it works (for monitors and the UI).

A :class:`RealtimePublisher` observes one machine and sends what it does (state
changes, activity-log lines, jobs, errors, its end) through the process's
:class:`~..messaging._realtime.RealtimeStream`, numbering the machine's events.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..messaging._realtime import RealtimeStream
    from ._event import Event
    from .engine import StateMachineEngine


class RealtimePublisher:
    """Observer of one machine that streams its events through a :class:`RealtimeStream`
    (a :class:`~.engine.MachineObserver`)."""

    __slots__ = ("_seq", "machine_name", "stream")

    def __init__(self, machine_name: str, stream: RealtimeStream) -> None:
        self.machine_name = machine_name
        self.stream = stream
        self._seq = 0

    # -- MachineObserver -----------------------------------------------------------

    def state_changed(
        self, machine: StateMachineEngine, from_state: str | None, to_state: str, event: Event
    ) -> None:
        payload: dict[str, Any] = {
            "from_state": from_state,
            "to_state": to_state,
            "event_trigger": event.name,
            "timestamp": time.time(),
        }
        if event.event_id is not None:  # a sender (the UI) learns what its event did
            payload["event_id"] = event.event_id
        # names, an id and a clock reading: always within JSON's bounds
        self.publish("state_change", payload, checked=True)

    def activity(self, machine: StateMachineEngine, message: str, level: str) -> None:
        self.publish(
            "activity_log",
            {"message": message, "level": level, "timestamp": time.time()},
            checked=True,  # two strings and a clock reading
        )

    def finished(self, machine: StateMachineEngine, reason: str) -> None:
        self.publish(
            "machine_terminated",
            {"final_state": machine.state, "reason": reason, "timestamp": time.time()},
        )

    def event(self, machine: StateMachineEngine, event_type: str, payload: dict[str, Any]) -> None:
        self.publish(event_type, {**payload, "timestamp": time.time()})

    def publish(self, event_type: str, payload: dict[str, Any], *, checked: bool = False) -> None:
        """Send one event of this machine (see :meth:`RealtimeStream.send`)."""
        self._seq += 1
        self.stream.send(self.machine_name, self._seq, event_type, payload, checked=checked)
