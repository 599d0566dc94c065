"""The transition step: how one machine moves between its states.

The :class:`Stepper` knows the state the machine is in and the visit to it (its
*generation*: timers and action results of an earlier visit are ignored). Given an
event it takes the transition, commits it (with a store), enters the target state, arms
its timers and starts its entry actions; it holds back events that must wait for the
actions, and settles the machine when they are done: a terminal state ends it, a state
nothing can leave ends it as a dead end. The engine (:mod:`.engine`) feeds it events
from the inbox, one step at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections import ChainMap
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .. import _tracing
from ..actions.base import ActionRuntime
from ..config._transitions import GuardScope, TransitionTable
from ..config.model import WILDCARD, MachineConfig, Transition
from ..context._entries import event_data, promoted_fields
from ..errors import MachineFailed
from . import _failures as failures
from . import _resume as resume
from ._entry_actions import EntryActions
from ._event import ACTION_SOURCE, Event
from ._held import HeldEvents
from ._step_log import StepLog
from ._timers import StateTimers
from .action_loader import ActionLoader

if TYPE_CHECKING:
    from ..database.store import Store

logger = logging.getLogger("statemachine_engine.engine")


class Stepper:
    """Moves one machine through its states.

    Args:
        machine_name: the machine's name (logs, records).
        config: the machine's config.
        table: its transitions.
        loader: resolves action types.
        context: the machine's context (the stepper writes the state keys and the
            event's data into it).
        runtime: what the machine's actions see of it.
        lock: held for each step.
        store: returns the store each transition commits to; None: the machine lives
            in memory.
        deliver: queues an event in the machine's inbox (its timers fire there).
        more_waiting: whether more events wait in the inbox now (steps then commit
            together: see :mod:`._step_log`).
        stop: ends the machine's inbox loop.
        state_changed: tells the observers about a transition.
        emit: tells the observers about anything else.
        abort, crash: end the machine when the store was replaced, after a bug in the
            engine itself (given to its :class:`~._entry_actions.EntryActions`).
    """

    def __init__(
        self,
        machine_name: str,
        config: MachineConfig,
        table: TransitionTable,
        loader: ActionLoader,
        context: dict[str, Any],
        runtime: ActionRuntime,
        lock: asyncio.Lock,
        *,
        store: Callable[[], Store] | None,
        deliver: Callable[[Event], None],
        more_waiting: Callable[[], bool],
        stop: Callable[[], None],
        state_changed: Callable[[str | None, str, Event], None],
        emit: Callable[[str, dict[str, Any]], None],
        abort: Callable[[BaseException], None],
        crash: Callable[[BaseException], None],
    ) -> None:
        self.machine_name = machine_name
        self.config = config
        self.table = table
        self.loader = loader
        self.context = context
        #: The steps' writes not committed yet, and the notices waiting for them.
        self.log = StepLog(machine_name, store)
        self._more_waiting = more_waiting
        self._in_process: dict[str, bool] = {}
        self._stop = stop
        self._state_changed = state_changed
        self._emit = emit
        #: The current state (None before the first).
        self.state: str | None = None
        #: The visit to the current state: bumped on every entry.
        self.generation = 0
        #: Events waiting for the running actions, in arrival order.
        #: Events held while actions ran (:mod:`._held`).
        self.held = HeldEvents()
        #: A job handed over that this machine could not take (``(job_id, why)``): the
        #: first state that would work on it does not run its actions.
        self.refused_job: tuple[str, str] | None = None
        #: Why the machine ended (``"final"``, ``"dead_end"``...); None while it runs.
        self.finish_reason: str | None = None
        #: Why the end counts as a failure (a dead end, an unhandled error), if it does.
        self.ended_badly: MachineFailed | None = None
        #: The last action failure of this state visit that no transition took.
        self.unhandled_error: tuple[str, str | None] | None = None
        self._way_out: dict[str, bool] = {}
        self._timers = StateTimers(deliver)
        self.entry_actions = EntryActions(self, runtime, lock, abort=abort, crash=crash)

    async def on_event(self, event: Event) -> None:
        """Take the transition ``event`` names from the current state, hold it until the
        running actions finish, or drop it."""
        if event.generation is not None and event.generation != self.generation:
            return  # a timer armed by an earlier visit to a state
        assert self.state is not None
        transition = self.lookup(self.state, event)
        if transition is None:
            if self.entry_actions.busy and self.table.handles(event.name):
                logger.debug(
                    "[%s] holding %r until %r's actions finish",
                    self.machine_name,
                    event.name,
                    self.state,
                    extra={
                        "action": "event_held",
                        "machine": self.machine_name,
                        "event": event.name,
                    },
                )
                self.held.hold(event, self.state)
                if event.event_id is not None:  # its sender learns why nothing happens yet
                    self._emit(
                        "event_held",
                        {"event": event.name, "event_id": event.event_id, "state": self.state},
                    )
            else:
                await self.drop(event, explicit=True)
            return
        if self.entry_actions.busy:
            await self.entry_actions.cancel()
        await self.take(transition, event)

    def lookup(self, state: str, event: Event) -> Transition | None:
        """The transition ``event`` takes from ``state``, its guards read over the
        context as it would be with ``event`` taken (its ``event_data``)."""
        if not self.table.guarded:
            return self.table.lookup(state, event.name)
        scope = GuardScope(
            lambda: self._guard_values(event),
            lambda transition, error: failures.log_guard_failed(
                self.machine_name, transition, event.name, error
            ),
        )
        return self.table.lookup(state, event.name, scope)

    def _guard_values(self, event: Event) -> Mapping[str, Any]:
        """The context as :meth:`change_state` would leave it for ``event`` (not copied:
        the event's entries are laid over it)."""
        if event.from_action or event.from_timer:
            return self.context
        data = event_data(event.name, event.payload, source=event.source, job_id=event.job_id)
        spec = self.config.events.get(event.name)
        taken = promoted_fields(spec.context_map if spec else None, data)
        taken["event_data"] = data
        return ChainMap(taken, self.context)

    async def take(self, transition: Transition, event: Event) -> None:
        source = self.state
        if source == transition.target and self.config.is_terminal(source):
            await self._consume(event)
            self.finish("final")
            return
        await self.change_state(source, transition.target, event)

    async def change_state(self, source: str | None, target: str, event: Event) -> None:
        self.cancel_timers()
        self.generation += 1
        self.state = target
        self.unhandled_error = None
        context = self.context
        context["previous_state"] = source
        context["current_state"] = target
        context["last_event"] = event.name
        if not event.from_action and not event.from_timer:
            data = event_data(event.name, event.payload, source=event.source, job_id=event.job_id)
            context["event_data"] = data
            spec = self.config.events.get(event.name)
            context.update(promoted_fields(spec.context_map if spec else None, data))
        self.arm_timers(target)
        trace = _tracing.current()
        if event.traceparent is not None:
            trace.event_taken(event.name, event.traceparent)
        trace.transition(source, target, event.name)
        self.log.transition(
            source,
            target,
            event.name,
            context=context,
            timers=self._timers.deadlines,
            consumed_event_id=event.event_id,
            actions_done=not self.config.actions.get(target),
        )
        # Its log line, like what observers hear, follows its commit.
        self.log.tell(lambda: self._log_transition(source, target, event.name))
        self._state_changed(source, target, event)
        await self._enter(target)

    def _log_transition(self, source: str | None, target: str, event: str) -> None:
        logger.info(
            "[%s] %s--%s--> %s",
            self.machine_name,
            "" if source is None else f"{source} ",  # (the first state comes from nowhere)
            event,
            target,
            extra={
                "action": "transition",
                "machine": self.machine_name,
                "from_state": source,
                "to_state": target,
                "event": event,
            },
        )

    async def _enter(self, state: str) -> None:
        if self.held:
            taken, dropped = self.held.enter(state, lambda held: self.lookup(state, held))
            if taken is not None:
                await self.take(taken[1], taken[0])
                return
            for held in dropped:
                await self.drop(held, explicit=True)
        await self.begin_actions(state)

    async def begin_actions(self, state: str) -> None:
        if self.config.actions.get(state):
            refused, self.refused_job = self.refused_job, None
            if refused is not None and resume.works_on_job(self.config, self.loader, state):
                job_id, why = refused
                message = f"job {job_id} was handed to {self.machine_name}, but {why}"
                await self.job_lost(state, job_id, message, resumed=False)
                return
            if self.log.pending and not self._commit_can_wait(state):
                await self.log.commit()  # what the actions do outside follows the steps
            self.log.freeze()  # the step's context, before the actions change it
            self.entry_actions.start(state, self.generation)
        else:
            self.entry_actions.forget()
            await self.settle()

    async def settle(self) -> None:
        """The state's actions are done and nothing moved the machine on."""
        assert self.state is not None
        _tracing.current().settled()
        if self.config.actions.get(self.state):
            # (A state without actions was recorded as done with its transition.)
            self.log.actions_done(self.state, self.context, self._timers.deadlines)
        while self.held:
            held = self.held.pop()
            transition = self.lookup(self.state, held)
            if transition is not None:
                await self.take(transition, held)
                return
            await self.drop(held, explicit=True)
        if self.config.is_terminal(self.state):
            self.finish("final")
        elif not self._has_way_out(self.state):
            self.ended_badly = failures.dead_end(self.machine_name, self.state)
            self.finish("dead_end")

    async def step_done(self) -> None:
        """A step is over: commit the steps waiting, unless more events wait to join them."""
        if self.log.pending and (self.log.full or not self._more_waiting()):
            # An action's store write in the next few milliseconds carries the steps.
            await (self.log.commit() if self.log.full else self.log.commit_soon())

    def _commit_can_wait(self, state: str) -> bool:
        """Whether the steps before ``state``'s entry actions may wait for a later commit:
        every action keeps to this process, or only uses the store where the store
        carries waiting steps into its next write."""
        found = self._in_process.get(state)
        if found is None:
            carried = self.log.carried
            found = self._in_process[state] = all(
                action.stays_in_process or (carried and action.store_only)
                for action in (
                    self.loader.load(spec.type) for spec in self.config.actions.get(state, ())
                )
            )
        return found

    def _has_way_out(self, state: str) -> bool:
        """Whether any transition applies in ``state``: its own, a wildcard one or a
        timeout. (One that loops back, such as a periodic ``timeout(60)``, keeps the
        machine working, so it counts.)"""
        found = self._way_out.get(state)
        if found is None:
            found = self._way_out[state] = any(
                t.source in (state, WILDCARD) for t in self.config.transitions
            )
        return found

    async def job_lost(
        self, state: str, job_id: str, message: str, *, resumed: bool = True
    ) -> None:
        """In a state working on a job this machine does not hold: resumed after its lease
        ran out while it was down, or started with a job it could not take over. The
        state's actions do not run (again)."""
        event = resume.lost_job_event(self.config, self.table, self.loader, state)
        self.context["last_error"] = message
        resume.log_job_lost(self.machine_name, state, job_id, message, event, resumed=resumed)
        self._emit(
            "error",
            {"action": "resume" if resumed else "start", "state": state, "message": message},
        )
        transition = self.lookup(state, Event(event, {}, source=ACTION_SOURCE))
        if transition is None:
            self.unhandled_failure("resume" if resumed else "start", event, message)
            await self.settle()
            return
        await self.take(transition, Event(event, {}, source=ACTION_SOURCE))

    def finish(self, reason: str) -> None:
        if self.finish_reason is None:
            self.finish_reason = reason
        self.cancel_timers()
        self._stop()

    async def _consume(self, event: Event) -> None:
        """Mark a stored event handled when no transition records it."""
        if event.event_id is not None:
            self.log.consumed(event.event_id)

    async def drop(self, event: Event, *, explicit: bool) -> None:
        """Drop an event no transition from the current state takes."""
        state = self.state
        guarded = state is not None and self.table.leads(state, event.name)
        if event.event_id is not None:
            why = f"no transition from {state!r} on {event.name!r}"
            reason = why + (" whose if: holds" if guarded else "")
            self.log.dropped(event.event_id, reason)
            # Whoever sent it (the UI's send form) sees what became of it.
            self._emit(
                "event_dropped",
                {"event": event.name, "event_id": event.event_id, "state": state, "reason": reason},
            )
        self.log.tell(
            lambda: failures.log_unhandled_event(
                self.machine_name, state, event.name, explicit=explicit, guarded=guarded
            )
        )

    def unhandled_failure(self, action: str, event: str, error: str | None) -> None:
        """An action failed and no transition takes its error event: say why, loudly."""
        self.unhandled_error = (event, error)
        failures.log_unhandled_failure(self.machine_name, self.state, action, event, error)

    def arm_timers(self, state: str, saved: Sequence[tuple[str, float]] = ()) -> None:
        self._timers.arm(self.table.timeouts_for(state), self.generation, saved)

    def cancel_timers(self) -> None:
        self._timers.cancel()
