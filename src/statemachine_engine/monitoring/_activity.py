"""The activity log read back from the store: ``GET /api/activity``.

The page keeps the newest few thousand entries; a filter chosen after a reload, or on a
machine whose lines scrolled out long ago, asks here for older ones. Events are read
newest first before an id, filtered by machine (or template) and text in SQL and by
level here, a page at a time, scanning at most :data:`MAX_SCAN` rows per request; the
answer says where to go on from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _stream as stream
from ._machines import template_of

if TYPE_CHECKING:
    from ..database.store import OperatorStore
    from ._stream import Event

#: The levels of the activity log (``transition``: a state change; ``output``: lines a
#: ``bash`` command wrote).
LEVELS = frozenset({"debug", "info", "success", "warning", "error", "transition", "output"})
#: Rows read per query.
PAGE = 1000
#: Rows read at most per request: a rare level far back answers in parts, each quickly.
MAX_SCAN = 20_000

_FIXED_LEVELS = {
    "error": "error",
    "job_failed": "error",
    "job_completed": "success",
    "job_completion_refused": "warning",
    "event_dropped": "warning",
    "state_change": "transition",
    "bash_output": "output",
}


def level_of(event_type: str, payload: dict[str, Any]) -> str:
    """The level the page shows an event at (as ``activityEntry`` in model.js does)."""
    if event_type == "activity_log":
        level = payload.get("level")
        return level if isinstance(level, str) and level in LEVELS else "info"
    if event_type == "machine_terminated":
        reason = payload.get("reason", payload.get("status"))
        return "info" if reason == "final" else "warning"
    return _FIXED_LEVELS.get(event_type, "info")


async def older(
    store: OperatorStore,
    *,
    before_id: int | None,
    limit: int,
    machine: str | None = None,
    template: str | None = None,
    levels: frozenset[str] | None = None,
    text: str | None = None,
) -> dict[str, Any]:
    """At most ``limit`` events before ``before_id`` (default: the newest), newest first.

    Returns:
        ``{"events": [...], "before": id}``: ``before`` is where to ask again for older
        ones (None when the store holds no more).
    """
    cursor = (await store.last_realtime_id()) + 1 if before_id is None else before_id
    found: list[Event] = []
    scanned = 0
    while len(found) < limit and scanned < MAX_SCAN:
        page = min(PAGE, MAX_SCAN - scanned)
        rows = await store.realtime_before(
            cursor, machine=machine, prefix=template, text=text, limit=page
        )
        for row in rows:
            scanned += 1
            cursor = row.id
            if template is not None and template_of(row.machine_name) != template:
                continue
            event = stream.from_record(row)
            if levels is None or level_of(row.event_type, event["payload"]) in levels:
                found.append(event)
                if len(found) == limit:
                    break
        if len(rows) < page and len(found) < limit:
            return {"events": found, "before": None}
    return {"events": found, "before": cursor}
