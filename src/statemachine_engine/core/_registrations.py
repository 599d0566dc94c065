"""A host's machines taking their names together.

Each durable machine registers its name before its first state: a read of its record
and a compare-and-set write. Thousands starting at once in one host would make as many
reads and commits, each commit alone. Where the store takes many names in one
transaction (``Store.registers_together``: SQLite), the machines that start in the same
turn of the event loop register as one: one read of their records, one transaction for
all of them. A name held by a live process elsewhere is refused as it would be alone,
and a name whose record moved between the read and the write is taken the one-by-one
way (read again until taken or found held): only the number of commits differs.

Once the names are taken, one more read says which of the machines have events waiting
in their inboxes; the others need not look at theirs before they wait for events (a
query each). The read comes after the commit that recorded where each machine is woken:
an event committed after it wakes its machine as any event does (its sender reads the
wake address after its own commit), and one committed before it is in it.

The machines of a batch enter their first states, and run what of their first actions
finishes at once (a ``log``, a context change), before the next batch registers: the
next registration carries their steps, each machine's first state and its actions done
in one write.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..database._records import Registration

if TYPE_CHECKING:
    from ..database.models.machine_state import MachineStateRecord
    from ..database.store import Store

logger = logging.getLogger("statemachine_engine.engine")

#: Most names registered in one transaction: the first machines need not wait for the
#: last ones' records to be read.
REGISTER_MOST = 250

#: Turns of the event loop the machines of a batch have before the next batch registers:
#: the first resumes them (first state entered, first actions started), the second runs
#: the actions' first steps (all of a ``log``).
SETTLE_TURNS = 2

#: Looks at a machine's recorded run before its name is taken; raises to refuse it.
Vet = Callable[["MachineStateRecord"], None]


#: A name taken: the previous run's record (None: none in a state), and whether the
#: machine's inbox held no event once the name was taken (so it need not look before it
#: waits: every event after that wakes it). A plain tuple: a NamedTuple compiles its
#: string annotations at import, in every machine process (docs/performance.md).
Registered = tuple["MachineStateRecord | None", bool]


_Waiting = tuple[Registration, "Vet | None", "asyncio.Future[Registered]"]


class Registrations:
    """Registers the names of a host's machines that start together (``store``: theirs)."""

    __slots__ = ("_running", "_store", "_waiting")

    def __init__(self, store: Store) -> None:
        self._store = store
        self._waiting: list[_Waiting] = []
        self._running: asyncio.Task[None] | None = None

    async def register(self, registration: Registration, vet: Vet | None) -> Registered:
        """Take ``registration``'s name with the others asking in this turn of the loop.

        Args:
            vet: judges the name's recorded run (one in a state) before the name is
                taken; what it raises refuses this machine, before anything is written.

        Raises:
            MachineAlreadyRunning: a live process holds the name.
        """
        future: asyncio.Future[Registered] = asyncio.get_running_loop().create_future()
        self._waiting.append((registration, vet, future))
        if self._running is None:
            self._running = asyncio.get_running_loop().create_task(
                self._register(), name="host:registrations"
            )
        return await future

    async def _register(self) -> None:
        try:
            # Every machine scheduled in the same turn asks first.
            await asyncio.sleep(0)
            while self._waiting:
                batch = self._waiting[:REGISTER_MOST]
                del self._waiting[:REGISTER_MOST]
                await self._take([entry for entry in batch if not entry[2].done()])
                # The machines just registered enter their first states before the next
                # ones register (whose transaction then carries their steps): what waits
                # to commit at once stays a batch's worth.
                for _ in range(SETTLE_TURNS):
                    await asyncio.sleep(0)
        finally:
            self._running = None

    async def _take(self, batch: list[_Waiting]) -> None:
        if not batch:
            return
        store = self._store
        try:
            recorded = await store.load_machines([entry[0].machine_name for entry in batch])
            taking: list[_Waiting] = []
            for entry in batch:
                registration, vet, future = entry
                previous = recorded.get(registration.machine_name)
                if vet is not None and previous is not None and previous.current_state:
                    try:
                        vet(previous)
                    except Exception as refused:
                        future.set_exception(refused)
                        continue
                taking.append(entry)
            results = await store.register_machines(
                [entry[0] for entry in taking],
                recorded,
                pid=os.getpid(),
                host=socket.gethostname(),
            )
        except BaseException as exc:
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        waiting = await self._waiting_inboxes(
            [
                entry[0].machine_name
                for entry, result in zip(taking, results, strict=True)
                if not isinstance(result, BaseException)
            ]
        )
        for (registration, _, future), result in zip(taking, results, strict=True):
            if future.done():  # its machine was cancelled meanwhile
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                empty = waiting is not None and registration.machine_name not in waiting
                future.set_result((result, empty))

    async def _waiting_inboxes(self, taken: list[str]) -> set[str] | None:
        """Which of the machines whose names were just taken have events waiting (None:
        the read failed, and each machine looks at its own inbox as it would alone)."""
        try:
            return await self._store.waiting_inboxes(taken)
        except Exception as exc:
            logger.warning(
                "could not read which of %d machines have events waiting (%s); each reads "
                "its own inbox",
                len(taken),
                exc,
            )
            return None
