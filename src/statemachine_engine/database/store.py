"""The store interface: what machines use (:class:`Store`) and what operators use besides
(:class:`OperatorStore`).

Each operation is written, with its signature and docstring, once: in the group of its
concern (:mod:`._queue`, :mod:`._machines`, :mod:`._operator`), over a connector per
dialect (SQLite, PostgreSQL). The two interfaces are those groups put together, so code
typed against :class:`Store` cannot reach what only operators may do. One
implementation serves both (:class:`~._sql_store.SqlStore`); ``tests/contract`` runs the
same suite against each dialect.

A store also owns how its changes are heard (:meth:`Store.listener`): SQLite wakes
processes on this host through Unix datagram sockets, PostgreSQL through
``LISTEN``/``NOTIFY`` on every host (:mod:`._wakeup`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import JobNotFound as JobNotFound  # re-exported: the older import path
from ..errors import StoreError as StoreError
from ..errors import StoreNotFound as StoreNotFound
from ..errors import StoreReplaced as StoreReplaced
from ._explorer import ExplorerOperations
from ._machines import MachineOperations
from ._metrics import MetricsOperations
from ._operator import OperatorOperations
from ._queue import DEFAULT_LEASE_SECONDS as DEFAULT_LEASE_SECONDS
from ._queue import DEFAULT_MAX_ATTEMPTS as DEFAULT_MAX_ATTEMPTS
from ._queue import RETRY_BACKOFF_CAP_SECONDS as RETRY_BACKOFF_CAP_SECONDS
from ._queue import RETRY_BACKOFF_SECONDS as RETRY_BACKOFF_SECONDS
from ._queue import QueueOperations
from ._records import WakeAddress as WakeAddress

if TYPE_CHECKING:
    from ._wakeup import Listener

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "DEFAULT_MAX_ATTEMPTS",
    "RETRY_BACKOFF_CAP_SECONDS",
    "RETRY_BACKOFF_SECONDS",
    "JobNotFound",
    "OperatorStore",
    "Store",
    "StoreError",
    "StoreNotFound",
    "StoreReplaced",
    "WakeAddress",
]


class Store(QueueOperations, MachineOperations):
    """Durable jobs, machine inboxes, machine state and the realtime event log: the
    operations machines, actions and the engine use."""

    async def close(self) -> None:
        await self.connector.close()

    async def listener(self) -> Listener:
        """This process's wake-ups from the store: topics ``jobs``, ``machine:<name>``
        (when :attr:`notifies_machines`) and ``realtime``. Shared by every waiter."""
        return await self.connector.listener()

    def change_token(self) -> int | None:
        """A number that changes whenever another connection commits, read without a
        query (SQLite's ``data_version``); None when the store cannot tell so cheaply."""
        return self.connector.change_token()


class OperatorStore(Store, OperatorOperations, ExplorerOperations, MetricsOperations):
    """What operators do besides (``statemachine-db``, the monitoring API): cancel, retry,
    remove and purge jobs, return stuck ones to the queue, clean up inboxes, and read the
    counts, listings, histories, reports and the realtime log, what ``/metrics``
    reads, and the job explorer's searches and bulk changes."""
