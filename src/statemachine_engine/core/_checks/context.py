"""What a check knows besides the config itself: the actions' classes, other configs.

What an action returns and writes comes from its class's traits
(:class:`~...actions.base.BaseAction`); a type nothing provides, a custom action file
that cannot be imported, or a class that declares no traits is opaque: it may return
any event and write any key.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePath
from typing import Any, NamedTuple

from ...actions._loader import ActionLoader
from ...actions.base import BaseAction
from ...config.model import MachineConfig
from ...errors import StateMachineError

ActionClasses = Callable[[str], type[BaseAction] | None]


def action_classes(loader: ActionLoader) -> ActionClasses:
    """The class behind each action type ``loader`` provides (None: no such type, or a
    custom file that cannot be imported, which the engine reports when it starts)."""

    def class_of(action_type: str) -> type[BaseAction] | None:
        if not loader.is_known(action_type):
            return None
        try:
            return loader.load(action_type)
        except StateMachineError:
            return None

    return class_of


@functools.cache
def _builtin_loader() -> ActionLoader:
    return ActionLoader()


def _builtin_class(action_type: str) -> type[BaseAction] | None:
    return action_classes(_builtin_loader())(action_type)


def _is_builtin(action_type: str) -> bool:
    return _builtin_loader().is_known(action_type)


class LintContext(NamedTuple):
    """The world around one config.

    Attributes:
        is_known_action: whether some builtin or ``--actions-dir`` file provides a type.
        action_class: the class providing a type (None: unknown or not importable).
        external_events: events other configs linted in the same run send to this machine.
    """

    is_known_action: Callable[[str], bool] = _is_builtin
    action_class: ActionClasses = _builtin_class
    external_events: frozenset[str] = frozenset()

    @classmethod
    def of(cls, loader: ActionLoader, external_events: frozenset[str] = frozenset()) -> LintContext:
        """The context of configs run with ``loader``'s actions."""
        return cls(loader.is_known, action_classes(loader), external_events)

    def emitted_by(self, action_type: str, options: Mapping[str, Any]) -> frozenset[str] | None:
        """Events an action may return; None when unknowable (see
        :meth:`BaseAction.emitted_events`)."""
        cls = self.action_class(action_type)
        return None if cls is None else cls.emitted_events(options)

    def written_by(self, action_type: str, options: Mapping[str, Any]) -> frozenset[str] | None:
        """Top-level context keys an action writes; None when unknowable."""
        cls = self.action_class(action_type)
        return None if cls is None else cls.written_keys(options)

    def claims_jobs(self, action_type: str) -> bool:
        cls = self.action_class(action_type)
        return cls is not None and cls.claims_jobs


def machine_name_of(config: MachineConfig) -> str | None:
    """The name a machine runs under by default (``metadata.machine_name``, else the stem)."""
    if config.default_machine_name:
        return config.default_machine_name
    if config.path:
        return PurePath(config.path).stem
    return None


def events_sent_between(
    configs: Sequence[MachineConfig], action_class: ActionClasses = _builtin_class
) -> Mapping[str, frozenset[str]]:
    """Machine name -> events the actions of these configs send it (``send_event``).

    A target written with a placeholder may be any of the machines.
    """
    names = [name for config in configs if (name := machine_name_of(config))]
    sent: dict[str, set[str]] = {name: set() for name in names}
    for config in configs:
        for specs in config.actions.values():
            for spec in specs:
                cls = action_class(spec.type)
                for target, event in cls.sent_events(spec.options) if cls else ():
                    for name in names if "{" in target else [target]:
                        sent.setdefault(name, set()).add(event)
    return {name: frozenset(events) for name, events in sent.items()}
