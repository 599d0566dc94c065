"""A job as the API shows it: every field ``statemachine-db details`` shows, what follows
from them (duration, next retry, the machine that held it last) and its attempts read
from its history. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..database.models.job import Job

#: A job in these statuses waits for ``run_after`` before it runs (again).
WAITING = ("pending", "failed")
CLAIM = "processing"


def job_object(job: Job, *, worker: str | None = None, now: float) -> dict[str, Any]:
    """Every field of ``job``, and ``worker`` (its lease owner, else ``worker``: the
    machine that held it last), ``last_error``, ``duration`` (started to completed) and
    ``next_retry`` (when a waiting job may run, if later than ``now``)."""
    duration = None
    if job.started_at is not None and job.completed_at is not None:
        duration = max(0.0, job.completed_at - job.started_at)
    waiting = job.status in WAITING and job.run_after > now
    fields = job.as_dict()
    fields.pop("id", None)  # the row id: the store's, not the operator's
    return {
        **fields,
        "worker": job.lease_owner or worker,
        "last_error": job.error,
        "duration": duration,
        "next_retry": job.run_after if waiting else None,
    }


def attempts_of(history: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The attempts a job's history rows (oldest first) tell of: each claim (a
    ``processing`` row) with its worker, and the row after it that ended it (its status
    the outcome, its message the reason). An attempt still running has no end; a claim
    followed by another claim lost its lease (outcome ``lost``). A failure keeps the
    ``output`` the failing command printed, when it was kept."""
    attempts: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for row in history:
        if row.get("status") == CLAIM:
            if current is not None:
                _end(current, "lost", None, row.get("at"))
            current = {
                "attempt": row.get("attempt"),
                "worker": row.get("worker") or None,
                "started_at": row.get("at"),
                "ended_at": None,
                "seconds": None,
                "outcome": None,
                "message": None,
                "output": None,
            }
            attempts.append(current)
        elif current is not None:
            _end(current, row.get("status"), row.get("message"), row.get("at"))
            current["output"] = row.get("output")
            current = None
    return attempts


def _end(attempt: dict[str, Any], outcome: Any, message: Any, at: Any) -> None:
    attempt["outcome"] = outcome
    attempt["message"] = message
    attempt["ended_at"] = at
    started = attempt["started_at"]
    if isinstance(at, int | float) and isinstance(started, int | float):
        attempt["seconds"] = max(0.0, at - started)


def failed_attempt(attempt: Mapping[str, Any]) -> bool:
    """Whether an attempt did not complete (it failed, or runs still): its errors matter."""
    return attempt.get("outcome") != "completed"
