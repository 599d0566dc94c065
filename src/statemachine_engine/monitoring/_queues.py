"""Job types nobody works on: pending jobs and no running machine that claims them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._metrics import MetricsSnapshot


def unserved(snapshot: MetricsSnapshot) -> list[dict[str, Any]]:
    """Each job type with pending jobs and no live consumer, most pending first:
    ``{job_type, pending, consumers: 0}`` (from ``/metrics``' gauges)."""
    pending = {
        job_type: count
        for (job_type, status), count in snapshot.jobs.items()
        if status == "pending" and count > 0
    }
    found = [
        {"job_type": job_type, "pending": count, "consumers": 0}
        for job_type, count in pending.items()
        if snapshot.consumers.get((job_type,), 0) == 0
    ]
    return sorted(found, key=lambda row: (-row["pending"], row["job_type"]))
