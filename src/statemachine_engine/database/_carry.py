"""Writes that wait to commit in a connection's next transaction (SQLite, PostgreSQL).

A process writes to its store through one connection, and its writes never interleave
(SQLite: none awaits inside a transaction; PostgreSQL: a transaction holds the
connection's lock until it ends). So a write that need not commit at once,
a machine's waiting steps (``core/_step_log.py``), can wait for whatever the process
writes next and commit in that transaction, before it: a worker's claim or completion
carries the steps that led to it. What nothing carries commits on its own once the
process has run what was ready (:meth:`CarriedWrites.soon`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from itertools import islice

from ._connector import CarriedWrite

#: Turns of the event loop carried writes wait for a write to carry them: what a step
#: set going (its actions, their results' steps, the next actions' writes) runs within a
#: few. Each turn takes microseconds in an idle process, which commits almost at once.
CARRY_HOPS = 8
#: The most turns while a patient write waits (a job's completion, whose worker goes on
#: without it): a worker running through jobs claimed ahead takes about two turns a job,
#: so the steps and completions of about 32 jobs commit together, and observers hear of
#: them that much later (a few milliseconds). They commit sooner, at the first turn that
#: leaves nothing else ready to run (the worker waits for the world: :func:`_idle`).
PATIENT_HOPS = 64
#: Most carried writes in one transaction: what it holds in memory stays small.
CARRY_MOST = 256
#: After a commit of its own failed, what waits tries again this much later.
RETRY_SECONDS = 1.0


class CarriedWrites:
    """The writes waiting for one connection's next transaction, one per key.

    Args:
        commit_now: commits what waits, in a transaction of its own; False when the
            store refused (it logs why); None when the commit is under way and not done
            yet (PostgreSQL: the committer calls :meth:`soon` once it is).
    """

    __slots__ = ("_commit_now", "_hopping", "_patient", "_takes", "_waiting")

    def __init__(self, commit_now: Callable[[], bool | None]) -> None:
        self._commit_now = commit_now
        self._waiting: dict[object, CarriedWrite] = {}
        #: How many times writes were taken: a commit on its own waits afresh after one.
        self._takes = 0
        self._hopping = False
        #: The keys of the patient writes waiting (``write.patient``: see PATIENT_HOPS).
        self._patient: set[object] = set()

    def __bool__(self) -> bool:
        return bool(self._waiting)

    def add(self, key: object, write: CarriedWrite) -> None:
        """Let ``write`` wait, after every write waiting now (a key added again moves
        last: a write carried later commits in the same transaction as those before it,
        or after them)."""
        waiting = self._waiting
        waiting.pop(key, None)
        waiting[key] = write
        if getattr(write, "patient", False):
            self._patient.add(key)

    def take(self, first: object = None) -> list[tuple[object, CarriedWrite]]:
        """The writes to commit in the transaction starting now (at most
        :data:`CARRY_MOST`, ``first``'s among them); they no longer wait."""
        waiting = self._waiting
        self._takes += 1
        if len(waiting) <= CARRY_MOST:
            taken = list(waiting.items())
            waiting.clear()
            self._patient.clear()
            return taken
        keys = list(islice(waiting, CARRY_MOST))
        if first is not None and first in waiting and first not in keys:
            keys[-1] = first
        taken = [(key, waiting.pop(key)) for key in keys]
        self._patient.difference_update(keys)
        self.soon()  # the rest must not wait for a write that may be long in coming
        return taken

    def put_back(self, taken: list[tuple[object, CarriedWrite]]) -> None:
        """The transaction of ``taken`` failed: they wait again."""
        for key, write in taken:
            write.failed()
            self._waiting.setdefault(key, write)
            if getattr(write, "patient", False):
                self._patient.add(key)

    def soon(self) -> None:
        """Commit what waits after :data:`CARRY_HOPS` turns of the event loop with no
        write carrying it (while a patient write waits: once the loop has nothing else
        ready to run, at most :data:`PATIENT_HOPS` turns); each carry starts the count
        again."""
        if not self._hopping and self._waiting:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (a tool's plain call): the next write carries it
                return
            self._hopping = True
            loop.call_soon(self._hop, 1, self._takes)

    def _hop(self, turns: int, takes: int) -> None:
        if not self._waiting:
            self._hopping = False
        elif takes != self._takes:  # carried since: what waits now waits afresh
            asyncio.get_running_loop().call_soon(self._hop, 1, self._takes)
        elif turns < CARRY_HOPS or (
            self._patient and turns < PATIENT_HOPS and not _idle(asyncio.get_running_loop())
        ):
            asyncio.get_running_loop().call_soon(self._hop, turns + 1, takes)
        else:
            self._hopping = False
            committed = self._commit_now()
            if committed:
                self.soon()  # what did not fit in that transaction
            elif committed is not None:  # the store refused: try again in a while
                asyncio.get_running_loop().call_later(RETRY_SECONDS, self.soon)


def _idle(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether nothing but the caller is ready to run in ``loop`` (asyncio's own loop:
    its queue of ready callbacks is empty; another loop is never taken for idle, and
    patient writes commit after :data:`PATIENT_HOPS` turns)."""
    ready = getattr(loop, "_ready", None)
    return ready is not None and not ready
