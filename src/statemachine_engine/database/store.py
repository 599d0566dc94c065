"""The store interface: what machines use (:class:`Store`) and what operators use besides
(:class:`OperatorStore`).

One implementation serves both (:class:`~.sql_store.SqlStore`), over a connector per
dialect (SQLite, PostgreSQL); ``tests/contract`` runs the same suite against each.

A store also owns how its changes are heard (:meth:`Store.listener`): SQLite wakes
processes on this host through Unix datagram sockets, PostgreSQL through
``LISTEN``/``NOTIFY`` on every host (:mod:`.wakeup`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from ..errors import JobNotFound as JobNotFound  # re-exported: the older import path
from ..errors import StoreError as StoreError
from ..errors import StoreNotFound as StoreNotFound
from ..errors import StoreReplaced as StoreReplaced
from .records import (
    ErrorRecord,
    Job,
    MachineEvent,
    MachineStateRecord,
    RealtimeEvent,
    TransitionRecord,
)

if TYPE_CHECKING:
    from .wakeup import Listener

DEFAULT_LEASE_SECONDS = 60.0
DEFAULT_MAX_ATTEMPTS = 3
#: First retry waits this long; each further one twice as long (with jitter).
RETRY_BACKOFF_SECONDS = 2.0
RETRY_BACKOFF_CAP_SECONDS = 3600.0


class WakeAddress(NamedTuple):
    """Where a running machine listens for wake-ups: a datagram socket on ``host``."""

    path: str
    host: str


class Store(Protocol):
    """Durable jobs, machine inboxes, machine state and the realtime event log: the
    operations machines, actions and the engine use."""

    location: str
    #: True when committing an event to a machine's inbox wakes that machine by itself,
    #: wherever it runs (it listens on topic ``machine:<name>``); False when the sender
    #: wakes it through its control socket on this host.
    notifies_machines: bool

    async def close(self) -> None: ...

    async def listener(self) -> Listener:
        """This process's wake-ups from the store: topics ``jobs``, ``machine:<name>``
        (when :attr:`notifies_machines`) and ``realtime``. Shared by every waiter."""

    # -- jobs -----------------------------------------------------------------

    async def add_job(
        self,
        job_type: str,
        data: Any = None,
        *,
        job_id: str | None = None,
        priority: int = 0,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        delay: float = 0.0,
        machine_type: str | None = None,
        source_job_id: str | None = None,
    ) -> Job:
        """Queue a job; ``job_id`` is generated when not given (a duplicate is an error)."""

    async def claim_job(
        self,
        job_type: str | None,
        worker: str,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        machine_type: str | None = None,
    ) -> Job | None:
        """Atomically hand the most urgent ready job to ``worker`` (None if there is none).

        Jobs whose lease expired go back to the queue first (or to ``dead`` when that
        was their last attempt).
        """

    async def claim_job_by_id(
        self, job_id: str, worker: str, *, lease_seconds: float = DEFAULT_LEASE_SECONDS
    ) -> Job | None:
        """Claim one particular job if it is ready (None otherwise)."""

    async def renew_leases(self, worker: str, lease_seconds: float) -> int:
        """Extend every lease ``worker`` holds; returns how many."""

    async def complete_job(
        self,
        job_id: str,
        *,
        result: Any = None,
        worker: str | None = None,
        attempt: int | None = None,
    ) -> bool:
        """Mark a processing job completed (only by its lease holder when ``worker`` is
        given, and only in that attempt when ``attempt`` is)."""

    async def fail_job(
        self,
        job_id: str,
        error: str,
        *,
        worker: str | None = None,
        retry: bool = True,
        attempt: int | None = None,
    ) -> Job | None:
        """Record a failure: ``failed`` with a backoff if attempts remain, else ``dead``
        (fenced by ``worker`` and ``attempt`` like :meth:`complete_job`)."""

    async def hand_over_job(
        self, job_id: str, *, attempt: int, worker: str, lease_seconds: float
    ) -> Job | None:
        """Move a processing job's lease to ``worker`` (a machine its holder started), if
        the job is still in ``attempt``; None otherwise (it was claimed again since)."""

    async def release_job_unused(self, job_id: str, *, worker: str, attempt: int) -> bool:
        """Give a processing job back untouched: ``pending`` at once, the attempt it was
        claimed in not counted (its holder was stopped before finishing it). Only its
        lease holder ``worker`` can, and only in ``attempt``; False otherwise."""

    async def record_action_group(self, machine_name: str, group: Mapping[str, Any]) -> None:
        """Record in the machine's context (key ``_engine_action_group``) the process
        group of the action it runs now: ``{"pgid": ..., "host": ...}``."""

    async def get_job(self, job_id: str) -> Job | None: ...

    async def list_jobs(
        self,
        *,
        status: str | Iterable[str] | None = None,
        job_type: str | None = None,
        machine_type: str | None = None,
        limit: int | None = 100,
    ) -> list[Job]: ...

    async def next_job_ready_at(self, job_type: str | None) -> float | None:
        """When a job of ``job_type`` may next become claimable (epoch s), or None.

        That is the earliest ``run_after`` of a waiting job or lease expiry of a claimed
        one, so a waiting worker can sleep until then instead of polling.
        """

    # -- machine inboxes --------------------------------------------------------

    async def send_event(
        self,
        target: str,
        event_type: str,
        payload: Any = None,
        *,
        source: str | None = None,
        job_id: str | None = None,
    ) -> int:
        """Commit an event to ``target``'s inbox; returns its id."""

    async def pending_events(
        self, target: str, *, after_id: int = 0, limit: int = 1000
    ) -> list[MachineEvent]: ...

    async def inbox_heads(self, after_id: int) -> list[tuple[str, int]]:
        """``(target, newest id)`` of every inbox that received events after ``after_id``."""

    async def pending_heads(self) -> list[tuple[str, int]]:
        """``(target, newest id)`` of every inbox holding events not consumed yet."""

    async def last_event_id(self) -> int:
        """The id of the newest event in any inbox (0 when there is none)."""

    def change_token(self) -> int | None:
        """A number that changes whenever another connection commits, read without a
        query (SQLite's ``data_version``); None when the store cannot tell so cheaply."""

    async def mark_events(
        self, ids: Sequence[int], status: str, *, reason: str | None = None
    ) -> int:
        """Mark pending events ``status`` (``reason``: why they were dropped)."""

    # -- machine state ------------------------------------------------------------

    async def register_machine(
        self,
        machine_name: str,
        *,
        config_name: str | None,
        config_path: str | None,
        pid: int,
        host: str,
        wake_address: str | None = None,
        lease_seconds: float = ...,
        config_hash: str | None = None,
    ) -> MachineStateRecord | None:
        """Take the machine's name for this process and mark it running; return its
        previous record if any.

        Args:
            wake_address: the socket senders on ``host`` wake the machine through.
            lease_seconds: a holder silent for this long has lost the name.
            config_hash: identifies the config's content (``MachineConfig.source_hash``);
                the previous record carries the one it ran under.

        Raises:
            MachineAlreadyRunning: a live process holds the name (see :mod:`.names`).
        """

    async def wake_address(self, machine_name: str) -> WakeAddress | None:
        """Where the running machine ``machine_name`` is woken (None: not running, or
        woken otherwise)."""

    async def save_transition(
        self,
        machine_name: str,
        *,
        from_state: str | None,
        to_state: str,
        event: str,
        context: Mapping[str, Any],
        timers: Sequence[tuple[str, float]],
        consumed_event_id: int | None = None,
        job_id: str | None = None,
        actions_done: bool = False,
    ) -> None:
        """Commit a transition: state, context, timers, history and the consumed event.

        ``actions_done`` records at once that the new state has no entry actions to run.
        """

    async def mark_actions_done(self, machine_name: str, context: Mapping[str, Any]) -> None:
        """The current state's entry actions have all run (a restart need not redo them)."""

    async def heartbeat(self, machine_name: str) -> None: ...

    async def heartbeat_process(self, pid: int, host: str) -> int:
        """Record that every running machine process ``pid`` on ``host`` hosts is alive."""

    async def finish_machine(self, machine_name: str, status: str) -> None: ...

    async def load_machine(self, machine_name: str) -> MachineStateRecord | None: ...

    # -- realtime events ----------------------------------------------------------

    async def record_realtime(self, machine_name: str, event_type: str, payload: Any) -> int: ...

    async def record_realtime_batch(
        self, machine_name: str, events: Sequence[tuple[str, Any]]
    ) -> None:
        """Record several ``(event_type, payload)`` of one machine in one transaction."""

    async def record_realtime_events(self, events: Sequence[tuple[str, str, Any]]) -> None:
        """Record ``(machine_name, event_type, payload)`` of any machines, in this order,
        in one transaction (a process hosting many machines records theirs together)."""


