"""Sending an event to a machine: commit it to the target's inbox, then wake the target.

The store is the channel: an event is durable once :func:`deliver` returns, whether or
not the target is running, and it has no size limit. With SQLite the sender then wakes
the target with a datagram to its control socket that only says "look at your inbox"
(``{"type": "__wake__"}``). A store that wakes machines itself (PostgreSQL's ``NOTIFY``,
on any host) needs no datagram: the target follows its inbox (:func:`follow_inbox`). If
the target is not running it finds the event when it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..errors import StateMachineError
from ..settings import control_socket_path
from .control import WAKE_EVENT
from .wakeup import machine_topic

if TYPE_CHECKING:
    from ..database.store import Store

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
    source: str | None = None,
    job_id: str | None = None,
    control_socket_prefix: str | None = None,
) -> int:
    """Commit ``event_type`` to ``target``'s inbox and wake it; returns the event's id."""
    event_id = await store.send_event(target, event_type, payload, source=source, job_id=job_id)
    if not store.notifies_machines or is_local(target):  # (a local call is quickest)
        wake_machine(target, control_socket_prefix)
    return event_id


#: A machine following its inbox looks at it at least this often, even if a wake-up
#: was lost (it never is, short of a bug: this bounds the cost of one).
FOLLOW_INBOX_SAFETY_SECONDS = 60.0


async def follow_inbox(
    store: Store, machine_name: str, pull: Callable[[], Awaitable[None]]
) -> asyncio.Task[None] | None:
    """Call ``pull`` whenever an event is committed to ``machine_name``'s inbox.

    Only for stores that wake machines themselves (None otherwise: the control socket
    does it). Returns once the store is listening, so that an event committed after
    this returns is never missed; cancel the task to stop following.
    """
    if not store.notifies_machines:
        return None
    listener = await store.listener()
    topic = machine_topic(machine_name)
    mark = listener.mark(topic)

    async def follow() -> None:
        nonlocal mark
        while True:
            await listener.wait(topic, mark, FOLLOW_INBOX_SAFETY_SECONDS)
            mark = listener.mark(topic)
            await pull()

    return asyncio.create_task(follow(), name=f"{machine_name}:inbox")


def wake_machine(target: str, control_socket_prefix: str | None = None) -> bool:
    """Tell a running machine to read its inbox; False when it is not listening."""
    local = _LOCAL.get(target)
    if local is not None:
        local()
        return True
    try:
        path = control_socket_path(target, control_socket_prefix)
    except StateMachineError:  # no usable socket directory: nobody to wake
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.sendto(json.dumps({"type": WAKE_EVENT, "target": target}).encode(), str(path))
            return True
    return False


async def unseen_machine_warning(store: Store, target: str) -> str | None:
    """Why sending to ``target`` may be a mistake, or None: it has never run against
    ``store`` (a typo, or the wrong store). The event is kept all the same."""
    if await store.load_machine(target) is not None:
        return None
    if any(record.machine_name == target for record in await store.list_machines()):
        return None
    what = f"no machine named {target} has run against this store"
    return f"{what}; it gets the event when it starts"
