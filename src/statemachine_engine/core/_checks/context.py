"""What a check knows besides the config itself: the actions' classes, other configs.

What an action returns and writes comes from its class's traits
(:class:`~...actions.base.BaseAction`); a type nothing provides, a custom action file
that cannot be loaded, or a class that declares no traits is opaque: it may return
any event and write any key. Why a custom action file cannot be loaded is the
loader's own error, the one ``statemachine`` refuses to start with (lint SM109).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePath
from typing import Any, NamedTuple

from ...actions._loader import ActionLoader
from ...actions.base import BaseAction
from ...config.model import MachineConfig
from ...errors import ConfigError

ActionClasses = Callable[[str], type[BaseAction] | None]
LoadFailures = Callable[[str], ConfigError | None]
_Loaded = Callable[[str], type[BaseAction] | ConfigError | None]


def _loading(loader: ActionLoader) -> _Loaded:
    """The class behind each action type ``loader`` provides, or why it cannot be loaded
    (None: no such type). Remembered for the run: the loader imports a failing custom
    file again each time it is asked (it may have been fixed since), and the checks ask
    for every action of the config."""

    @functools.cache
    def load(action_type: str) -> type[BaseAction] | ConfigError | None:
        if not loader.is_known(action_type):
            return None
        try:
            return loader.load(action_type)
        except ConfigError as exc:
            return exc

    return load


def _classes_of(load: _Loaded) -> ActionClasses:
    def class_of(action_type: str) -> type[BaseAction] | None:
        found = load(action_type)
        return None if isinstance(found, ConfigError) else found

    return class_of


def _failures_of(load: _Loaded) -> LoadFailures:
    def failure_of(action_type: str) -> ConfigError | None:
        found = load(action_type)
        return found if isinstance(found, ConfigError) else None

    return failure_of


@functools.cache
def _builtin_loader() -> ActionLoader:
    return ActionLoader()


def _builtin_class(action_type: str) -> type[BaseAction] | None:
    loader = _builtin_loader()
    return loader.load(action_type) if loader.is_known(action_type) else None


def _is_builtin(action_type: str) -> bool:
    return _builtin_loader().is_known(action_type)


def _no_failure(action_type: str) -> ConfigError | None:
    return None  # every builtin loads


class LintContext(NamedTuple):
    """The world around one config.

    Attributes:
        is_known_action: whether some builtin or ``--actions-dir`` file provides a type.
        action_class: the class providing a type (None: unknown or not loadable).
        external_events: events other configs linted in the same run send to this machine.
        load_failure: why the custom file providing a type cannot be loaded (None: it
            loads, or nothing provides the type).
    """

    is_known_action: Callable[[str], bool] = _is_builtin
    action_class: ActionClasses = _builtin_class
    external_events: frozenset[str] = frozenset()
    load_failure: LoadFailures = _no_failure

    @classmethod
    def of(cls, loader: ActionLoader, external_events: frozenset[str] = frozenset()) -> LintContext:
        """The context of configs run with ``loader``'s actions."""
        load = _loading(loader)
        return cls(loader.is_known, _classes_of(load), external_events, _failures_of(load))

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
