"""The base class of every action, builtin or user-written.

A config entry ``- type: my_thing`` runs ``MyThingAction`` from ``my_thing_action.py``
(found in ``--actions-dir`` first, then among the builtins). The class is instantiated
with the entry's options, interpolated from the context, each time the action runs::

    from statemachine_engine.actions import BaseAction

    class GreetAction(BaseAction):
        async def execute(self, context):
            name = context["event_data"]["payload"].get("name", "world")
            self.logger.info("hello %s", name)
            return self.get_config_value("success", "greeted")

``execute`` returns the name of the next event, or None to let the state's next action
run. Raising turns into the action's ``error`` event with the message in
``context["last_error"]``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from ..core.runtime import MachineRuntime


class BaseAction:
    """An action run on entering a state.

    Attributes:
        config: the action's options (top-level and ``params:`` merged, interpolated);
            ``config["params"]`` holds the same options for actions written against
            the earlier layout.
        logger: a logger named after the action class.
        runtime: the machine running the action (its name, activity log, event
            sending); set by the engine before :meth:`execute` is called.
    """

    #: Event returned on success when the config gives no ``success:``.
    default_success: ClassVar[str | None] = None
    #: Event returned on failure when the config gives no ``error:``.
    default_error: ClassVar[str] = "error"
    #: Options the engine passes through uninterpolated (the action renders them itself).
    raw_options: ClassVar[frozenset[str]] = frozenset()

    runtime: MachineRuntime | None = None

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config: dict[str, Any] = dict(config)
        self.logger = logging.getLogger(f"statemachine_engine.actions.{type(self).__name__}")

    def get_config_value(self, key: str, default: Any = None) -> Any:
        """An option from the top level of the action's config, else from ``params:``."""
        if key in self.config:
            return self.config[key]
        params = self.config.get("params")
        if isinstance(params, Mapping) and key in params:
            return params[key]
        return default

    @property
    def success_event(self) -> str | None:
        """The event to return on success (``success:`` or the action's default)."""
        value = self.get_config_value("success", self.default_success)
        return str(value) if value is not None else None

    @property
    def error_event(self) -> str:
        """The event to return on failure (``error:`` or the action's default)."""
        return str(self.get_config_value("error", self.default_error))

    async def execute(self, context: dict[str, Any]) -> str | None:
        """Do the work; return the next event's name or None."""
        raise NotImplementedError(f"{type(self).__name__} must implement execute()")
