"""What an action asks of the machine running it about itself, answered by the machine.

:class:`~.base.ActionRuntime` extends these verbs with the ones done on the machine's
behalf (jobs, other inboxes, other machines); the engine implements these itself and its
action port hands them through unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..database._records import EventOrigin
    from ..settings import Settings


class MachineVerbs(Protocol):
    """The machine's own name, state and settings, its activity log and observers, its
    in-memory queue and its deliveries."""

    @property
    def machine_name(self) -> str: ...

    @property
    def state(self) -> str | None:
        """The state whose actions run now."""

    @property
    def settings(self) -> Settings:
        """The process's settings: commands and machines an action starts get their
        environment from :meth:`~statemachine_engine.settings.Settings.child_environment`.
        """

    def log_activity(self, message: str, level: str = "info") -> None:
        """Record a line in the machine's activity log (shown by the monitoring UI)."""

    def emit(self, event_type: str, payload: dict[str, Any]) -> None:
        """Tell the machine's observers (the realtime stream) about something."""

    def send_event(self, name: str, payload: Any = None, **origin: Unpack[EventOrigin]) -> None:
        """Queue an event for this machine, in memory; ``origin``: where it comes from
        (``source=``, ``job_id=``)."""

    async def record_process_group(self, pgid: int) -> None:
        """Record the process group of the action running now (killed on restart)."""

    @property
    def delivery_mark(self) -> int:
        """A counter of deliveries to this machine (see :meth:`wait_for_delivery`)."""

    async def wait_for_delivery(self, since: int, timeout: float) -> bool:
        """Wait until something is delivered after mark ``since``; False on timeout."""
