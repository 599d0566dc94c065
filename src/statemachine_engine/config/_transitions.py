"""Transition lookup and timeout events: pure functions over the config model.

Lookup rules: a transition whose source is the current state wins over a wildcard
(``from: "*"``) one. Among several with the same source and event, those with an
``if:`` guard are tried in file order and the first whose guard holds is taken; one
without a guard is the fallback (the first such, in file order). When none of the
state's own applies, the wildcard ones are tried the same way. ``timeout(N)`` events
are armed when a state is entered and fire after ``N`` seconds unless the state is
left first.
"""

# Annotations are evaluated here (no `from __future__ import annotations`): a NamedTuple
# turns string annotations into ForwardRefs, each compiled at import (docs/performance.md).
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from ..errors import GuardError
from ..errors import MalformedTimeout as MalformedTimeout  # re-exported: the older path
from ._guards import Guard, compile_guard
from ._timeouts import is_timeout_event as is_timeout_event
from ._timeouts import parse_timeout as parse_timeout
from .model import Transition


class Choice(NamedTuple):
    """The transitions one event may take from one source, when guards decide."""

    guarded: tuple[tuple[Transition, Guard], ...]
    fallback: Transition | None = None

    def choose(self, scope: "GuardScope | None") -> Transition | None:
        if scope is not None:
            values = None
            for transition, guard in self.guarded:
                if values is None:
                    values = scope.values()
                try:
                    if guard.holds(values):
                        return transition
                except GuardError as exc:
                    scope.failed(transition, exc)
        return self.fallback

    @property
    def first(self) -> Transition:
        return self.guarded[0][0] if self.guarded else self.fallback  # type: ignore[return-value]


class GuardScope:
    """What guards read while one event is looked up: ``values()`` builds the mapping
    (the context with the event) only if a guard is evaluated; ``failed`` hears of a
    guard that could not be (it counts as not holding)."""

    __slots__ = ("failed", "values")

    def __init__(
        self,
        values: Callable[[], Mapping[str, Any]],
        failed: Callable[[Transition, GuardError], None],
    ) -> None:
        self.values = values
        self.failed = failed


Candidates = Transition | Choice


class TransitionTable(NamedTuple):
    """Index of a config's transitions for O(1) lookup."""

    exact: Mapping[tuple[str, str], Candidates]
    wildcard: Mapping[str, Candidates]
    timeouts: Mapping[str, tuple[Transition, ...]]
    wildcard_timeouts: tuple[Transition, ...] = ()
    events: frozenset[str] = frozenset()
    #: Whether any transition has a guard (lookups then need a scope).
    guarded: bool = False

    @classmethod
    def build(cls, transitions: Iterable[Transition]) -> "TransitionTable":
        """Index ``transitions`` (compiling their guards: the table is what evaluates them).

        Raises:
            GuardError: a guard does not compile (the loader reports it with its line).
        """
        exact: dict[tuple[str, str], list[Transition]] = {}
        wildcard: dict[str, list[Transition]] = {}
        events: set[str] = set()
        guarded = False
        for transition in transitions:
            events.add(transition.event)
            guarded = guarded or transition.guard is not None
            if transition.is_wildcard:
                wildcard.setdefault(transition.event, []).append(transition)
            else:
                exact.setdefault((transition.source, transition.event), []).append(transition)
        timeouts: dict[str, list[Transition]] = {}
        for (source, _), found in exact.items():
            if found[0].timeout is not None:
                timeouts.setdefault(source, []).append(found[0])
        return cls(
            exact={key: _candidates(found) for key, found in exact.items()},
            wildcard={event: _candidates(found) for event, found in wildcard.items()},
            timeouts={
                state: tuple(sorted(items, key=_seconds)) for state, items in timeouts.items()
            },
            wildcard_timeouts=tuple(
                found[0] for found in wildcard.values() if found[0].timeout is not None
            ),
            events=frozenset(events),
            guarded=guarded,
        )

    def lookup(self, state: str, event: str, scope: GuardScope | None = None) -> Transition | None:
        """The transition ``event`` takes from ``state``, or None. Guards are evaluated
        over ``scope``; without one, only transitions without a guard are taken."""
        found = self.exact.get((state, event))
        if found is not None:
            if type(found) is Transition:
                return found
            chosen = found.choose(scope)  # type: ignore[union-attr]
            if chosen is not None:
                return chosen
        found = self.wildcard.get(event)
        if found is None or type(found) is Transition:
            return found
        return found.choose(scope)  # type: ignore[union-attr]

    def leads(self, state: str, event: str) -> bool:
        """Whether some transition from ``state`` (or a wildcard) is on ``event``,
        whatever its guard decides."""
        return (state, event) in self.exact or event in self.wildcard

    def first(self, state: str, event: str) -> Transition | None:
        """The first transition from ``state`` (else a wildcard) on ``event``, guarded
        or not: what a reader of the config sees (lint, simulation)."""
        found = self.exact.get((state, event)) or self.wildcard.get(event)
        if found is None or type(found) is Transition:
            return found
        return found.first  # type: ignore[union-attr]

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


def _candidates(found: list[Transition]) -> Candidates:
    """One transition when no guard is involved (the first: later ones never fire),
    else the guarded ones in order with the first unguarded one as fallback."""
    guarded = tuple((t, compile_guard(t.guard)) for t in found if t.guard is not None)
    fallback = next((t for t in found if t.guard is None), None)
    if not guarded:
        assert fallback is not None
        return fallback
    return Choice(guarded, fallback)


def _seconds(transition: Transition) -> float:
    return transition.timeout or 0.0
