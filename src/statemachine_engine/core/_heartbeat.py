"""A durable machine's heartbeat: it records that the machine is alive and renews the
leases of the jobs it holds, often enough that two renewals may fail before one runs out."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import StoreReplaced
from ._jobs import JobTracker

if TYPE_CHECKING:
    from ..database.store import Store

logger = logging.getLogger("statemachine_engine.engine")

#: How often a durable machine records that it is alive (and renews its job leases).
HEARTBEAT_SECONDS = 10.0
#: Leases are never renewed more often than this.
MIN_RENEWAL_SECONDS = 0.1


class Heartbeat:
    """The heartbeat task of one machine.

    Attributes:
        machine_name: whose liveness it records.
        jobs: the jobs the machine holds (their leases are renewed).
        store: returns the machine's store.
        own: record liveness every few seconds; False when a host records it for many
            machines at once (leases are still renewed).
        abort: called when the store was replaced: nothing written now would be kept.
    """

    # A plain class, not a dataclass: dataclasses compile their methods from source, a
    # cost every machine process paid at import (docs/performance.md).
    def __init__(
        self,
        machine_name: str,
        jobs: JobTracker,
        *,
        store: Callable[[], Store],
        own: bool,
        abort: Callable[[BaseException], None],
    ) -> None:
        self.machine_name = machine_name
        self.jobs = jobs
        self.store = store
        self.own = own
        self.abort = abort
        self._task: asyncio.Task[None] | None = None
        #: Set when a claimed job shortens the leases: the heartbeat must renew sooner.
        self._leases_changed: asyncio.Event | None = None  # made by _beat
        #: How often the heartbeat runs now (None: only when woken).
        self._period: float | None = None
        #: When (``time.monotonic()``) it runs next (None: only when woken).
        self._next: float | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        self._task = asyncio.create_task(self._beat(), name=f"{self.machine_name}:heartbeat")

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def lease_taken(self) -> None:
        """A job was adopted: renew sooner if its lease needs it, or give back sooner the
        jobs claimed ahead with it."""
        # Wake the heartbeat only when it must run sooner than it will: a worker taking
        # job after job would otherwise wake it for every one.
        lease = self.jobs.shortest_lease
        period = self._period
        changed = self._leases_changed
        due, planned = self.jobs.ahead_due, self._next
        sooner = (lease is not None and (period is None or renewal_period(lease) < period)) or (
            due is not None and (planned is None or due < planned)
        )
        if changed is not None and sooner:
            changed.set()

    async def _beat(self) -> None:
        leases_changed = self._leases_changed = asyncio.Event()
        last = time.monotonic()
        while True:
            lease = self.jobs.shortest_lease
            if lease is not None:
                period: float | None = renewal_period(lease)
            elif self.own:
                from ..database._names import SPANNING_HEARTBEAT_SECONDS

                spans = self.store().spans_hosts
                period = SPANNING_HEARTBEAT_SECONDS if spans else HEARTBEAT_SECONDS
            else:
                period = None
            self._period = period
            now = time.monotonic()
            remaining = None if period is None else last + period - now
            # Jobs claimed ahead that would wait too long go back at a beat then (once:
            # a beat since then tried, and a store that refused is not asked in a loop).
            due = self.jobs.ahead_due
            if due is not None and due > last and (remaining is None or due - now < remaining):
                remaining = due - now
            self._next = None if remaining is None else now + remaining
            if remaining is None or remaining > 0:
                # A job claimed meanwhile with a short lease must be renewed before that
                # lease runs out, not when a period computed without it ends.
                leases_changed.clear()
                changed = asyncio.ensure_future(leases_changed.wait())
                try:  # not asyncio.wait_for: it may swallow a cancellation before 3.12
                    await asyncio.wait([changed], timeout=remaining)
                finally:
                    changed.cancel()
                continue
            last = time.monotonic()
            try:
                if self.own:
                    await self.store().heartbeat(self.machine_name)
                await self.jobs.renew(self.store())
            except StoreReplaced as exc:  # nothing it writes now would be kept
                self.abort(exc)
                return
            except Exception:  # a heartbeat must never take the machine down
                logger.warning("[%s] heartbeat failed", self.machine_name, exc_info=True)


def renewal_period(lease: float) -> float:
    """How often leases of ``lease`` seconds are renewed (a third of it, at most the
    heartbeat's period): two renewals may fail before one runs out. Never more often
    than :data:`MIN_RENEWAL_SECONDS`: a lease of 0 s must not spin the heartbeat."""
    return max(MIN_RENEWAL_SECONDS, min(HEARTBEAT_SECONDS, lease / 3))
