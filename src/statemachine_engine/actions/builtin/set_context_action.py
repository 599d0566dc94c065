"""``set_context``: store values in the machine's context.

Options:
    key + value: set one key (``value`` keeps its type when it is a lone placeholder;
        a dotted key such as ``result.count`` sets a nested field).
    values: a mapping of several keys to set at once.
    success: event returned afterwards (default ``success``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ...core.context import ENGINE_KEYS
from ..base import BaseAction


def set_path(context: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` (dotted for nested mappings, created as needed) to ``value``."""
    parts = key.split(".")
    if parts[0] in ENGINE_KEYS and parts[0] not in ("last_error",):
        raise ValueError(f"{parts[0]!r} is managed by the engine and cannot be set")
    target = context
    for part in parts[:-1]:
        child = target.get(part)
        if not isinstance(child, dict):
            child = {}
            target[part] = child
        target = child
    target[parts[-1]] = value


class SetContextAction(BaseAction):
    """Write keys into the context."""

    default_success: ClassVar[str | None] = "success"

    async def execute(self, context: dict[str, Any]) -> str | None:
        values = self.get_config_value("values")
        key = self.get_config_value("key")
        if values is None and key is None:
            raise ValueError("set_context needs 'key' and 'value', or a 'values' mapping")
        if values is not None:
            if not isinstance(values, Mapping):
                raise ValueError("set_context 'values' must be a mapping of keys to values")
            for name, value in values.items():
                set_path(context, str(name), value)
        if key is not None:
            set_path(context, str(key), self.get_config_value("value"))
        return self.success_event
