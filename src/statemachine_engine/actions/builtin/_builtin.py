"""The base of the builtin actions."""

from __future__ import annotations

from ..base import BaseAction


class BuiltinAction(BaseAction):
    """A builtin action: it declares what it does. Unless it says otherwise, it returns
    no event besides its success and error events and writes no context key but the one
    its ``store_as:`` names."""

    other_events = {}
    writes = frozenset()
