"""Realtime events as clients see them, whether they came as a datagram or from the store.

An event object is ``{"id", "machine_name", "type", "payload", "timestamp", "seq"}``:
``id`` is the store's row id (None for a live datagram), ``seq`` the machine's sequence
number (None when replayed). Datagrams are untrusted input: anything that is not a
JSON object naming a machine and a type is ignored.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .._jsondata import STORED_MAX_DEPTH, decode
from ..errors import JSONDataError

if TYPE_CHECKING:
    from ..database.models.realtime_event import RealtimeEvent

#: Longer machine names or event types are not events a machine sends.
MAX_NAME_LENGTH = 256

Event = dict[str, Any]


def from_datagram(data: bytes, *, now: float | None = None) -> Event | None:
    """The event a machine sent, or None when the datagram is not one."""
    try:
        message = decode(data, what="realtime event", max_depth=STORED_MAX_DEPTH)
    except JSONDataError:
        return None
    if not isinstance(message, dict):
        return None
    machine = message.get("machine_name")
    kind = message.get("type")
    if not _is_name(machine) or not _is_name(kind):
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict):
        payload = {}
    seq = message.get("seq")
    return {
        "id": None,
        "machine_name": machine,
        "type": kind,
        "payload": payload,
        "timestamp": _timestamp(payload, time.time() if now is None else now),
        "seq": seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
    }


def from_record(record: RealtimeEvent) -> Event:
    """A recorded event (replayed at start-up)."""
    payload = record.payload if isinstance(record.payload, dict) else {}
    return {
        "id": record.id,
        "machine_name": record.machine_name,
        "type": record.event_type,
        "payload": payload,
        "timestamp": _timestamp(payload, record.created_at),
        "seq": None,
    }


def identity(event: Event) -> tuple[str, str, float]:
    """What one event is recognised by, whether it arrived live or from the store."""
    return (event["machine_name"], event["type"], event["timestamp"])


def _is_name(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_NAME_LENGTH


def _timestamp(payload: dict[str, Any], default: float) -> float:
    stamp = payload.get("timestamp")
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        return float(stamp)
    return float(default)
