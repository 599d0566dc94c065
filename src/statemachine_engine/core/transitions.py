"""The older path of :mod:`statemachine_engine.config.transitions` (the transition table
is pure logic over the config model, so it lives with the config language)."""

from ..config.transitions import MalformedTimeout as MalformedTimeout
from ..config.transitions import TransitionTable as TransitionTable
from ..config.transitions import is_timeout_event as is_timeout_event
from ..config.transitions import parse_timeout as parse_timeout
