"""Records the store returns, and the public facades over it (``JobModel`` and friends)."""

from .job import Job, JobModel, JobStatus
from .machine_event import EventStatus, MachineEvent, MachineEventModel
from .machine_state import ErrorRecord, MachineStateModel, MachineStateRecord, TransitionRecord
from .realtime_event import RealtimeEvent, RealtimeEventModel

__all__ = [
    "ErrorRecord",
    "EventStatus",
    "Job",
    "JobModel",
    "JobStatus",
    "MachineEvent",
    "MachineEventModel",
    "MachineStateModel",
    "MachineStateRecord",
    "RealtimeEvent",
    "RealtimeEventModel",
    "TransitionRecord",
]
