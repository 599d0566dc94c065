"""The async runtime of one machine: an inbox it awaits, entry actions it runs.

Nothing here polls. The machine sleeps on its inbox; sockets, timers and callers put
events into it; the state's entry actions run in a task of their own so that an event
arriving meanwhile can be looked at at once (it cancels them when it leaves the state,
or is held back until they finish). A terminal state with nothing leading out ends the
machine; a non-terminal state nothing can leave ends it as a failure
(:class:`DeadEndError`), as does ending right after an action failed with an error
event no transition took (:class:`UnhandledFailure`). docs/semantics.md has the rules.

With a store the machine is durable: each transition commits the new state, the
context, the armed timers' deadlines and the consumed event in one transaction, and a
machine started again under the same name resumes where it was (re-running the entry
actions of its state only if they had not finished).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .. import _tracing
from .._files import absolute_path
from ..actions._process_groups import record_group
from ..config._transitions import TransitionTable
from ..config.model import START_EVENT, MachineConfig
from ..context._entries import JOB_LEASE
from ..database._names import worker_id
from ..errors import MachineFailed
from ..messaging._delivery import follow_inbox
from ..settings import Settings
from . import _failures as failures
from . import _resume as resume
from ._action_port import ActionPort, MachineStarter
from ._event import Event
from ._heartbeat import Heartbeat
from ._inbox import Inbox
from ._jobs import HandedJob, JobTracker
from ._launches import machine_name_for
from ._machine_jobs import MachineJobs
from ._stepper import Stepper
from .action_loader import ActionLoader

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..database._records import EventOrigin
    from ..database.models.machine_state import MachineStateRecord
    from ..database.store import Store
    from ._registrations import Registrations

__all__ = [
    "MachineObserver",
    "StateMachineEngine",
]

logger = logging.getLogger("statemachine_engine.engine")
activity_logger = logging.getLogger("statemachine_engine.activity")

_STOP = Event("__stop__")
_ACTIVITY_LEVELS = {"debug": 10, "info": 20, "success": 20, "warning": 30, "error": 40}


class MachineObserver(Protocol):
    """Receives what a machine does (realtime stream, persistence, tests)."""

    def state_changed(
        self, machine: StateMachineEngine, from_state: str | None, to_state: str, event: Event
    ) -> None: ...

    def activity(self, machine: StateMachineEngine, message: str, level: str) -> None: ...

    def finished(self, machine: StateMachineEngine, reason: str) -> None: ...

    def event(self, machine: StateMachineEngine, event_type: str, payload: dict[str, Any]) -> None:
        """Anything else worth streaming: ``job_started``, ``job_completed``, ``error``..."""


class StateMachineEngine(MachineJobs):
    """Runs one machine from a :class:`MachineConfig`.

    Args:
        config: the loaded config.
        machine_name: this instance's name (default: ``metadata.machine_name``, then the
            config's file stem, then its name).
        action_loader: resolves action types (default: builtins only).
        initial_context: keys seeded into the context before the first state.
        observers: notified of state changes, activity and the end.
        store: makes the machine durable (see the module docstring). Without one the
            machine lives in memory; actions that need a store open the default one.
        fresh: with a store, start over instead of resuming a previous run.
        transition_table: the config's table, when the caller built it already (a host
            running many instances of one config builds it once).
        own_heartbeat: with a store, record liveness every few seconds. A host running
            many machines passes False and records theirs in one statement.
        handed_jobs: ``(job_id, attempt)`` or ``(job_id, attempt, lease_seconds)`` of
            jobs the machine that started this one handed over: this machine holds them
            from its start, as if it had claimed them (fenced alike: see
            docs/durability.md). A machine that resumes a previous run holds again what
            that run held instead.
        start_machine: starts a machine in this process for its ``start_fsm`` actions
            with ``in_process: true`` (a :class:`MachineHost` passes its ``spawn``).
        settings: the process's settings (default: from the environment): the store to
            open when none is given, and what commands and machines it starts inherit.

    Example::

        config = load_config("worker.yaml")
        engine = StateMachineEngine(config, machine_name="worker1")
        final_state = await engine.run()
    """

    def __init__(
        self,
        config: MachineConfig,
        *,
        machine_name: str | None = None,
        action_loader: ActionLoader | None = None,
        initial_context: Mapping[str, Any] | None = None,
        observers: Iterable[MachineObserver] = (),
        store: Store | None = None,
        fresh: bool = False,
        transition_table: TransitionTable | None = None,
        own_heartbeat: bool = True,
        handed_jobs: Iterable[tuple[str, int] | tuple[str, int, float]] = (),
        start_machine: MachineStarter | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.config = config
        self.settings = settings or Settings.load()
        self.table = transition_table or TransitionTable.build(config.transitions)
        self._name = machine_name_for(config, machine_name)
        #: Called once, when the machine is in its first state and waits for events, or
        #: ends before (set by a host that counts its machines starting).
        self.on_started: Callable[[], None] | None = None
        self.actions = action_loader or ActionLoader()
        self.observers: list[MachineObserver] = list(observers)
        self.context: dict[str, Any] = dict(initial_context or {})
        self.context.update(machine_name=self._name, config_name=config.name)
        self._store = store
        self._durable = store is not None
        self._config_path = absolute_path(config.path) if config.path else None
        self._fresh = fresh
        #: The socket senders wake this machine through, recorded in the store (set by
        #: :class:`MachineHost`; None: the store's inbox watch finds its events).
        self.wake_address: str | None = None
        #: Registers the machine's name with others starting at the same time (set by a
        #: :class:`MachineHost` whose store takes many names in one transaction).
        self.registrations: Registrations | None = None
        self._jobs = JobTracker(worker_id(self._name))
        self._heartbeat = Heartbeat(
            self._name, self._jobs, store=lambda: self.store, own=own_heartbeat, abort=self.abort
        )
        self._handed_jobs = [HandedJob(*handed) for handed in handed_jobs]
        self._inbox = Inbox(self._name, self.actions.consumed_events(config))
        self._inbox.on_drop = self._tell_dropped
        self._step = asyncio.Lock()
        #: Whether the inbox was read empty once the name was taken (see _registrations).
        self._inbox_empty = False
        self._stopping = False
        self._failure: BaseException | None = None
        self._port = ActionPort(self, start_machine)
        self._stepper = Stepper(
            self._name,
            config,
            self.table,
            self.actions,
            self.context,
            self._port,
            self._step,
            store=(lambda: self.store) if self._durable else None,
            deliver=self._inbox.put,
            more_waiting=self._inbox.waiting,
            stop=lambda: self._inbox.put(_STOP),
            state_changed=self._tell_state_changed,
            emit=self.emit,
            abort=self.abort,
            crash=self._crash,
        )

    # -- public API --------------------------------------------------------------

    @property
    def machine_name(self) -> str:
        return self._name

    @property
    def state(self) -> str | None:
        """The current state (None before :meth:`run` starts)."""
        return self._stepper.state

    @property
    def finish_reason(self) -> str | None:
        """Why :meth:`run` returned: ``"final"``, ``"stopped"`` or ``"dead_end"``; None
        while running."""
        return self._stepper.finish_reason

    @property
    def failure(self) -> MachineFailed | None:
        """After :meth:`run`: why the machine's end counts as a failure, or None.

        A :class:`DeadEndError` when it entered a non-terminal state nothing leads out
        of; an :class:`UnhandledFailure` when it ended in a terminal state right after
        an action of that state failed and no transition took the error event.
        ``statemachine`` exits 1 for either.
        """
        return self._stepper.ended_badly

    @property
    def store(self) -> Store:
        """The store: the one given, else the default one, opened on first use."""
        if self._store is None:
            from ..database import open_store

            self._store = open_store(settings=self.settings)
        return self._store

    @property
    def worker_id(self) -> str:
        return self._jobs.worker

    @property
    def action_runtime(self) -> ActionPort:
        """What this machine's actions see of it (their ``runtime``)."""
        return self._port

    def send_event(self, name: str, payload: Any = None, **origin: Unpack[EventOrigin]) -> None:
        """Queue an event for the machine, in memory (call from the machine's loop)."""
        self._inbox.put(Event(name, {} if payload is None else payload, **origin))

    async def deliver(self, name: str, payload: Any = None, **origin: Unpack[EventOrigin]) -> None:
        """Commit an event to this machine's inbox in the store, then queue it.

        Without a store this is :meth:`send_event`.
        """
        if not self._durable:
            self.send_event(name, payload, **origin)
            return
        await self.store.send_event(self._name, name, payload, **origin)
        await self.pull_events()

    async def pull_events(self) -> None:
        """Queue the events waiting in the store that this machine has not seen yet."""
        await self._inbox.pull(self.store if self._durable else None)

    def request_pull(self) -> None:
        """Look at the store's inbox soon (a wake-up arrived); bursts share one look."""
        self._inbox.request_pull(self.store if self._durable else None)

    @property
    def delivery_mark(self) -> int:
        """How many times events have been delivered to this machine so far."""
        return self._inbox.delivery_mark

    async def wait_for_delivery(self, since: int, timeout: float) -> bool:
        """Wait until an event is delivered after mark ``since``; False on timeout."""
        return await self._inbox.wait_for_delivery(since, timeout)

    def request_stop(self) -> None:
        """End :meth:`run` soon: the running action is cancelled, nothing else runs."""
        self._stopping = True
        self._inbox.put(_STOP)

    def log_activity(self, message: str, level: str = "info") -> None:
        """Record a line in the machine's activity log (logs and observers), after the
        steps before it are committed."""

        def log() -> None:
            activity_logger.log(
                _ACTIVITY_LEVELS.get(level, logging.INFO),
                "[%s] %s",
                self._name,
                message,
                extra={"action": "activity_log", "machine": self._name, "level_name": level},
            )

        self._stepper.log.tell(log)
        self._tell_activity(message, level)

    def _tell_activity(self, message: str, level: str) -> None:
        def tell() -> None:
            for observer in self.observers:
                observer.activity(self, message, level)

        self._stepper.log.tell(tell)

    def _tell_state_changed(self, source: str | None, target: str, event: Event) -> None:
        def tell() -> None:
            for observer in self.observers:
                observer.state_changed(self, source, target, event)

        self._stepper.log.tell(tell)

    def _tell_dropped(self, message: str) -> None:
        """Show an event the inbox dropped in the activity log (it logged it already)."""
        self._tell_activity(message, "warning")

    def emit(self, event_type: str, payload: dict[str, Any]) -> None:
        """Tell the observers about something besides transitions and activity (once the
        steps before it are committed)."""

        def tell() -> None:
            for observer in self.observers:
                observer.event(self, event_type, payload)

        self._stepper.log.tell(tell)

    def emit_later(self) -> Callable[[str, dict[str, Any]], None]:
        """Keep the observers' place for an event decided once a carried write commits
        (a completion's outcome): they hear nothing after it until the function returned
        is called with it."""
        log = self._stepper.log
        decided: list[tuple[str, dict[str, Any]]] = []

        def tell() -> None:
            for event_type, payload in decided:
                for observer in self.observers:
                    observer.event(self, event_type, payload)

        log.hold()
        log.tell(tell)

        def decide(event_type: str, payload: dict[str, Any]) -> None:
            decided.append((event_type, payload))
            log.unhold()

        return decide

    async def record_process_group(self, pgid: int) -> None:
        """Record the process group of the action running now, so that a restart after
        this process was killed ends it before anything runs again."""
        if self._durable:
            await record_group(self.store, self._name, pgid)

    def _tell_started(self) -> None:
        started, self.on_started = self.on_started, None
        if started is not None:
            started()

    async def run(self) -> str:
        """Run until the machine ends in a terminal state or :meth:`request_stop`.

        Returns:
            The state the machine ended in.
        """
        token = _tracing.bind(self._name)  # its actions' tasks inherit the trace
        try:
            return await self._run()
        finally:
            _tracing.unbind(token)

    async def _run(self) -> str:
        stepper = self._stepper
        inbox = None
        try:
            async with self._step:
                await self._start()
                await stepper.step_done()
            if self._durable:
                if (self._heartbeat.own or self._jobs.holds_any) and not self._heartbeat.running:
                    self._heartbeat.start()
                inbox = await follow_inbox(
                    self.store,
                    self._name,
                    pull=self.pull_events,
                    request_pull=self.request_pull,
                    seen=lambda: self._inbox.last_id,
                    lost=self.abort,
                )
                if not self._inbox_empty:  # (read empty: every event since wakes it)
                    await self.pull_events()
            self._tell_started()
            while True:
                event = await self._inbox.get()
                # Once ended (a terminal state settled), events queued behind the end
                # must not move the machine on.
                if self._stopping or event is _STOP or stepper.finish_reason is not None:
                    break
                async with self._step:
                    await stepper.on_event(event)
                    await stepper.step_done()
            if self._failure is None:
                async with self._step:
                    await stepper.log.commit()
        finally:
            self._tell_started()
            await stepper.entry_actions.cancel()
            stepper.cancel_timers()
            self._heartbeat.cancel()
            if inbox is not None:
                inbox.cancel()
            await self._inbox.close()
        if self._failure is not None:
            raise self._failure
        reason = stepper.finish_reason or "stopped"
        stepper.finish_reason = reason
        if reason == "final" and stepper.unhandled_error is not None:
            stepper.ended_badly = failures.failed_end(
                self._name, stepper.state, *stepper.unhandled_error
            )
        if self._durable:
            await self._jobs.give_back_ahead(self.store)
            if reason == "final":
                await self.release_claimed_jobs()
            elif reason == "stopped" and self._jobs.held:
                # Stopped (SIGTERM, request_stop) before its config finished them: back
                # to the queue at once, their attempts not used up. A machine that ended
                # badly (a dead end) keeps them until their leases run out, attempts
                # counted, so a job that always ends it badly ends up dead.
                await self._jobs.give_back_all(self.store)
            await self.store.finish_machine(
                self._name, "finished" if reason == "final" else "stopped"
            )
        for observer in self.observers:
            observer.finished(self, reason)
        assert stepper.state is not None
        return stepper.state

    # -- start and resume -----------------------------------------------------------

    async def _start(self) -> None:
        if self._durable:
            previous, self._inbox_empty = await resume.register_run(
                self.store,
                self.config,
                self._name,
                fresh=self._fresh,
                config_path=self._config_path,
                wake_address=self.wake_address,
                together=self.registrations,
                worker=self._jobs.worker,
                handed=[handed.job_id for handed in self._handed_jobs],
            )
            if previous is not None:
                # Jobs handed over on the command line went to the run resumed here: it
                # holds again what that run held, fenced like a claimer.
                await self._resume(previous)
                return
            self._stepper.refused_job = await resume.take_over_jobs(
                self._jobs, self.store, self._handed_jobs, self.context
            )
        initial = self.config.initial_state
        start = Event(START_EVENT, {}, source="engine")
        if self.table.leads(initial, START_EVENT):
            self._stepper.held.hold(start, None)
        await self._stepper.change_state(None, initial, start)

    async def _resume(self, record: MachineStateRecord) -> None:
        state = record.current_state
        stepper = self._stepper
        resume.restore_context(self._name, self.config, record, self.context)
        stepper.state = state
        stepper.generation += 1
        job_lease = self.context.get(JOB_LEASE)
        lost = await self._jobs.readopt(self.store, self.context)
        logger.info(
            "[%s] resumed in %r%s",
            self._name,
            state,
            "" if record.actions_done else " (re-running its actions)",
            extra={"action": "resumed", "machine": self._name, "state": state},
        )
        self._tell_state_changed(None, state, Event("resume", {}, source="engine"))
        stepper.arm_timers(state, saved=record.timers)
        if record.actions_done:
            await stepper.settle()
        elif lost is not None and resume.works_on_job(self.config, self.actions, state):
            assert isinstance(job_lease, Mapping)
            job_id = str(job_lease.get("job_id"))
            await stepper.job_lost(
                state, job_id, f"job {job_id} was lost while {self._name} was down: {lost}"
            )
        else:
            await stepper.begin_actions(state)

    def lost_job_event(self, state: str) -> str:
        """The event a machine emits when it resumes in ``state`` without the job it
        held: ``job_lost`` if a transition from ``state`` takes it, else the error event
        of the state's first action (its ``error:``, else its type's default)."""
        return resume.lost_job_event(self.config, self.table, self.actions, state)

    def abort(self, error: BaseException) -> None:
        """End the machine at once with ``error`` (its store is gone): :meth:`run` cancels
        its actions, records nothing more and raises ``error``."""
        if self._failure is None:
            self._failure = error
        self._inbox.put(_STOP)

    def _crash(self, error: BaseException) -> None:
        """End the machine at once after a bug in the engine itself (:meth:`run` raises)."""
        self._failure = error
        self._inbox.put(_STOP)
