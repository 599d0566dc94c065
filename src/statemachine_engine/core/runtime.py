"""What an action can ask of the machine running it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..database.models.job import Job
    from ..database.store import Store
    from .host import MachineHost


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

    def emit(self, event_type: str, payload: dict[str, Any]) -> None:
        """Tell the machine's observers (the realtime stream) about something."""

    @property
    def delivery_mark(self) -> int:
        """A counter of deliveries to this machine (see :meth:`wait_for_delivery`)."""

    async def wait_for_delivery(self, since: int, timeout: float) -> bool:
        """Wait until something is delivered after mark ``since``; False on timeout."""

    @property
    def host(self) -> MachineHost | None:
        """The host running this machine among others in one process (None: none)."""

    @property
    def store(self) -> Store:
        """The durable store (opened on first use)."""

    @property
    def worker_id(self) -> str:
        """This machine's identity as a job lease holder (``name@host:pid``)."""

    def adopt_job(self, job: Job) -> None:
        """Expose a claimed job in the context and keep its lease renewed."""

    async def release_job(
        self, job_id: str, *, result: Any = None, error: str | None = None, retry: bool = True
    ) -> bool:
        """Complete a job, or with ``error`` fail it (retried later unless ``retry`` is False)."""

    def hand_over_job(self, job_id: str) -> tuple[int, float] | None:
        """Stop holding ``job_id`` because a machine this one starts takes it over:
        ``(attempt, lease)`` to pass to that machine; None if this one does not hold it."""

    def take_back_job(self, job_id: str, attempt: int, lease: float) -> None:
        """Hold again a job whose hand-over did not happen."""

    async def record_process_group(self, pgid: int) -> None:
        """Record the process group of the action running now (killed on restart)."""

    async def release_claimed_jobs(self) -> None:
        """Complete every job still held: the config never completed them explicitly."""
