"""The async runtime of one machine: an inbox it awaits, entry actions it runs.

Nothing here polls. The machine sleeps on its inbox; sockets, timers and callers put
events into it; the state's entry actions run in a task of their own so that an event
arriving meanwhile can be looked at at once.

Execution semantics (docs/semantics.md has the long form):

- Entering a state arms its ``timeout(N)`` timers and runs its actions in order. An
  action's returned event is handled at once: a transition skips the rest of the list;
  no transition logs it as unhandled and the next action runs.
- An event arriving while actions run either has a transition from the current state,
  and then cancels the running action (its subprocess group is killed) and is taken,
  or it is held back. Held events are retried, in arrival order, on every state entry
  and when the action list finishes; once the machine is idle in a state that has no
  transition for a held event, the event is dropped as unhandled. An event that no
  transition anywhere names is dropped at once.
- Leaving a state cancels its timers; a self-transition re-arms them and re-runs the
  actions.
- A terminal state (``stopped``, ``shutdown``, ``completed`` or one listed under
  ``final:``) runs its actions; if nothing leads out of it the machine ends. A
  transition from a terminal state back to itself ends the machine too.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from ..actions.base import BaseAction
from .action_loader import ActionLoader
from .context import event_data, promoted_fields
from .event import ACTION_SOURCE, TIMER_SOURCE, Event
from .interpolation import interpolate
from .model import START_EVENT, ActionSpec, MachineConfig, Transition
from .transitions import TransitionTable

logger = logging.getLogger("statemachine_engine.engine")

_STOP = Event("__stop__")


class MachineObserver(Protocol):
    """Receives what a machine does (realtime stream, persistence, tests)."""

    def state_changed(
        self, machine: StateMachineEngine, from_state: str | None, to_state: str, event: Event
    ) -> None: ...

    def activity(self, machine: StateMachineEngine, message: str, level: str) -> None: ...

    def finished(self, machine: StateMachineEngine, reason: str) -> None: ...


class StateMachineEngine:
    """Runs one machine from a :class:`MachineConfig`.

    Args:
        config: the loaded config.
        machine_name: this instance's name (default: ``metadata.machine_name``, then the
            config's file stem, then its name).
        action_loader: resolves action types (default: builtins only).
        initial_context: keys seeded into the context before the first state.
        observers: notified of state changes, activity and the end.

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
    ) -> None:
        self.config = config
        self.table = TransitionTable.build(config.transitions)
        self._name = machine_name or config.default_machine_name or _stem(config) or config.name
        self.actions = action_loader or ActionLoader()
        self.observers: list[MachineObserver] = list(observers)
        self.context: dict[str, Any] = dict(initial_context or {})
        self.context.update(machine_name=self._name, config_name=config.name)
        self._state: str | None = None
        self._inbox: asyncio.Queue[Event] = asyncio.Queue()
        self._held: deque[Event] = deque()
        self._runner: asyncio.Task[None] | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self._generation = 0
        self._finish_reason: str | None = None
        self._stopping = False
        self._failure: BaseException | None = None

    # -- public API --------------------------------------------------------------

    @property
    def machine_name(self) -> str:
        return self._name

    @property
    def state(self) -> str | None:
        """The current state (None before :meth:`run` starts)."""
        return self._state

    @property
    def finish_reason(self) -> str | None:
        """Why :meth:`run` returned: ``"final"`` or ``"stopped"``; None while running."""
        return self._finish_reason

    def send_event(
        self,
        name: str,
        payload: Any = None,
        *,
        source: str | None = None,
        job_id: str | None = None,
    ) -> None:
        """Queue an event for the machine (call from the machine's event loop)."""
        self._inbox.put_nowait(
            Event(name, {} if payload is None else payload, source=source, job_id=job_id)
        )

    def request_stop(self) -> None:
        """End :meth:`run` soon: the running action is cancelled, nothing else runs."""
        self._stopping = True
        self._inbox.put_nowait(_STOP)

    def log_activity(self, message: str, level: str = "info") -> None:
        """Record a line in the activity log (see :class:`MachineObserver`)."""
        for observer in self.observers:
            observer.activity(self, message, level)

    async def run(self) -> str:
        """Run until the machine ends in a terminal state or :meth:`request_stop`.

        Returns:
            The state the machine ended in.
        """
        self._enter_initial()
        try:
            while True:
                event = await self._inbox.get()
                # Once ended (a terminal state settled), events queued behind the end
                # must not move the machine on.
                if self._stopping or event is _STOP or self._finish_reason is not None:
                    break
                await self._on_inbox_event(event)
        finally:
            await self._cancel_runner()
            self._cancel_timers()
        if self._failure is not None:
            raise self._failure
        reason = self._finish_reason or "stopped"
        self._finish_reason = reason
        for observer in self.observers:
            observer.finished(self, reason)
        assert self._state is not None
        return self._state

    # -- event handling ----------------------------------------------------------

    def _enter_initial(self) -> None:
        initial = self.config.initial_state
        start = Event(START_EVENT, {}, source="engine")
        if self.table.lookup(initial, START_EVENT) is not None:
            self._held.append(start)
        self._change_state(None, initial, start)

    async def _on_inbox_event(self, event: Event) -> None:
        if event.generation is not None and event.generation != self._generation:
            return  # a timer armed by an earlier visit to a state
        assert self._state is not None
        transition = self.table.lookup(self._state, event.name)
        if transition is None:
            if self._busy and self.table.handles(event.name):
                logger.debug(
                    "[%s] holding %r until %r's actions finish",
                    self._name,
                    event.name,
                    self._state,
                    extra={"action": "event_held", "machine": self._name, "event": event.name},
                )
                self._held.append(event)
            else:
                self._unhandled(event, explicit=True)
            return
        if self._busy:
            await self._cancel_runner()
        self._take(transition, event)

    @property
    def _busy(self) -> bool:
        return self._runner is not None and not self._runner.done()

    def _take(self, transition: Transition, event: Event) -> None:
        source = self._state
        if source == transition.target and self.config.is_terminal(source):
            self._finish("final")
            return
        self._change_state(source, transition.target, event)

    def _change_state(self, source: str | None, target: str, event: Event) -> None:
        self._cancel_timers()
        self._generation += 1
        self._state = target
        context = self.context
        context["previous_state"] = source
        context["current_state"] = target
        context["last_event"] = event.name
        if not event.from_action and not event.from_timer:
            data = event_data(event.name, event.payload, source=event.source, job_id=event.job_id)
            context["event_data"] = data
            context.update(promoted_fields(self.config.events.get(event.name), data))
        logger.info(
            "[%s] %s --%s--> %s",
            self._name,
            source,
            event.name,
            target,
            extra={
                "action": "transition",
                "machine": self._name,
                "from_state": source,
                "to_state": target,
                "event": event.name,
            },
        )
        for observer in self.observers:
            observer.state_changed(self, source, target, event)
        self._enter(target)

    def _enter(self, state: str) -> None:
        self._arm_timers(state)
        for index, held in enumerate(self._held):
            transition = self.table.lookup(state, held.name)
            if transition is not None:
                del self._held[index]
                self._take(transition, held)
                return
        if self.config.actions.get(state):
            self._runner = asyncio.create_task(
                self._run_actions(state, self._generation), name=f"{self._name}:{state}"
            )
        else:
            self._runner = None
            self._settle()

    def _settle(self) -> None:
        """The state's actions are done and nothing moved the machine on."""
        assert self._state is not None
        while self._held:
            held = self._held.popleft()
            transition = self.table.lookup(self._state, held.name)
            if transition is not None:
                self._take(transition, held)
                return
            self._unhandled(held, explicit=True)
        if self.config.is_terminal(self._state):
            self._finish("final")

    def _finish(self, reason: str) -> None:
        if self._finish_reason is None:
            self._finish_reason = reason
        self._cancel_timers()
        self._inbox.put_nowait(_STOP)

    def _unhandled(self, event: Event, *, explicit: bool) -> None:
        logger.log(
            logging.INFO if explicit else logging.DEBUG,
            "[%s] no transition from %r on %r; event dropped",
            self._name,
            self._state,
            event.name,
            extra={
                "action": "event_unhandled",
                "machine": self._name,
                "state": self._state,
                "event": event.name,
            },
        )

    # -- timers ---------------------------------------------------------------

    def _arm_timers(self, state: str) -> None:
        loop = asyncio.get_running_loop()
        generation = self._generation
        for transition in self.table.timeouts_for(state):
            assert transition.timeout is not None
            self._timers.append(
                loop.call_later(transition.timeout, self._fire_timer, transition.event, generation)
            )

    def _fire_timer(self, event_name: str, generation: int) -> None:
        self._inbox.put_nowait(Event(event_name, {}, source=TIMER_SOURCE, generation=generation))

    def _cancel_timers(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()

    # -- actions ---------------------------------------------------------------

    async def _cancel_runner(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None or runner.done():
            return
        runner.cancel()
        await asyncio.wait([runner])

    async def _run_actions(self, state: str, generation: int) -> None:
        try:
            for spec in self.config.actions.get(state, ()):
                event_name, explicit = await self._execute(spec)
                if generation != self._generation:
                    return  # the state was left while the action ran
                if event_name is None:
                    continue
                transition = self.table.lookup(state, event_name)
                if transition is None:
                    self._unhandled(Event(event_name, source=ACTION_SOURCE), explicit=explicit)
                    continue
                self._runner = None
                self._take(transition, Event(event_name, {}, source=ACTION_SOURCE))
                return
            self._runner = None
            self._settle()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # a bug in the engine itself: stop loudly
            logger.critical("[%s] internal error", self._name, exc_info=True)
            self._failure = exc
            self._inbox.put_nowait(_STOP)

    async def _execute(self, spec: ActionSpec) -> tuple[str | None, bool]:
        """Run one action with its retry policy; return (event, whether it was configured)."""
        cls = self.actions.load(spec.type)
        attempts, backoff = _retry_policy(spec.options.get("retry"))
        explicit = "success" in spec.options or cls.default_success is None
        for attempt in range(1, attempts + 1):
            action: BaseAction | None = None
            try:
                action = cls(self._action_config(cls, spec))
                action.runtime = self
                result = await action.execute(self.context)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                message = str(exc) or type(exc).__name__
                self.context["last_error"] = message
                logger.error(
                    "[%s] action %s in %r failed: %s",
                    self._name,
                    spec.type,
                    self._state,
                    message,
                    exc_info=logger.isEnabledFor(logging.DEBUG),
                    extra={"action": "action_failed", "machine": self._name, "type": spec.type},
                )
                result = action.error_event if action else str(spec.options.get("error", "error"))
                failed = True
            else:
                failed = result is not None and action is not None and result == action.error_event
            if failed and attempt < attempts:
                delay = backoff * 2 ** (attempt - 1)
                delay = random.uniform(delay / 2, delay)  # noqa: S311 - jitter, not crypto
                logger.info(
                    "[%s] retrying %s in %.2fs (attempt %d of %d)",
                    self._name,
                    spec.type,
                    delay,
                    attempt + 1,
                    attempts,
                    extra={"action": "action_retry", "machine": self._name, "type": spec.type},
                )
                await asyncio.sleep(delay)
                continue
            if result is not None and not isinstance(result, str):
                result = str(result)
            return result, explicit or failed
        raise AssertionError("unreachable")  # pragma: no cover

    def _action_config(self, cls: type[BaseAction], spec: ActionSpec) -> dict[str, Any]:
        raw = cls.raw_options
        options = {
            key: value if key in raw else interpolate(value, self.context)
            for key, value in spec.options.items()
        }
        return {**options, "type": spec.type, "params": dict(options)}


def _retry_policy(raw: Any) -> tuple[int, float]:
    """(attempts, base backoff seconds) from ``retry: {attempts: N, backoff: S}``."""
    if raw is None:
        return 1, 0.0
    if isinstance(raw, int) and not isinstance(raw, bool):
        return max(1, raw), 1.0
    if isinstance(raw, Mapping):
        attempts = int(raw.get("attempts", 3))
        backoff = float(raw.get("backoff", 1.0))
        return max(1, attempts), max(0.0, backoff)
    return 1, 0.0


def _stem(config: MachineConfig) -> str | None:
    if not config.path:
        return None
    name = config.path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name
