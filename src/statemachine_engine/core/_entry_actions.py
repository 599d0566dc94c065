"""Running a state's entry actions, in order, in a task of their own, and acting on
what each returns.

An action's returned event is handled at once: a transition from the state takes it and
the rest of the list is skipped; an event no transition takes is dropped (an error event
is reported loudly) and the next action runs. When the list is done the machine settles
in the state. The task runs beside the machine's inbox, so that an event arriving while
an action runs can cancel it (see :mod:`.engine`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from ..actions.base import ActionRuntime
from ..config._transitions import TransitionTable
from ..config.model import MachineConfig, Transition
from ..errors import StoreReplaced
from ._action_runner import run_action
from ._event import ACTION_SOURCE, Event
from ._step_log import StepLog
from .action_loader import ActionLoader

logger = logging.getLogger("statemachine_engine.engine")


class Steps(Protocol):
    """The machine the entry actions run in, and what they move it with (a
    :class:`~._stepper.Stepper`)."""

    machine_name: str
    config: MachineConfig
    table: TransitionTable
    loader: ActionLoader
    context: dict[str, Any]
    log: StepLog

    @property
    def generation(self) -> int: ...

    def lookup(self, state: str, event: Event) -> Transition | None: ...

    async def take(self, transition: Transition, event: Event) -> None: ...

    async def settle(self) -> None: ...

    async def drop(self, event: Event, *, explicit: bool) -> None: ...

    async def step_done(self) -> None: ...

    def unhandled_failure(self, action: str, event: str, error: str | None) -> None: ...


class EntryActions:
    """The task running the entry actions of the state the machine is in.

    Attributes:
        steps: the machine (its config, transitions, context) and its transition step.
        runtime: what the actions see of the machine.
        lock: held while the machine takes a step: an action's result waits for it.
        abort: ends the machine when the store was replaced.
        crash: ends the machine after a bug in the engine itself.
    """

    # A plain class, not a dataclass: dataclasses compile their methods from source, a
    # cost every machine process paid at import (docs/performance.md).
    def __init__(
        self,
        steps: Steps,
        runtime: ActionRuntime,
        lock: asyncio.Lock,
        *,
        abort: Callable[[BaseException], None],
        crash: Callable[[BaseException], None],
    ) -> None:
        self.steps = steps
        self.runtime = runtime
        self.lock = lock
        self.abort = abort
        self.crash = crash
        self._task: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        """Whether an action list is running."""
        return self._task is not None and not self._task.done()

    def start(self, state: str, generation: int) -> None:
        """Run ``state``'s actions for its visit number ``generation``."""
        self._task = asyncio.create_task(
            self._run(state, generation), name=f"{self.steps.machine_name}:{state}"
        )

    def forget(self) -> None:
        """The state has no actions: nothing runs."""
        self._task = None

    async def cancel(self) -> None:
        """Cancel the running actions (their subprocess groups are killed) and wait."""
        task, self._task = self._task, None
        if task is None or task.done() or task is asyncio.current_task():
            return
        task.cancel()
        await asyncio.wait([task])

    async def _run(self, state: str, generation: int) -> None:
        steps = self.steps
        try:
            for spec in steps.config.actions.get(state, ()):
                cls = steps.loader.load(spec.type)
                outcome = await run_action(
                    cls, spec, steps.context, self.runtime, tell=steps.log.tell
                )
                if self._task is not asyncio.current_task():
                    # The state was left and this runner cancelled, but the cancellation
                    # was lost (asyncio.wait_for before Python 3.12 can swallow one): its
                    # canceller holds the step lock and waits for us, so end here.
                    return
                async with self.lock:
                    if generation != steps.generation:
                        return  # the state was left while the action ran
                    if outcome.event is None:
                        continue
                    event = Event(outcome.event, {}, source=ACTION_SOURCE)
                    transition = steps.lookup(state, event)
                    if transition is None:
                        if outcome.failed:
                            steps.unhandled_failure(spec.type, outcome.event, outcome.error)
                        else:
                            await steps.drop(event, explicit=outcome.explicit)
                            await steps.step_done()
                        continue
                    self._task = None
                    await steps.take(transition, event)
                    await steps.step_done()
                    return
            async with self.lock:
                if generation == steps.generation:
                    self._task = None
                    await steps.settle()
                    await steps.step_done()
        except asyncio.CancelledError:
            raise
        except StoreReplaced as exc:  # the commit of a transition found the store gone
            self.abort(exc)
        except BaseException as exc:  # a bug in the engine itself: stop loudly
            logger.critical("[%s] internal error", self.steps.machine_name, exc_info=True)
            self.crash(exc)
