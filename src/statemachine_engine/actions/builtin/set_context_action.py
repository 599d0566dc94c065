"""``set_context``: store values in the machine's context.

Options:
    key + value: set one key (``value`` keeps its type when it is a lone placeholder;
        a dotted key such as ``result.count`` sets a nested field).
    values: a mapping of several keys to set at once.
    success: event returned afterwards (default ``success``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...context._entries import ENGINE_KEYS
from ._builtin import BuiltinAction


def check_key(key: str) -> None:
    """Refuse keys (or dotted paths) under a key the engine manages."""
    root = key.split(".", 1)[0]
    if root in ENGINE_KEYS and root != "last_error":
        raise ValueError(f"{root!r} is managed by the engine and cannot be set")


def set_path(context: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` (dotted for nested mappings, created as needed) to ``value``."""
    check_key(key)
    parts = key.split(".")
    target = context
    for part in parts[:-1]:
        child = target.get(part)
        if not isinstance(child, dict):
            child = {}
            target[part] = child
        target = child
    target[parts[-1]] = value


class SetContextAction(BuiltinAction):
    """Write keys into the context."""

    options = frozenset({"key", "value", "values"})

    default_success = "success"
    stays_in_process = True
    key_options = ("key", "values")

    async def execute(self, context: dict[str, Any]) -> str | None:
        values = self.get_config_value("values")
        key = self.get_config_value("key")
        if values is None and key is None:
            raise ValueError("set_context needs 'key' and 'value', or a 'values' mapping")
        updates: list[tuple[str, Any]] = []
        if values is not None:
            if not isinstance(values, Mapping):
                raise ValueError("set_context 'values' must be a mapping of keys to values")
            updates.extend((str(name), value) for name, value in values.items())
        if key is not None:
            updates.append((str(key), self.get_config_value("value")))
        for name, _ in updates:
            check_key(name)  # all or nothing: a refused key leaves the context untouched
        for name, value in updates:
            set_path(context, name, value)
        return self.success_event
