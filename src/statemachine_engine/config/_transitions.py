"""Transition lookup and timeout events: pure functions over the config model.

Lookup rules: a transition whose source is the current state wins over a wildcard
(``from: "*"``) one; among several with the same source and event, the first in file
order wins. ``timeout(N)`` events are armed when a state is entered and fire after
``N`` seconds unless the state is left first.
"""

# Annotations are evaluated here (no `from __future__ import annotations`): a NamedTuple
# turns string annotations into ForwardRefs, each compiled at import (docs/performance.md).
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from ..errors import MalformedTimeout as MalformedTimeout  # re-exported: the older path
from ._timeouts import is_timeout_event as is_timeout_event
from ._timeouts import parse_timeout as parse_timeout
from .model import Transition


class TransitionTable(NamedTuple):
    """Index of a config's transitions for O(1) lookup."""

    exact: Mapping[tuple[str, str], Transition]
    wildcard: Mapping[str, Transition]
    timeouts: Mapping[str, tuple[Transition, ...]]
    wildcard_timeouts: tuple[Transition, ...] = ()
    events: frozenset[str] = frozenset()

    @classmethod
    def build(cls, transitions: Iterable[Transition]) -> "TransitionTable":
        exact: dict[tuple[str, str], Transition] = {}
        wildcard: dict[str, Transition] = {}
        timeouts: dict[str, list[Transition]] = {}
        wildcard_timeouts: list[Transition] = []
        events: set[str] = set()
        for transition in transitions:
            events.add(transition.event)
            if transition.is_wildcard:
                if transition.event in wildcard:
                    continue
                wildcard[transition.event] = transition
                if transition.timeout is not None:
                    wildcard_timeouts.append(transition)
            else:
                key = (transition.source, transition.event)
                if key in exact:
                    continue
                exact[key] = transition
                if transition.timeout is not None:
                    timeouts.setdefault(transition.source, []).append(transition)
        return cls(
            exact=exact,
            wildcard=wildcard,
            timeouts={
                state: tuple(sorted(items, key=_seconds)) for state, items in timeouts.items()
            },
            wildcard_timeouts=tuple(wildcard_timeouts),
            events=frozenset(events),
        )

    def lookup(self, state: str, event: str) -> Transition | None:
        """The transition ``event`` takes from ``state``, or None."""
        found = self.exact.get((state, event))
        if found is not None:
            return found
        return self.wildcard.get(event)

    def timeouts_for(self, state: str) -> tuple[Transition, ...]:
        """Timeout transitions armed on entering ``state`` (shortest first)."""
        own = self.timeouts.get(state, ())
        if not self.wildcard_timeouts:
            return own
        shadowed = {t.event for t in own}
        inherited = tuple(t for t in self.wildcard_timeouts if t.event not in shadowed)
        return tuple(sorted(own + inherited, key=_seconds))

    def handles(self, event: str) -> bool:
        """Whether any state has a transition on ``event``."""
        return event in self.events


def _seconds(transition: Transition) -> float:
    return transition.timeout or 0.0
