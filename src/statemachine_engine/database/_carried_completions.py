"""Job completions that commit with the process's next write (SQLite, PostgreSQL).

A worker whose next job was claimed ahead needs no write to start it, so its completion
need not commit on its own either: it waits, like the machine's steps
(:mod:`._carry`), for whatever the process writes next, and commits in that
transaction, with the steps around it. All completions waiting in a process commit as
one ``complete_jobs`` statement. Each is fenced at the commit as
:meth:`~._queue.QueueOperations.complete_job` is (its worker, its attempt); each one's
outcome (completed, or refused: the job was cancelled, failed or claimed again since)
is told to its ``outcome`` callback once the transaction has committed.

The completions wait after every step carried before them: :meth:`CarriedWrites.add
<._carry.CarriedWrites.add>` puts a key added again last, so a transaction cut at
:data:`~._carry.CARRY_MOST` writes never commits a completion without the steps that led
to it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._records import JobCompletion
from ._rows import dumps

if TYPE_CHECKING:
    from ._connector import Result

logger = logging.getLogger("statemachine_engine.store")

#: ``outcome(done)``: the completion committed (True) or was refused at the commit.
Outcome = Callable[[bool], None]


def completion_params(completions: list[JobCompletion]) -> list[dict[str, Any]]:
    """``complete_jobs``' ``jobs`` parameter."""
    return [
        {
            "job_id": job_id,
            "worker": worker,
            "attempt": None if attempt is None else int(attempt),
            "result": None if result is None else dumps(result),
        }
        for job_id, worker, attempt, result in completions
    ]


class CarriedCompletions:
    """The completions of one store handle waiting for its connection's next write (a
    :class:`~._connector.CarriedWrite`)."""

    __slots__ = ("_in_flight", "_waiting")

    #: The worker goes on without its completions: they may wait longer for a write
    #: (:data:`._carry.PATIENT_HOPS`).
    patient = True

    def __init__(self) -> None:
        self._waiting: list[tuple[JobCompletion, Outcome]] = []
        self._in_flight: list[tuple[JobCompletion, Outcome]] = []

    def __bool__(self) -> bool:
        return bool(self._waiting)

    def add(self, completion: JobCompletion, outcome: Outcome) -> None:
        self._waiting.append((completion, outcome))

    def take(self) -> tuple[str, Mapping[str, Any]] | None:
        if not self._waiting or self._in_flight:
            return None
        self._in_flight, self._waiting = self._waiting, []
        jobs = completion_params([completion for completion, _ in self._in_flight])
        return "complete_jobs", {"jobs": jobs, "now": time.time()}

    def committed(self, result: Result | None = None) -> None:
        """The transaction committed; ``result``: what ``complete_jobs`` returned (a
        connector that carries completions passes it)."""
        taken, self._in_flight = self._in_flight, []
        done = None if result is None else {row["job_id"] for row in result.rows}
        for completion, outcome in taken:
            try:
                outcome(done is None or completion.job_id in done)
            except Exception:  # inside someone's write: it must not fail it
                logger.exception("reporting the completion of job %s failed", completion.job_id)

    def failed(self) -> None:
        self._waiting[:0], self._in_flight = self._in_flight, []
