"""``calculate``: apply an arithmetic operation to two numbers.

Options: ``operation`` (add, subtract, multiply, divide), ``a`` and ``b``; each falls
back to the same field of the triggering event's payload, which wins for
``operation`` when it has one. Stores ``calculation_result``; returns ``success``
(default ``calculated``), or raises on bad input, which the engine turns into the
``error`` event with the message in ``last_error``.
"""

import operator
from typing import Any

from statemachine_engine.actions import BaseAction

OPERATIONS = {
    "add": operator.add,
    "subtract": operator.sub,
    "multiply": operator.mul,
    "divide": operator.truediv,
}


class CalculateAction(BaseAction):
    async def execute(self, context: dict[str, Any]) -> str | None:
        payload = (context.get("event_data") or {}).get("payload") or {}
        name = payload.get("operation") or self.get_config_value("operation", "add")
        if name not in OPERATIONS:
            raise ValueError(f"unknown operation {name!r}; use one of {', '.join(OPERATIONS)}")
        a = self._number("a", payload)
        b = self._number("b", payload)
        if name == "divide" and b == 0:
            raise ValueError("cannot divide by zero")
        context["calculation_result"] = OPERATIONS[name](a, b)
        return self.get_config_value("success", "calculated")

    def _number(self, key: str, payload: dict[str, Any]) -> float:
        value = self.get_config_value(key, payload.get(key))
        if value is None:
            raise ValueError(f"calculate needs a value for {key!r}")
        number = float(value)
        return int(number) if number.is_integer() else number
