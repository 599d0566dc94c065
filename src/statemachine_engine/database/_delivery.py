"""Sending an event to a machine: commit it to the target's inbox, then wake the target.

The store is the channel: an event is durable once :func:`deliver` returns, whether or
not the target is running, and it has no size limit. A running machine records in the
store where it is woken (its wake address: the control socket it listens on), so a
sender wakes it there with a datagram that only says "look at your inbox"
(``{"type": "__wake__", "target": ...}``), whatever socket directory or prefix the sender
itself uses; a machine in this process is woken by a call. A store that wakes machines
itself (PostgreSQL's ``NOTIFY``, on any host) needs no datagram: the target follows its
inbox (:func:`~statemachine_engine.messaging._delivery.follow_inbox`). If the target is
not running it finds the event when it starts.

A wake-up is only a hint. Should one be lost (a datagram dropped, a sender that died
between its commit and its wake-up), the process hosting the machine notices the event
within a second anyway (:mod:`..messaging._inbox_watch`).
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._jsondata import check
from ._names import this_host

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._records import EventOrigin
    from .store import OperatorStore, Store

#: A datagram of this type only says "events are waiting for you in the store" (a
#: machine's control socket, :mod:`..messaging._control`, reads it).
WAKE_EVENT = "__wake__"


#: Machines running in this process: woken by a call instead of a datagram.
_LOCAL: dict[str, Callable[[], None]] = {}


def register_local(machine_name: str, wake: Callable[[], None]) -> None:
    """Wake ``machine_name`` (hosted in this process) by calling ``wake``."""
    _LOCAL[machine_name] = wake


def unregister_local(machine_name: str) -> None:
    _LOCAL.pop(machine_name, None)


def is_local(machine_name: str) -> bool:
    return machine_name in _LOCAL


async def deliver(
    store: Store,
    target: str,
    event_type: str,
    payload: Any = None,
    *,
    due_at: float | None = None,
    **origin: Unpack[EventOrigin],
) -> int:
    """Commit ``event_type`` to ``target``'s inbox and wake it; returns the event's id.
    ``origin``: where it comes from (``source=``, ``job_id=``).

    ``due_at``: a delayed event's due time (epoch seconds). The wake-up goes out at once
    all the same: the target reads the event's due time and arms its timer for it.

    A payload outside the JSON bounds (too deep, NaN...) is refused with
    :class:`~statemachine_engine._jsondata.JSONDataError`.
    """
    check(payload, what=f"payload of event {event_type!r}")
    event_id = await store.send_event(target, event_type, payload, due_at=due_at, **origin)
    local = _LOCAL.get(target)
    if local is not None:  # a call is quickest
        local()
    elif not store.notifies_machines:
        address = await store.wake_address(target)
        if address is not None and address.host == this_host():
            wake_at(address.path, target)
    return event_id


def wake_at(path: str, target: str) -> bool:
    """Tell the machine ``target`` listening at ``path`` to read its inbox; False when
    nothing listens there."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.sendto(json.dumps({"type": WAKE_EVENT, "target": target}).encode(), path)
            return True
    return False


async def unseen_machine_warning(store: OperatorStore, target: str) -> str | None:
    """Why sending to ``target`` may be a mistake, or None: it has never run against
    ``store`` (a typo, or the wrong store). The event is kept all the same."""
    if await store.load_machine(target) is not None:
        return None
    if any(record.machine_name == target for record in await store.list_machines()):
        return None
    what = f"no machine named {target} has run against this store"
    return f"{what}; it gets the event when it starts"
