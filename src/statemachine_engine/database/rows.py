"""Rows to records and values to JSON text: what every backend's store shares.

Backends keep JSON as text (payloads, contexts, results), so every value round-trips
exactly as ``json`` writes it, whatever the database.
"""

from __future__ import annotations

import json
from typing import Any, Protocol, TypeVar

from .models.job import Job
from .models.machine_event import MachineEvent
from .models.machine_state import MachineStateRecord, TransitionRecord
from .models.realtime_event import RealtimeEvent
from .store import RETRY_BACKOFF_CAP_SECONDS, RETRY_BACKOFF_SECONDS, StoreError


class Row(Protocol):
    """A database row whose columns are read by name (``sqlite3.Row``, a dict...)."""

    def __getitem__(self, key: str, /) -> Any: ...


def dumps(value: Any) -> str:
    """JSON text of ``value``; a value JSON cannot hold is a :class:`StoreError`."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise StoreError(f"value is not JSON-serialisable: {exc}") from exc


def dumps_lenient(value: Any) -> str:
    """JSON for contexts: values JSON cannot hold are kept as their text."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=repr)


def loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def retry_backoff(attempts: int) -> float:
    """Seconds before a job that failed its ``attempts``-th try may run again."""
    return retry_backoff_ceiling(attempts) * backoff_jitter()


def retry_backoff_ceiling(attempts: int) -> float:
    """The longest wait after the ``attempts``-th failure (doubling, capped)."""
    return float(min(RETRY_BACKOFF_CAP_SECONDS, RETRY_BACKOFF_SECONDS * 2 ** max(0, attempts - 1)))


def backoff_jitter() -> float:
    """The share of the ceiling a backoff waits: between a half and all of it."""
    import random  # only on a failure: a machine that never fails never loads it

    return random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not crypto


_R = TypeVar("_R", Job, MachineEvent, MachineStateRecord, TransitionRecord, RealtimeEvent)


def record(cls: type[_R], row: Row, **converted: Any) -> _R:
    """A record from a row whose columns carry the record's field names."""
    values = {name: row[name] for name in cls._fields if name not in converted}
    return cls(**values, **converted)


def job_record(row: Row) -> Job:
    return record(Job, row, data=loads(row["data"]), result=loads(row["result"]))


def event_record(row: Row) -> MachineEvent:
    return record(MachineEvent, row, payload=loads(row["payload"]))


def machine_record(row: Row) -> MachineStateRecord:
    timers = loads(row["timers"]) or []
    return record(
        MachineStateRecord,
        row,
        context=loads(row["context"]) or {},
        actions_done=bool(row["actions_done"]),
        timers=[(str(event), float(deadline)) for event, deadline in timers],
    )


def realtime_record(row: Row) -> RealtimeEvent:
    return record(RealtimeEvent, row, payload=loads(row["payload"]))
