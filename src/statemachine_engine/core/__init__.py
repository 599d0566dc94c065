"""The core: a pure layer (model, loader, transitions, lint checks) and the async runtime
built on it (engine, host of many machines, action loader, the port actions use).

Interpolation and the context's keys live below it, in :mod:`statemachine_engine.context`,
where the actions reach them too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr

if TYPE_CHECKING:
    from ..config.loader import load_config
    from ..config.model import MachineConfig
    from ._host import MachineHost
    from .action_loader import ActionLoader
    from .engine import StateMachineEngine

__all__ = ["ActionLoader", "MachineConfig", "MachineHost", "StateMachineEngine", "load_config"]

_LAZY = {
    "ActionLoader": ".action_loader",
    "MachineConfig": ".model",
    "MachineHost": "._host",
    "StateMachineEngine": ".engine",
    "load_config": ".loader",
}

__getattr__ = lazy_getattr(__name__, _LAZY)
