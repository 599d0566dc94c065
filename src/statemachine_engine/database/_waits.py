"""What a machine is waiting for, and until when: the ``timeout(N)`` timers of its state
(deadlines stored with its state) and the delayed events sent to it (due times stored
with the events). Shown by ``statemachine-db machine-state`` and the monitoring API."""

# Annotations are evaluated here (no `from __future__ import annotations`): a NamedTuple
# turns string annotations into ForwardRefs, each compiled at import (docs/performance.md).
from collections.abc import Iterable
from typing import Any, Final, NamedTuple

from ._records import MachineEvent, MachineStateRecord

#: The kinds of :class:`Wait`.
TIMEOUT: Final = "timeout"
DELAYED_EVENT: Final = "delayed_event"


class Wait(NamedTuple):
    """One thing a machine waits for: a timeout of its state, or a delayed event sent to
    it (``event_id``, ``source``), with when it comes (``due_at``, epoch seconds)."""

    kind: str
    event: str
    due_at: float
    event_id: int | None = None
    source: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


def machine_waits(
    records: Iterable[MachineStateRecord], delayed: Iterable[MachineEvent]
) -> dict[str, list[Wait]]:
    """The waits of each machine (by name), soonest first: the timers of ``records`` and
    the ``delayed`` events (pending, with a due time) addressed to any machine."""
    waits: dict[str, list[Wait]] = {}
    for record in records:
        waits.setdefault(record.machine_name, []).extend(
            Wait(TIMEOUT, event, deadline) for event, deadline in record.timers
        )
    for event in delayed:
        if event.due_at is not None:
            waits.setdefault(event.target_machine, []).append(
                Wait(DELAYED_EVENT, event.event_type, event.due_at, event.id, event.source_machine)
            )
    for pending in waits.values():
        pending.sort(key=lambda wait: (wait.due_at, wait.event_id or 0))
    return waits


def describe(wait: Wait) -> str:
    """``wait`` in a few words (the due time is shown beside it)."""
    if wait.kind == TIMEOUT:
        return wait.event
    return f"{wait.event} (event {wait.event_id})"