class OperatorStore(Store, Protocol):
    """What operators do besides (``statemachine-db``, the monitoring API): cancel, retry,
    remove and purge jobs, return stuck ones to the queue, clean up inboxes, and read the
    counts, listings, histories, reports and the realtime log."""

    # -- jobs -----------------------------------------------------------------------------

    async def cancel_job(self, job_id: str) -> bool: ...

    async def retry_job(self, job_id: str) -> bool:
        """Put a failed, dead or cancelled job back in the queue with fresh attempts."""

    async def remove_job(self, job_id: str) -> bool: ...

    async def purge_jobs(self, statuses: Sequence[str], older_than: float | None = None) -> int:
        """Delete jobs with these statuses (finished before ``older_than`` seconds ago)."""

    async def reset_processing(self, older_than: float | None = None) -> int:
        """Return processing jobs (started before ``older_than`` s ago) to the queue."""

    async def job_counts(self) -> dict[str, int]: ...

    async def job_history(self, job_id: str) -> list[dict[str, Any]]: ...

    # -- machine inboxes --------------------------------------------------------------------

    async def list_events(
        self, *, target: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[MachineEvent]: ...

    async def cleanup_events(self, *, status: str | None = None) -> int: ...

    # -- machine state ----------------------------------------------------------------------

    async def forget_machine(self, machine_name: str) -> bool: ...

    async def list_machines(self) -> list[MachineStateRecord]: ...

    async def transition_history(
        self, machine_name: str | None = None, *, since: float | None = None, limit: int = 20
    ) -> list[TransitionRecord]: ...

    async def error_history(
        self, machine_name: str | None = None, *, since: float | None = None, limit: int = 20
    ) -> list[ErrorRecord]:
        """The newest errors, newest first: transitions on an error event (``error``, or
        ending in ``_failed`` or ``error``) and dead jobs, in one query.

        ``machine_name`` keeps the transitions of that machine and the dead jobs it held
        last; ``since`` (epoch s) keeps what happened from then on. At equal times a
        transition comes before a dead job.
        """

    # -- realtime events --------------------------------------------------------------------

    async def list_realtime(
        self, *, after_id: int = 0, machine: str | None = None, limit: int = 1000
    ) -> list[RealtimeEvent]:
        """Recorded events after ``after_id``, oldest first.

        Ids grow in commit order, so a reader that remembers the last id it saw misses
        nothing (see :func:`~statemachine_engine.database.realtime_feed.follow_realtime`).
        """

    async def last_realtime_id(self) -> int:
        """The id of the newest recorded realtime event (0 when there is none)."""
