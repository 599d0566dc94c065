"""An event on its way to a machine."""

# Annotations are evaluated here (no `from __future__ import annotations`): a NamedTuple
# turns string annotations into ForwardRefs, each compiled at import (docs/performance.md).
from typing import Any, NamedTuple


class Event(NamedTuple):
    """One event for a machine's inbox.

    Attributes:
        name: the event type, matched against transitions.
        payload: data carried by the event (usually a mapping).
        source: who sent it: a machine name, ``"cli"``, ``"timer"``, ``"action"``...
        job_id: the job the event is about, if any.
        generation: for timer events, the state entry that armed them; a timer
            from an earlier visit to a state is stale and ignored.
        event_id: the event's id in the store's inbox, for events delivered durably.
        traceparent: the trace its sender was in (a stored event; see ``_tracing``).
    """

    name: str
    payload: Any = None
    source: str | None = None
    job_id: str | None = None
    generation: int | None = None
    event_id: int | None = None
    traceparent: str | None = None

    @property
    def from_action(self) -> bool:
        return self.source == ACTION_SOURCE

    @property
    def from_timer(self) -> bool:
        return self.source == TIMER_SOURCE


ACTION_SOURCE = "action"
TIMER_SOURCE = "timer"
