"""A durable machine's steps not committed yet, and what its observers are yet to hear.

Steps taken one after another commit together (group commit): while more events wait in
the machine's inbox, and the states it passes through run no action that reaches outside
the process, their writes wait here and go to the store as one transaction. Where the
store carries waiting steps (SQLite and PostgreSQL: one connection per store handle,
whose writes take turns), they also commit with the next write anyone in the process makes: an
action's claim, completion or sent event carries the steps that led to it, in its own
transaction, so a state whose actions only write to the store needs no commit of its
own first. Either way no effect outside the process precedes the steps behind it, and a
crash before their commit loses nothing it would not otherwise lose: the events those
steps consumed are still waiting in the store, and the machine takes the same steps
again when it resumes (docs/durability.md). Observers hear of a step only after its
commit, in the order things happened, so nothing outside the process sees a step a
crash could undo.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .. import _tracing
from ..database._records import MachineSnapshot, StepRecord, WaitingSteps
from ..database._rows import snapshot

if TYPE_CHECKING:
    from ..database.store import Store

logger = logging.getLogger("statemachine_engine.engine")

_State = tuple[str, Mapping[str, Any], Sequence[tuple[str, float]], bool]

#: Steps committed together at most: a long backlog still commits every so often.
MAX_GROUP = 500


class StepLog:
    """The writes of one machine's steps since its last commit (``store``: where they go;
    None: the machine lives in memory and nothing waits)."""

    __slots__ = (
        "_consumed",
        "_dropped",
        "_holds",
        "_in_flight",
        "_latest",
        "_name",
        "_notices",
        "_snapshot",
        "_store",
        "_transitions",
        "pending",
    )

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
        #: Steps taken out for a commit under way (:meth:`take_steps`).
        self._in_flight: WaitingSteps | None = None
        #: Places held for what is told once a write commits (:meth:`hold`).
        self._holds = 0
        #: Whether steps wait for their commit.
        self.pending = False

    @property
    def carried(self) -> bool:
        """Whether the store commits waiting steps with its next write, whoever makes it."""
        return self._store is not None and self._store().carries_steps

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
        self._wait()
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
        self._wait()

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
            self._wait()

    def dropped(self, event_id: int, reason: str) -> None:
        """An inbox event no transition takes."""
        if self._store is not None:
            self._dropped.append((event_id, reason))
            self._wait()

    def tell(self, notice: Callable[[], None]) -> None:
        """Tell the observers something (``notice`` does): now, or once the steps that
        wait are committed."""
        if self.pending or self._holds:
            self._notices.append(_tracing.deferred(notice))
        else:
            notice()

    def hold(self) -> None:
        """Hold back what the observers are told from now until :meth:`unhold`: the
        next notice tells what a write carried by the store learns when it commits (a
        completion's outcome), in its place."""
        self._holds += 1

    def unhold(self) -> None:
        self._holds -= 1
        self._tell_waiting()

    def _wait(self) -> None:
        if not self.pending:
            assert self._store is not None
            self.pending = True
            self._store().wait_to_commit(self)

    def take_steps(self) -> WaitingSteps | None:
        """The steps waiting, taken out to commit now (the store's ``StepSource``): steps
        taken meanwhile wait for a later commit."""
        if not self.pending or self._in_flight is not None:
            return None
        self.freeze()
        steps = self._in_flight = WaitingSteps(
            self._name, self._snapshot, self._transitions, self._consumed, self._dropped
        )
        self._snapshot = None
        self._transitions, self._consumed, self._dropped = [], [], []
        return steps

    def steps_committed(self) -> None:
        """What :meth:`take_steps` gave is committed: tell the observers what waited."""
        self._in_flight = None
        self.pending = self._has_steps()
        if self.pending:  # taken while the commit was under way: theirs comes later
            assert self._store is not None
            self._store().wait_to_commit(self)
        self._tell_waiting()

    def steps_failed(self) -> None:
        """What :meth:`take_steps` gave was not committed: it waits again."""
        steps, self._in_flight = self._in_flight, None
        if steps is None:
            return
        if self._snapshot is None and self._latest is None:
            self._snapshot = steps.snapshot
        self._transitions = [*steps.transitions, *self._transitions]
        self._consumed = [*steps.consumed, *self._consumed]
        self._dropped = [*steps.dropped, *self._dropped]

    def _has_steps(self) -> bool:
        return bool(
            self._latest is not None
            or self._snapshot is not None
            or self._transitions
            or self._consumed
            or self._dropped
        )

    async def commit(self) -> None:
        """Commit the steps that wait (with other machines' waiting steps, where the store
        carries them), then tell the observers what waited for it."""
        if self.pending:
            assert self._store is not None
            await self._store().commit_steps(self)
        self._tell_waiting()

    async def commit_soon(self) -> None:
        """Commit the steps that wait once the process has run what is ready (where the
        store carries them: with the next write in the process, if one comes first),
        else now."""
        if self.pending:
            assert self._store is not None
            if self._store().commit_steps_soon(self):
                return
        await self.commit()

    def _tell_waiting(self) -> None:
        # A notice may run inside another machine's write (one that carried these
        # steps): a failing observer must not fail that write.
        while self._notices and not self.pending and not self._holds:
            notices, self._notices = self._notices, []
            for notice in notices:
                try:
                    notice()
                except Exception:
                    logger.exception("[%s] an observer failed", self._name)
