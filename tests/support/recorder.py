"""Watching an in-process machine: its observer callbacks and its structured log records.

Tests await what the engine reports (a state entered, a record with a given ``action``);
nothing polls or sleeps.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from statemachine_engine.core._event import Event
from statemachine_engine.core.engine import StateMachineEngine

#: How long a test waits for something a machine does, in seconds.
WAIT = 5.0


class Recorder:
    """A MachineObserver that records what one machine does and lets a test await it.

    Attributes:
        changes: ``(from_state, to_state, event name)`` per state change.
        times: ``time.monotonic()`` of each state change.
        events: the :class:`Event` of each state change.
        activities: ``(message, level)`` per activity line.
        finished_reasons: why the machine ended, once per end.
        others: other events, ``(event_type, payload)``: job_started, error...
    """

    def __init__(self) -> None:
        self.changes: list[tuple[str | None, str, str]] = []
        self.times: list[float] = []
        self.events: list[Event] = []
        self.activities: list[tuple[str, str]] = []
        self.finished_reasons: list[str] = []
        self.others: list[tuple[str, dict[str, Any]]] = []
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []

    # MachineObserver
    def state_changed(
        self, machine: StateMachineEngine, from_state: str | None, to_state: str, event: Event
    ) -> None:
        self.changes.append((from_state, to_state, event.name))
        self.times.append(time.monotonic())
        self.events.append(event)
        self._wake()

    def activity(self, machine: StateMachineEngine, message: str, level: str) -> None:
        self.activities.append((message, level))
        self._wake()

    def finished(self, machine: StateMachineEngine, reason: str) -> None:
        self.finished_reasons.append(reason)
        self._wake()

    def event(self, machine: StateMachineEngine, event_type: str, payload: dict[str, Any]) -> None:
        self.others.append((event_type, payload))
        self._wake()

    # for tests
    @property
    def states(self) -> list[str]:
        """The states entered, in order."""
        return [to_state for _, to_state, _ in self.changes]

    @property
    def messages(self) -> list[str]:
        """The activity lines' messages, in order."""
        return [message for message, _ in self.activities]

    def entered_at(self, state: str, nth: int = 1) -> float:
        """When ``state`` was entered the ``nth`` time (``time.monotonic()``)."""
        return [t for t, s in zip(self.times, self.states, strict=True) if s == state][nth - 1]

    async def until(self, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
        """Return once ``predicate`` holds, re-checked on every callback."""
        if predicate():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        try:
            await asyncio.wait_for(future, timeout)
        finally:
            self._waiters = [(p, f) for p, f in self._waiters if f is not future]

    async def entered(self, state: str, times: int = 1, timeout: float = WAIT) -> None:
        """Return once ``state`` has been entered ``times`` times."""
        await self.until(lambda: self.states.count(state) >= times, timeout)

    def _wake(self) -> None:
        for predicate, future in self._waiters:
            if not future.done() and predicate():
                future.set_result(None)


class LogWatcher(logging.Handler):
    """Collects structured log records; a test awaits one by its ``action`` field."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self._changed.set()

    def actions(self, action: str) -> list[logging.LogRecord]:
        """The records whose ``action`` is ``action``."""
        return [r for r in self.records if getattr(r, "action", None) == action]

    def count(self, action: str) -> int:
        return len(self.actions(action))

    async def until(self, action: str, count: int = 1, timeout: float = WAIT) -> None:
        """Return once ``count`` records with ``action`` have been emitted."""

        async def wait() -> None:
            while self.count(action) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)
