"""Events a machine holds while a state's actions run, until a state takes them.

An event the current state has no transition for, but some other state has, waits (see
docs/semantics.md). It is taken when the machine enters a state that takes it, oldest
first, one per entry. It is dropped when the machine is idle in a state that does not
take it, or when the machine comes back to the state it was held in without having
passed a state that would take it: a state that loops on itself (a poller) is never
idle, and would otherwise hold it for ever, to act on it at some much later visit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from ._event import Event

T = TypeVar("T")


class _Held:
    __slots__ = ("event", "held_in", "offered")

    def __init__(self, event: Event, held_in: str | None) -> None:
        self.event = event
        self.held_in = held_in
        #: A state that takes it was entered since it was held (or since the machine
        #: was last back in ``held_in``), but took an older event first.
        self.offered = False


class HeldEvents:
    """The events held, oldest first."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: list[_Held] = []  # rarely any: a list is a tenth of a deque's size

    def __bool__(self) -> bool:
        return bool(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Event]:
        return (entry.event for entry in self._entries)

    def hold(self, event: Event, state: str | None) -> None:
        """Hold ``event``, which arrived while ``state``'s actions ran (None: before any
        state, such as the machine's start)."""
        self._entries.append(_Held(event, state))

    def pop(self) -> Event:
        """Take out the oldest."""
        return self._entries.pop(0).event

    def enter(
        self, state: str, takes: Callable[[Event], T | None]
    ) -> tuple[tuple[Event, T] | None, list[Event]]:
        """The machine enters ``state``, where ``takes(event)`` is the transition an event
        takes (None: none). Returns the oldest event taken with its transition (taken out),
        and the events to drop (taken out): those back in the state they were held in
        with no state on the way that would take them."""
        taken: tuple[_Held, T] | None = None
        for entry in self._entries:
            transition = takes(entry.event)
            if transition is None:
                continue
            if taken is None:
                taken = (entry, transition)
            else:
                entry.offered = True
        if taken is not None:
            self._entries.remove(taken[0])
            return (taken[0].event, taken[1]), []
        dropped: list[Event] = []
        kept: list[_Held] = []
        for entry in self._entries:
            if entry.held_in != state:
                kept.append(entry)
            elif entry.offered:  # a lap with a chance to be taken: another one
                entry.offered = False
                kept.append(entry)
            else:
                dropped.append(entry.event)
        self._entries = kept
        return None, dropped
