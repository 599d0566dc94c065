"""What the store tells ``/metrics`` (``monitoring/_metrics.py``): counts as they are now,
and the history rows after a given id, aggregated in the database.

Each read is one named query of ``schema/queries.sql`` (``metric_*``), its rows handed
back as dicts: the monitoring layer gives them their names and labels.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ._connector import Operations, first
from ._names import REMOTE_DEAD_HEARTBEAT_SECONDS, STALE_HEARTBEAT_SECONDS

#: The histogram queries take this many bucket bounds (``:b0`` ... ``:b11``).
BUCKET_COUNT = 12
GAUGES = ("metric_machines", "metric_jobs", "metric_inbox_pending", "metric_events_dropped")
HISTORIES = ("metric_transitions", "metric_job_waits", "metric_job_runs", "metric_actions")
#: The charts' back-fill (``monitoring/_series.py``): history counted per time slot.
SLOTTED = ("series_transitions", "series_job_ends")


class MetricsOperations(Operations):
    """The reads behind ``/metrics`` (:class:`~.store.OperatorStore`)."""

    async def metric_gauges(self, *, now: float | None = None) -> dict[str, list[dict[str, Any]]]:
        """The rows of each gauge query (:data:`GAUGES`), by query name: machines by
        config, state and liveness inputs; jobs by type and status; each inbox's events
        pending and dropped."""
        now = time.time() if now is None else now
        params = {
            "now": now,
            "stale_before": now - STALE_HEARTBEAT_SECONDS,
            "remote_dead_before": now - REMOTE_DEAD_HEARTBEAT_SECONDS,
        }
        return {name: [dict(row) for row in await self._rows(name, **params)] for name in GAUGES}

    async def metric_heads(self) -> dict[str, int]:
        """The newest id of each history the counters read: ``transitions`` (state
        history), ``jobs`` (job history) and ``realtime`` (realtime events)."""
        row = first(await self._run("metric_heads", {}))
        assert row is not None
        return {key: int(row[key]) for key in ("transitions", "jobs", "realtime")}

    async def metric_history(
        self, name: str, *, after_id: int, upto_id: int, bounds: Sequence[float] = ()
    ) -> list[dict[str, Any]]:
        """The rows of history query ``name`` (:data:`HISTORIES`) over the ids in
        ``(after_id, upto_id]``; a histogram's takes :data:`BUCKET_COUNT` ``bounds``."""
        if name not in HISTORIES:
            raise ValueError(f"no metric history named {name!r}")
        params: dict[str, Any] = {"after_id": after_id, "upto_id": upto_id}
        if name != "metric_transitions":
            if len(bounds) != BUCKET_COUNT:
                raise ValueError(f"a histogram takes {BUCKET_COUNT} bucket bounds")
            params.update({f"b{index}": float(bound) for index, bound in enumerate(bounds)})
        return [dict(row) for row in await self._rows(name, **params)]

    async def metric_slots(
        self, name: str, *, since: float, slot_seconds: float, upto_id: int
    ) -> list[dict[str, Any]]:
        """The rows of query ``name`` (:data:`SLOTTED`): the history rows since ``since``
        (epoch seconds) with ids up to ``upto_id``, counted per slot of ``slot_seconds``
        (``slot``: the number of the slot, ``at // slot_seconds``; ``n``: the count; the
        job ends' also ``outcome``). Slots without rows are left out."""
        if name not in SLOTTED:
            raise ValueError(f"no slotted history named {name!r}")
        if slot_seconds <= 0:
            raise ValueError("a slot lasts more than 0 seconds")
        params = {"since": float(since), "slot": float(slot_seconds), "upto_id": int(upto_id)}
        return [dict(row) for row in await self._rows(name, **params)]
