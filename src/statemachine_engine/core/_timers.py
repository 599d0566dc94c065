"""A machine's durable timers: the ``timeout(N)`` timers of the state it is in, and the
wall-clock timer both they and its delayed events (:mod:`._due_events`) are armed with.

Entering a state arms one timer per timeout transition; leaving it cancels them all.
Deadlines are wall-clock times so they can be stored with the state and honoured after
a restart (a delayed event's due time is stored with the event, likewise). A fired timer
puts its event in the inbox tagged with the state entry (``generation``) that armed it,
so a timer from an earlier visit is recognised as stale.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..config.model import Transition
from ._event import TIMER_SOURCE, Event


def call_at_time(deadline: float, callback: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
    """Call ``callback(*args)`` in the running loop at wall-clock time ``deadline`` (epoch
    seconds; at once if it has passed). The loop's clock is monotonic: a callback may run
    a hair before the wall clock reaches ``deadline``, so a caller that must not act
    early checks the time again."""
    delay = max(0.0, deadline - time.time())
    return asyncio.get_running_loop().call_later(delay, callback, *args)


class StateTimers:
    """Armed timers; ``deliver`` receives each fired timer's event."""

    def __init__(self, deliver: Callable[[Event], None]) -> None:
        self._deliver = deliver
        self._handles: list[asyncio.TimerHandle] = []
        self._deadlines: list[tuple[str, float]] = []

    @property
    def deadlines(self) -> list[tuple[str, float]]:
        """``(event, wall-clock deadline)`` of each armed timer (what a restart needs)."""
        return list(self._deadlines)

    def arm(
        self,
        transitions: Iterable[Transition],
        generation: int,
        saved: Sequence[tuple[str, float]] = (),
    ) -> None:
        """Arm ``transitions``' timeouts; ``saved`` deadlines (after a restart) win."""
        now = time.time()
        remembered = dict(saved)
        for transition in transitions:
            assert transition.timeout is not None
            deadline = remembered.get(transition.event, now + transition.timeout)
            self._deadlines.append((transition.event, deadline))
            self._handles.append(call_at_time(deadline, self._fire, transition.event, generation))

    def _fire(self, event_name: str, generation: int) -> None:
        self._deliver(Event(event_name, {}, source=TIMER_SOURCE, generation=generation))

    def cancel(self) -> None:
        for handle in self._handles:
            handle.cancel()
        self._handles.clear()
        self._deadlines.clear()
