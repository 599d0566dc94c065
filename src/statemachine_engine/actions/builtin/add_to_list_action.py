"""``add_to_list``: append a value to a list in the context (created if missing).

Options:
    list: the context key of the list (``list_key`` and ``key`` are accepted too).
    value: what to append (``item`` is accepted too); a lone placeholder keeps its type.
    unique: when true, a value already in the list is not added again.
    success: event returned afterwards (default ``success``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..base import BaseAction
from ._builtin import BuiltinAction

#: The options that may name the list, in order of precedence.
LIST_OPTIONS = ("list", "list_key", "key")


def list_key(action: BaseAction) -> str:
    key = action.get_config_value("list", action.get_config_value("list_key"))
    key = key if key is not None else action.get_config_value("key")
    if not key:
        raise ValueError(f"{action.config.get('type', 'list')} action needs a 'list' key name")
    return str(key)


class AddToListAction(BuiltinAction):
    """Append to a context list."""

    options = frozenset({"item", "key", "list", "list_key", "unique", "value"})

    default_success = "success"
    stays_in_process = True

    @classmethod
    def written_keys(cls, options: Mapping[str, Any]) -> frozenset[str] | None:
        """The list it appends to: the first of the options that name it."""
        keys = set(super().written_keys(options) or ())
        named = next((options[key] for key in LIST_OPTIONS if options.get(key) is not None), None)
        if named is not None:
            keys.add(str(named).split(".", 1)[0])
        return frozenset(keys)

    async def execute(self, context: dict[str, Any]) -> str | None:
        key = list_key(self)
        value = self.get_config_value("value", self.get_config_value("item"))
        items = context.get(key)
        if items is None:
            items = context[key] = []
        if not isinstance(items, list):
            raise ValueError(f"context key {key!r} holds {type(items).__name__}, not a list")
        if not (self.get_config_value("unique") and value in items):
            items.append(value)
        return self.success_event
