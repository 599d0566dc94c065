"""How a running machine hears of the events committed to its inbox.

Senders (:mod:`..database._delivery`) wake a machine through its control socket on this
host, or by a call in this process; with a store that wakes machines itself
(PostgreSQL's ``NOTIFY``, on any host) the machine follows its inbox topic in the
store's listener instead (:func:`follow_inbox`). Either way the process's inbox watch
(:mod:`._inbox_watch`) catches what a lost wake-up would leave behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ..database._wakeup import machine_topic

if TYPE_CHECKING:
    from ..database.store import Store

#: How long a machine following a notifying store's inbox waits for one wake-up before
#: it waits again (the process's inbox watch sweeps for anything lost far sooner).
FOLLOW_INBOX_WAIT_SECONDS = 3600.0


class Following:
    """A machine following its inbox; :meth:`cancel` when it ends."""

    def __init__(self, *stops: Callable[[], object]) -> None:
        self._stops = stops

    def cancel(self) -> None:
        for stop in self._stops:
            stop()


async def follow_inbox(
    store: Store,
    machine_name: str,
    *,
    pull: Callable[[], Awaitable[None]],
    request_pull: Callable[[], None],
    seen: Callable[[], int],
    lost: Callable[[BaseException], None] | None = None,
) -> Following:
    """Have ``machine_name`` pull its inbox whenever an event is committed to it.

    Senders wake the machine through its control socket, or, with a store that wakes
    machines itself, through the store's listener: a task then waits on it (this
    returns once the store is listening, so that no event committed after it returns is
    missed). Either way the process's :class:`~._inbox_watch.InboxWatch` catches what a
    lost wake-up would leave behind: ``seen()`` is the newest event id the machine has
    read, ``request_pull()`` makes it look, ``lost(error)`` ends the machine when the
    watch finds its store deleted or replaced.
    """
    from ._inbox_watch import InboxWatch

    watch = InboxWatch.of(store)
    watch.add(machine_name, seen=seen, request_pull=request_pull, lost=lost)

    def unwatch() -> None:
        watch.remove(machine_name)

    if not store.notifies_machines:
        return Following(unwatch)
    listener = await store.listener()
    topic = machine_topic(machine_name)
    mark = listener.mark(topic)

    async def follow() -> None:
        nonlocal mark
        while True:
            await listener.wait(topic, mark, FOLLOW_INBOX_WAIT_SECONDS)
            mark = listener.mark(topic)
            await pull()

    task = asyncio.create_task(follow(), name=f"{machine_name}:inbox")
    return Following(task.cancel, unwatch)
