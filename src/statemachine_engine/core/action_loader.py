"""The documented path of :class:`~statemachine_engine.actions.loader.ActionLoader` (it
finds action classes, so it lives with the actions, below the engine and the lint
checks that read their traits)."""

from ..actions.loader import ALIASES as ALIASES
from ..actions.loader import ActionLoader as ActionLoader
from ..actions.loader import class_name_for as class_name_for
