"""A durable machine's steps not committed yet, and what its observers are yet to hear.

Steps taken one after another commit together (group commit): while more events wait in
the machine's inbox, and the states it passes through run no action that reaches outside
the process, their writes wait here and go to the store as one transaction. A crash
before that commit loses nothing it would not otherwise lose: the events those steps
consumed are still waiting in the store, and the machine takes the same steps again when
it resumes (docs/durability.md). Observers hear of a step only after its commit, in the
order things happened, so nothing outside the process sees a step a crash could undo.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..database._records import MachineSnapshot, StepRecord
from ..database._rows import snapshot

if TYPE_CHECKING:
    from ..database.store import Store

_State = tuple[str, Mapping[str, Any], Sequence[tuple[str, float]], bool]

#: Steps committed together at most: a long backlog still commits every so often.
MAX_GROUP = 500


class StepLog:
    """The writes of one machine's steps since its last commit (``store``: where they go;
    None: the machine lives in memory and nothing waits)."""

    def __init__(self, machine_name: str, store: Callable[[], Store] | None) -> None:
        self._name = machine_name
        self._store = store
        self._snapshot: MachineSnapshot | None = None
        #: The state a commit would write now, not serialized yet: only the last of a
        #: group's steps is written, so only it need be (see :meth:`freeze`).
        self._latest: _State | None = None
        self._transitions: list[StepRecord] = []
        self._consumed: list[int] = []
        self._dropped: list[tuple[int, str]] = []
        self._notices: list[Callable[[], None]] = []
        #: Whether steps wait for their commit.
        self.pending = False

    @property
    def full(self) -> bool:
        return len(self._transitions) >= MAX_GROUP

    def transition(
        self,
        from_state: str | None,
        to_state: str,
        event: str,
        *,
        context: Mapping[str, Any],
        timers: Sequence[tuple[str, float]],
        consumed_event_id: int | None,
        actions_done: bool,
    ) -> None:
        """A transition: the new state, the context and timers as they are now, a history
        row, and the inbox event it consumed."""
        if self._store is None:
            return
        self._latest = (to_state, context, timers, actions_done)
        self.pending = True
        self._transitions.append(
            StepRecord(from_state, to_state, event, context.get("job_id"), time.time())
        )
        if consumed_event_id is not None:
            self._consumed.append(consumed_event_id)

    def actions_done(
        self, state: str, context: Mapping[str, Any], timers: Sequence[tuple[str, float]]
    ) -> None:
        """The entry actions of ``state`` have all run, leaving ``context``."""
        if self._store is None:
            return
        self._latest = (state, context, timers, True)
        self.pending = True

    def freeze(self) -> None:
        """Serialize the state a commit would write, as it is now: before anything but a
        step may change the context (an entry action starting)."""
        if self._latest is not None:
            state, context, timers, actions_done = self._latest
            self._snapshot = snapshot(state, context, timers, actions_done=actions_done)
            self._latest = None

    def consumed(self, event_id: int) -> None:
        """An inbox event handled without a transition (a terminal state's own)."""
        if self._store is not None:
            self._consumed.append(event_id)
            self.pending = True

    def dropped(self, event_id: int, reason: str) -> None:
        """An inbox event no transition takes."""
        if self._store is not None:
            self._dropped.append((event_id, reason))
            self.pending = True

    def tell(self, notice: Callable[[], None]) -> None:
        """Tell the observers something (``notice`` does): now, or once the steps that
        wait are committed."""
        if self.pending:
            self._notices.append(notice)
        else:
            notice()

    async def commit(self) -> None:
        """Commit the steps that wait, then tell the observers what waited for it."""
        if self.pending:
            assert self._store is not None
            self.freeze()
            state, self._snapshot = self._snapshot, None
            transitions, self._transitions = self._transitions, []
            consumed, self._consumed = self._consumed, []
            dropped, self._dropped = self._dropped, []
            await self._store().save_steps(
                self._name, state, transitions, consumed=consumed, dropped=dropped
            )
            # Only now: what observers are told while the commit awaits waits behind it.
            self.pending = False
        if self._notices:
            notices, self._notices = self._notices, []
            for notice in notices:
                notice()
