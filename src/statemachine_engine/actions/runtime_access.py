"""Helpers for actions that need the machine's store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ActionError

if TYPE_CHECKING:
    from ..core.runtime import MachineRuntime
    from .base import BaseAction


def runtime_of(action: BaseAction) -> MachineRuntime:
    """The machine running ``action``; actions that need the store cannot run without one."""
    if action.runtime is None:
        raise ActionError(
            f"{action.config.get('type', type(action).__name__)} needs a running machine "
            "(it uses the store); run it through StateMachineEngine"
        )
    return action.runtime


def seconds(action: BaseAction, key: str, default: float) -> float:
    raw = action.get_config_value(key, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ActionError(f"{key} must be a number of seconds, got {raw!r}") from None
    if value < 0:
        raise ActionError(f"{key} must not be negative, got {value:g}")
    return value
