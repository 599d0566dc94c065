"""Rows to records and values to JSON text, for the store over every dialect.

Backends keep JSON as text (payloads, contexts, results), so every value round-trips
exactly as ``json`` writes it, whatever the database.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from .._jsondata import STORED_MAX_DEPTH, decode, encode, encode_compact_repr, sanitize
from ..errors import JSONDataError, StoreError
from ._records import (
    ErrorRecord,
    Job,
    MachineEvent,
    MachineSnapshot,
    MachineStateRecord,
    RealtimeEvent,
    TransitionRecord,
)


class Row(Protocol):
    """A database row whose columns are read by name (``sqlite3.Row``, a dict...)."""

    def __getitem__(self, key: str, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...


logger = logging.getLogger("statemachine_engine.store")


def dumps(value: Any) -> str:
    """Strict JSON text of ``value``; a value JSON cannot hold is a :class:`StoreError`.

    Too deep a nesting, NaN and infinities are refused (see :mod:`.._jsondata`).
    """
    try:
        return encode(value)
    except JSONDataError as exc:
        raise StoreError(str(exc)) from exc


def snapshot(
    state: str,
    context: Mapping[str, Any],
    timers: Sequence[tuple[str, float]],
    *,
    actions_done: bool,
) -> MachineSnapshot:
    """A machine's state, context and timers as a commit writes them, serialized now."""
    return MachineSnapshot(
        state,
        dumps_lenient(dict(context)),
        dumps_lenient([list(timer) for timer in timers]),  # the engine's own: names, times
        bool(actions_done),
    )


def dumps_lenient(value: Any) -> str:
    """JSON for contexts: values JSON cannot hold are kept as their text.

    NaN and infinities become null and nesting deeper than the store reads is cut, so
    that what is written can always be read back.
    """
    try:
        return encode_compact_repr(value)
    except (ValueError, RecursionError):
        return json.dumps(
            sanitize(value, max_depth=STORED_MAX_DEPTH),
            ensure_ascii=False,
            separators=(",", ":"),
            default=repr,
        )


def loads(text: str | None) -> Any:
    """A stored JSON value; a text that does not decode within the bounds stays text."""
    if text is None:
        return None
    try:
        return decode_stored(text)
    except JSONDataError:
        return text


def decode_stored(text: str) -> Any:
    """Decode a stored JSON text (:class:`JSONDataError` if it is outside the bounds)."""
    return decode(text, what="stored JSON", max_depth=STORED_MAX_DEPTH)


def loads_mapping(text: str | None, what: str) -> dict[str, Any]:
    """A stored JSON object, or {} (with a WARNING) if it cannot be read as one."""
    if text is None:
        return {}
    try:
        value = decode_stored(text)
    except JSONDataError as exc:
        logger.warning(
            "ignoring a stored %s that cannot be read: %s",
            what,
            exc,
            extra={"action": "stored_value_unreadable", "what": what},
        )
        return {}
    return value if isinstance(value, dict) else {}


def backoff_jitter() -> float:
    """The share of its ceiling a retry backoff waits: between a half and all of it.

    The ceiling doubles with each attempt from :data:`~._queue.RETRY_BACKOFF_SECONDS` up to
    :data:`~._queue.RETRY_BACKOFF_CAP_SECONDS` (``retry_backoff`` in ``schema/queries.sql``).
    """
    import random  # only on a failure: a machine that never fails never loads it

    return random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not crypto


_R = TypeVar(
    "_R", Job, MachineEvent, MachineStateRecord, TransitionRecord, RealtimeEvent, ErrorRecord
)


def record(cls: type[_R], row: Row, **converted: Any) -> _R:
    """A record from a row whose columns carry the record's field names."""
    values = {name: row[name] for name in cls._fields if name not in converted}
    return cls(**values, **converted)


def loads_payload(text: str | None) -> Any:
    """Stored data that came from outside (job data, results): within :data:`MAX_DEPTH`.

    A text outside the bounds stays text, so that reading it never fails.
    """
    if text is None:
        return None
    try:
        return decode(text, what="stored JSON")
    except JSONDataError:
        return text


def job_record(row: Row) -> Job:
    return record(Job, row, data=loads_payload(row["data"]), result=loads_payload(row["result"]))


def event_record(row: Row) -> MachineEvent:
    """An event; a payload that cannot be decoded is None and ``reason`` says why."""
    text = row["payload"]
    reason = row["reason"]
    try:
        payload = None if text is None else decode(text, what="payload")
    except JSONDataError as exc:
        payload, reason = text, reason or f"undecodable payload: {exc}"
        return record(MachineEvent, row, payload=payload, reason=reason, decodable=False)
    return record(MachineEvent, row, payload=payload, reason=reason, decodable=True)


def machine_record(row: Row) -> MachineStateRecord:
    """A machine's record from a ``load_machine``/``list_machines`` row: its heartbeat is
    the later of its own and its hosting process's (``process_heartbeat_at``)."""
    timers = loads(row["timers"])
    if not isinstance(timers, list):
        timers = []
    own = row["heartbeat_at"]
    hosting = row["process_heartbeat_at"]
    return record(
        MachineStateRecord,
        row,
        context=loads_mapping(row["context"], "context"),
        actions_done=bool(row["actions_done"]),
        timers=[(str(event), float(deadline)) for event, deadline in timers],
        heartbeat_at=own if hosting is None or hosting < own else hosting,
    )


def realtime_record(row: Row) -> RealtimeEvent:
    return record(RealtimeEvent, row, payload=loads(row["payload"]))
