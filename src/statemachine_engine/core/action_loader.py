"""The documented path of :class:`~statemachine_engine.actions._loader.ActionLoader` (it
finds action classes, so it lives with the actions, below the engine and the lint
checks that read their traits)."""

from ..actions._loader import ALIASES as ALIASES
from ..actions._loader import ActionLoader as ActionLoader
from ..actions._loader import class_name_for as class_name_for

__all__ = [
    "ALIASES",
    "ActionLoader",
    "class_name_for",
]
