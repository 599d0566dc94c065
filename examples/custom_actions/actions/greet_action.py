"""``greet``: say hello to someone.

Options: ``name`` (default: the ``name`` field of the triggering event's payload, else
"world"), ``success`` (default ``greeted``). Stores the sentence as ``greeting``.
"""

from typing import Any

from statemachine_engine.actions import BaseAction


class GreetAction(BaseAction):
    async def execute(self, context: dict[str, Any]) -> str | None:
        payload = (context.get("event_data") or {}).get("payload") or {}
        name = self.get_config_value("name") or payload.get("name") or "world"
        context["greeting"] = f"Hello, {name}!"
        if self.runtime is not None:
            self.runtime.log_activity(context["greeting"])
        return self.get_config_value("success", "greeted")
