"""The older path of :mod:`statemachine_engine.config.model` (public API)."""

from ..config.model import MachineConfig as MachineConfig

__all__ = [
    "MachineConfig",
]
