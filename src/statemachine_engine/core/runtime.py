"""What an action can ask of the machine running it."""

from __future__ import annotations

from typing import Any, Protocol


class MachineRuntime(Protocol):
    """The running machine, as seen by its actions (``BaseAction.runtime``)."""

    @property
    def machine_name(self) -> str: ...

    @property
    def state(self) -> str | None: ...

    def log_activity(self, message: str, level: str = "info") -> None:
        """Record a line in the machine's activity log (shown by the monitoring UI)."""

    def send_event(
        self,
        name: str,
        payload: Any = None,
        *,
        source: str | None = None,
        job_id: str | None = None,
    ) -> None:
        """Queue an event for this machine."""
