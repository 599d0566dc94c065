"""The safety net under wake-ups: no event waits in a running machine's inbox for long.

Senders wake a machine with a datagram after committing an event to its inbox
(:mod:`._delivery`). That datagram can miss: it can be dropped, or the sender can die
between its commit and its wake-up. So each process asks its store, every
:data:`WATCH_INTERVAL_SECONDS`, one question that costs no query — SQLite's
``data_version``: has any other connection committed since? — and only when one has,
which inboxes received events since it last looked (one range read of the primary key).
A machine hosted here whose inbox holds an event newer than any it has read pulls it.

A store that wakes machines itself with a notification committed together with each
event (PostgreSQL's ``NOTIFY``) cannot lose a wake-up that way, and it cannot say
cheaply that nothing changed. There the watch only sweeps, every
:data:`SWEEP_INTERVAL_SECONDS`, the inboxes that hold unconsumed events (one query for
the process, not one per machine), in case a notification was lost to a bug.

One watch per store and event loop, whatever the number of machines: idle, a SQLite
process wakes every 0.75 s, and every 1.5 s once the store has been quiet for 6 s, for a
few microseconds of work.

The same tick checks that the SQLite file is still the one the process opened
(:class:`~..database.store.StoreReplaced`): if it was deleted or replaced, every machine
watched here is ended with that error (``lost``).
"""

# Annotations are evaluated here (no `from __future__ import annotations`): a NamedTuple
# turns string annotations into ForwardRefs, each compiled at import (docs/performance.md).
import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from ..errors import StoreReplaced

if TYPE_CHECKING:
    from ..database.store import Store

logger = logging.getLogger("statemachine_engine.delivery")

#: How often a process checks whether its store changed: an event whose wake-up was
#: lost is handled within about this long. (Each check of an idle process costs about
#: 0.25 ms of CPU on a small VM, half of it the wake-up itself.)
WATCH_INTERVAL_SECONDS = 0.75
#: How often once the store has not changed for :data:`QUIET_CHECKS` checks in a row:
#: an idle process wakes half as often (idle CPU 0.05 % to under 0.03 % here), and the
#: first change seen brings the watch back to :data:`WATCH_INTERVAL_SECONDS`. An event
#: whose wake-up was lost in a store quiet until then waits at most this long.
QUIET_INTERVAL_SECONDS = 1.5
#: Checks finding the store unchanged before the watch looks less often (6 s).
QUIET_CHECKS = 8
#: How often a process on a store that notifies its machines sweeps their inboxes.
SWEEP_INTERVAL_SECONDS = 30.0


class _Watched(NamedTuple):
    seen: Callable[[], int]
    request_pull: Callable[[], None]
    lost: Callable[[BaseException], None] | None


class InboxWatch:
    """Pulls the inboxes of this process's machines on ``store`` that a wake-up missed.

    A timer checks the store's change token; only when it changed (or, on a store
    without one, every sweep) does a task read the inbox heads; then the timer is armed
    again.
    """

    _watches: "dict[tuple[int, int], InboxWatch]" = {}

    def __init__(self, store: "Store") -> None:
        self._store = store
        self._machines: dict[str, _Watched] = {}
        self._token: int | None = None
        #: Checks in a row that found the store as it was.
        self._unchanged = 0
        self._after = 0
        self._timer: asyncio.TimerHandle | None = None
        self._look: asyncio.Task[None] | None = None
        self._key = (id(store), id(asyncio.get_running_loop()))

    @classmethod
    def of(cls, store: "Store") -> "InboxWatch":
        """The watch of ``store`` in the running loop (made on first use)."""
        key = (id(store), id(asyncio.get_running_loop()))
        watch = cls._watches.get(key)
        if watch is None:
            watch = cls._watches[key] = cls(store)
        return watch

    def add(
        self,
        machine_name: str,
        *,
        seen: Callable[[], int],
        request_pull: Callable[[], None],
        lost: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Watch ``machine_name``'s inbox; ``seen()`` is the newest event id it has read,
        ``lost(error)`` ends the machine when its store is gone."""
        self._machines[machine_name] = _Watched(seen, request_pull, lost)
        if self._timer is None and self._look is None:
            self._token = self._store.change_token()
            self._look = asyncio.get_running_loop().create_task(self._start(), name="inbox-watch")

    def remove(self, machine_name: str) -> None:
        """Stop watching ``machine_name``; the last one out stops the watch."""
        self._machines.pop(machine_name, None)
        if not self._machines:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._look is not None:
                self._look.cancel()
                self._look = None
            if InboxWatch._watches.get(self._key) is self:
                del InboxWatch._watches[self._key]

    @property
    def _sweeping(self) -> bool:
        return self._token is None

    async def _start(self) -> None:
        if not self._sweeping:
            self._after = await self._store.last_event_id()
        self._look = None
        self._schedule()

    def _schedule(self) -> None:
        # A plain timer callback, not a task sleeping in a loop: on these machines each
        # wake-up of an idle process costs a quarter of a millisecond, and half of it
        # is the task machinery.
        if self._sweeping:
            interval = SWEEP_INTERVAL_SECONDS
        elif self._unchanged >= QUIET_CHECKS:
            interval = QUIET_INTERVAL_SECONDS
        else:
            interval = WATCH_INTERVAL_SECONDS
        self._timer = asyncio.get_running_loop().call_later(interval, self._tick)

    def _tick(self) -> None:
        self._timer = None
        if not self._sweeping:
            try:
                token = self._store.change_token()
            except StoreReplaced as exc:
                self._lose(exc)
                return
            except Exception:  # the watch must never take the machines down
                logger.warning("inbox watch: cannot read the store", exc_info=True)
                token = self._token
            if token == self._token:
                self._unchanged += 1
                self._schedule()
                return
            self._token = token
            self._unchanged = 0
        self._look = asyncio.get_running_loop().create_task(self._find(), name="inbox-watch")

    def _lose(self, error: StoreReplaced) -> None:
        """The store is gone: end every machine watched here (the watch stops with them)."""
        logger.error("%s", error, extra={"action": "store_replaced", "store": error.location})
        for watched in list(self._machines.values()):
            if watched.lost is not None:
                watched.lost(error)

    async def _find(self) -> None:
        try:
            if self._sweeping:
                heads = await self._store.pending_heads()
            else:
                heads = await self._store.inbox_heads(self._after)
        except Exception:  # the watch must never take the machines down
            logger.warning("inbox watch: cannot read the store", exc_info=True)
            heads = []
        for target, head in heads:
            self._after = max(self._after, head)
            watched = self._machines.get(target)
            if watched is not None and head > watched.seen():
                logger.debug(
                    "[%s] event %d found without its wake-up; reading the inbox",
                    target,
                    head,
                    extra={"action": "inbox_rescued", "machine": target},
                )
                watched.request_pull()
        self._look = None
        if self._machines:
            self._schedule()
