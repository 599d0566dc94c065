"""What operators do to a store (``statemachine-db``, the monitoring API): cancel, retry,
remove and purge jobs, return stuck ones to the queue, clean up inboxes, and read the
counts, listings, histories and the realtime log. Over any dialect's connector."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import StoreError
from ._connector import Operations, first, limit_param
from ._records import (
    ErrorRecord,
    JobStatus,
    MachineEvent,
    MachineStateRecord,
    RealtimeEvent,
    TransitionRecord,
)
from ._rows import event_record, loads, machine_record, realtime_record, record


class OperatorOperations(Operations):
    """What operators do besides what machines do (:class:`~.store.OperatorStore`)."""

    # -- jobs -------------------------------------------------------------------------

    async def cancel_job(self, job_id: str) -> bool:
        return (
            first(await self._run("cancel_job", {"job_id": job_id, "now": time.time()})) is not None
        )

    async def retry_job(self, job_id: str) -> bool:
        """Put a failed, dead or cancelled job back in the queue with fresh attempts."""
        return (
            first(await self._run("retry_job", {"job_id": job_id, "now": time.time()})) is not None
        )

    async def remove_job(self, job_id: str) -> bool:
        return (await self._run("remove_job", {"job_id": job_id})).rowcount > 0

    async def purge_jobs(self, statuses: Sequence[str], older_than: float | None = None) -> int:
        """Delete jobs with these statuses (finished before ``older_than`` seconds ago)."""
        unknown = sorted(set(statuses) - set(JobStatus.ALL))
        if unknown:
            raise StoreError(f"unknown job status {', '.join(unknown)}")
        if not statuses:
            return 0
        before = None if older_than is None else time.time() - older_than
        return (
            await self._run("purge_jobs", {"statuses": list(statuses), "before": before})
        ).rowcount

    async def cleanup_history(
        self,
        older_than: float,
        *,
        batch: int = 10_000,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Delete the transitions (the state history) recorded over ``older_than``
        seconds ago, ``batch`` of them a transaction; returns how many went.
        ``progress(deleted)`` hears the count so far after each full batch."""
        before = time.time() - older_than
        deleted = 0
        while True:
            removed = await self._run("cleanup_history", {"before": before, "limit": batch})
            deleted += removed.rowcount
            if removed.rowcount < batch:
                return deleted
            if progress is not None:
                progress(deleted)

    async def reset_processing(self, older_than: float | None = None) -> int:
        """Return processing jobs (started before ``older_than`` s ago) to the queue."""
        now = time.time()
        before = None if older_than is None else now - older_than
        return (await self._run("reset_processing", {"before": before, "now": now})).rowcount

    async def job_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(JobStatus.ALL, 0)
        for row in await self._rows("job_counts"):
            counts[row["status"]] = int(row["n"])
        return counts

    async def job_history(self, job_id: str) -> list[dict[str, Any]]:
        """A job's history rows, oldest first; ``output`` (a failure's) decoded."""
        rows = [dict(row) for row in await self._rows("job_history", job_id=job_id)]
        for row in rows:
            row["output"] = loads(row["output"])
        return rows

    # -- inboxes ------------------------------------------------------------------------

    async def list_events(
        self, *, target: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[MachineEvent]:
        rows = await self._rows(
            "list_events", target=target, status=status, limit=limit_param(limit)
        )
        return [event_record(row) for row in rows]

    async def cleanup_events(self, *, status: str | None = None) -> int:
        return (await self._run("cleanup_events", {"status": status})).rowcount

    async def delayed_events(
        self, *, target: str | None = None, limit: int | None = 100
    ) -> list[MachineEvent]:
        """Delayed events not consumed yet (of ``target``, or of every machine), the
        soonest first: those still waiting for their time, and those due but not yet
        taken (their machine is busy or down)."""
        rows = await self._rows("delayed_events", target=target, limit=limit_param(limit))
        return [event_record(row) for row in rows]

    # -- machines -----------------------------------------------------------------------

    async def forget_machine(self, machine_name: str) -> bool:
        return (await self._run("forget_machine", {"machine_name": machine_name})).rowcount > 0

    async def list_machines(self) -> list[MachineStateRecord]:
        return [machine_record(row) for row in await self._rows("list_machines")]

    async def transition_history(
        self, machine_name: str | None = None, *, since: float | None = None, limit: int = 20
    ) -> list[TransitionRecord]:
        rows = await self._rows(
            "transition_history", machine_name=machine_name, since=since, limit=limit_param(limit)
        )
        return [record(TransitionRecord, row) for row in rows]

    async def error_history(
        self, machine_name: str | None = None, *, since: float | None = None, limit: int = 20
    ) -> list[ErrorRecord]:
        """The newest errors, newest first: transitions on an error event (``error``, or
        ending in ``_failed`` or ``error``) and dead jobs, in one query.

        ``machine_name`` keeps the transitions of that machine and the dead jobs it held
        last; ``since`` (epoch s) keeps what happened from then on. At equal times a
        transition comes before a dead job.
        """
        rows = await self._rows(
            "error_history", machine=machine_name, since=since, limit=int(limit)
        )
        return [record(ErrorRecord, row) for row in rows]

    # -- realtime events ----------------------------------------------------------------

    async def list_realtime(
        self, *, after_id: int = 0, machine: str | None = None, limit: int = 1000
    ) -> list[RealtimeEvent]:
        """Recorded events after ``after_id``, oldest first.

        Ids grow in commit order, so a reader that remembers the last id it saw misses
        nothing (see :func:`~statemachine_engine.database.realtime_feed.follow_realtime`).
        """
        rows = await self._rows(
            "list_realtime", after_id=after_id, machine=machine, limit=int(limit)
        )
        return [realtime_record(row) for row in rows]

    async def realtime_before(
        self,
        before_id: int,
        *,
        machine: str | None = None,
        prefix: str | None = None,
        text: str | None = None,
        limit: int = 1000,
    ) -> list[RealtimeEvent]:
        """Recorded events before ``before_id``, newest first, without the durations of
        actions (``action_finished``).

        Args:
            before_id: only ids below this one.
            machine: only this machine's events.
            prefix: only machines whose names start with this.
            text: only events whose machine name or payload holds this (any case).
            limit: at most this many.
        """
        pattern = None
        if text:
            escaped = text.lower().replace("!", "!!").replace("%", "!%").replace("_", "!_")
            pattern = f"%{escaped}%"
        rows = await self._rows(
            "realtime_before",
            before_id=int(before_id),
            machine=machine,
            prefix=prefix or None,
            prefix_length=len(prefix or ""),
            text=pattern,
            limit=int(limit),
        )
        return [realtime_record(row) for row in rows]

    async def last_realtime_id(self) -> int:
        """The id of the newest recorded realtime event (0 when there is none)."""
        row = first(await self._run("last_realtime_id", {}))
        assert row is not None
        return int(row["id"])
