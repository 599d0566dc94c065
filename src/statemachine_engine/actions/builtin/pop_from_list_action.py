"""``pop_from_list``: take the first (or last) item of a context list.

Options:
    list: the context key of the list (``list_key`` and ``key`` are accepted too).
    store_as: context key that receives the item (default ``popped_item``).
    from: ``front`` (default, first in first out) or ``back``.
    success: event when an item was taken (default ``item_popped``).
    empty: event when the list is empty or missing (default ``list_empty``).
"""

from __future__ import annotations

from typing import Any

from ..base import BaseAction
from .add_to_list_action import list_key


class PopFromListAction(BaseAction):
    """Pop from a context list."""

    options = frozenset({"from", "key", "list", "list_key"})

    default_success = "item_popped"
    stays_in_process = True
    other_events = {"empty": "list_empty"}
    writes = frozenset()
    default_store_as = "popped_item"

    async def execute(self, context: dict[str, Any]) -> str | None:
        key = list_key(self)
        items = context.get(key)
        if items is not None and not isinstance(items, list):
            raise ValueError(f"context key {key!r} holds {type(items).__name__}, not a list")
        if not items:
            return self.result_event("empty")
        end = str(self.get_config_value("from", "front")).lower()
        if end not in ("front", "back"):
            raise ValueError(f"pop_from_list 'from' must be front or back, got {end!r}")
        item = items.pop(0 if end == "front" else -1)
        context[str(self.get_config_value("store_as", self.default_store_as))] = item
        return self.success_event
