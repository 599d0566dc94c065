"""What a check knows besides the config itself."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from ...core.model import MachineConfig
from .catalogue import emitted_events, traits_of


def _is_builtin(action_type: str) -> bool:
    return traits_of(action_type) is not None


def _never(_action_type: str) -> bool:
    return False


class LintContext(NamedTuple):
    """The world around one config.

    Attributes:
        is_known_action: whether some builtin or ``--actions-dir`` file provides a type.
        is_custom_action: whether a type comes from ``--actions-dir`` (which may override
            a builtin); what a custom action emits or writes cannot be known.
        external_events: events other configs linted in the same run send to this machine.
    """

    is_known_action: Callable[[str], bool] = _is_builtin
    is_custom_action: Callable[[str], bool] = _never
    external_events: frozenset[str] = frozenset()

    def emitted_by(self, action_type: str, options: Mapping[str, Any]) -> frozenset[str] | None:
        """Events an action may return; None when unknowable (see ``emitted_events``)."""
        if self.is_custom_action(action_type):
            return None
        return emitted_events(action_type, options)

    def is_opaque(self, action_type: str) -> bool:
        """Whether the action's events and context writes are unknowable."""
        return self.is_custom_action(action_type) or traits_of(action_type) is None


def machine_name_of(config: MachineConfig) -> str | None:
    """The name a machine runs under by default (``metadata.machine_name``, else the stem)."""
    if config.default_machine_name:
        return config.default_machine_name
    if config.path:
        from pathlib import PurePath

        return PurePath(config.path).stem
    return None
