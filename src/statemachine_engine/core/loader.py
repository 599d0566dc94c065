"""The older path of :mod:`statemachine_engine.config.loader` (public API)."""

from ..config.loader import load_config as load_config

__all__ = [
    "load_config",
]
