"""Inboxes, machine state and the realtime log as machines use them, over any dialect's
connector."""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .._jsondata import JSONText
from .._tracing import valid_traceparent
from ..config._timeouts import within_reach
from ..errors import EventNotCancelled, EventNotFound, StoreError
from ._connector import Result, first
from ._records import (
    EventStatus,
    MachineEvent,
    MachineSnapshot,
    MachineStateRecord,
    StepRecord,
    WaitingSteps,
    WakeAddress,
)
from ._registration import RegistrationOperations
from ._rows import Row, dumps, dumps_lenient, event_record, machine_record, snapshot

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._records import EventOrigin


class StepSource(Protocol):
    """A machine's steps that wait for their commit (``core/_step_log.StepLog``)."""

    def take_steps(self) -> WaitingSteps | None:
        """The steps to commit now, as they are (None: none wait)."""

    def steps_committed(self) -> None:
        """The steps :meth:`take_steps` gave are committed."""

    def steps_failed(self) -> None:
        """The steps :meth:`take_steps` gave were not committed: they wait again."""


class _CarriedSteps:
    """A machine's waiting steps as a write its store's connector carries."""

    __slots__ = ("_source",)

    def __init__(self, source: StepSource) -> None:
        self._source = source

    def take(self) -> tuple[str, dict[str, Any]] | None:
        steps = self._source.take_steps()
        return None if steps is None else ("save_steps", _steps_params(steps))

    def committed(self, result: Result | None = None) -> None:
        self._source.steps_committed()

    def failed(self) -> None:
        self._source.steps_failed()


def _steps_params(steps: WaitingSteps) -> dict[str, Any]:
    """``save_steps``' parameters."""
    state = steps.snapshot
    return {
        "machine_name": steps.machine_name,
        "state": None if state is None else state.state,
        "context": None if state is None else state.context,
        "timers": None if state is None else state.timers,
        "actions_done": state is not None and state.actions_done,
        **_history(steps.transitions),
        "consumed": [int(event_id) for event_id in steps.consumed] if steps.consumed else None,
        "dropped": (
            [[str(int(event_id)), reason] for event_id, reason in steps.dropped]
            if steps.dropped
            else None
        ),
        "now": time.time(),
    }


class MachineOperations(RegistrationOperations):
    """Send and consume events, register and record machines, record realtime events."""

    # -- inboxes ------------------------------------------------------------------------

    async def send_event(
        self,
        target: str,
        event_type: str,
        payload: Any = None,
        *,
        due_at: float | None = None,
        **origin: Unpack[EventOrigin],
    ) -> int:
        """Commit an event to ``target``'s inbox; returns its id.

        ``due_at``: a delayed event's due time (epoch seconds): the machine does not read
        it before then (None, or a time past: at once).

        Raises:
            StoreError: ``due_at`` is no finite time, or is further ahead than
                :data:`~statemachine_engine.config._timeouts.MAX_DELAY_SECONDS`.
        """
        now = time.time()
        if due_at is not None:
            due_at = _due_at(float(due_at), now)
        row = first(
            await self._run(
                "insert_event",
                {
                    "target": target,
                    "source": origin.get("source"),
                    "event_type": event_type,
                    "payload": dumps({} if payload is None else payload),
                    "job_id": origin.get("job_id"),
                    "due_at": due_at,
                    "traceparent": valid_traceparent(origin.get("traceparent")),
                    "now": now,
                },
            )
        )
        assert row is not None
        return int(row["id"])

    async def due_events(
        self, target: str, *, now: float, after_id: int = 0, limit: int = 1000
    ) -> list[MachineEvent]:
        """``target``'s delayed events due at ``now`` and not consumed yet, after
        ``after_id``, in the order they were sent."""
        rows = await self._rows(
            "due_events", target=target, now=now, after_id=after_id, limit=limit
        )
        return [event_record(row) for row in rows]

    async def next_due_at(self, target: str, *, now: float) -> float | None:
        """When ``target``'s next delayed event falls due after ``now`` (None: none waits)."""
        row = first(await self._run("next_due_at", {"target": target, "now": now}))
        return None if row is None or row["at"] is None else float(row["at"])

    async def pending_events(
        self, target: str, *, after_id: int = 0, limit: int = 1000
    ) -> list[MachineEvent]:
        rows = await self._rows("pending_events", target=target, after_id=after_id, limit=limit)
        return [event_record(row) for row in rows]

    async def inbox_heads(self, after_id: int) -> list[tuple[str, int]]:
        """``(target, newest id)`` of every inbox that received events after ``after_id``."""
        rows = await self._rows("inbox_heads", after_id=after_id)
        return [(row["target_machine"], int(row["head"])) for row in rows]

    async def pending_heads(self) -> list[tuple[str, int]]:
        """``(target, newest id)`` of every inbox holding events not consumed yet."""
        rows = await self._rows("pending_heads")
        return [(row["target_machine"], int(row["head"])) for row in rows]

    async def last_event_id(self) -> int:
        """The id of the newest event in any inbox (0 when there is none)."""
        row = first(await self._run("last_event_id", {}))
        assert row is not None
        return int(row["id"])

    async def cancel_event(self, event_id: int) -> MachineEvent:
        """Cancel a delayed event that is not due yet: it is marked ``dropped`` (reason
        ``cancelled``) and never delivered; returns it as it was.

        Raises:
            EventNotFound: no event has that id.
            EventNotCancelled: it is handled already, not delayed, or due (its machine
                may have read it).
        """
        found = first(await self._run("get_event", {"id": int(event_id)}))
        if found is None:
            raise EventNotFound(f"no event has id {event_id}: see statemachine-db list-events")
        event = event_record(found)
        params = {"id": int(event_id), "now": time.time(), "reason": "cancelled"}
        if first(await self._run("cancel_event", params)) is not None:
            return event
        why = "it fell due already (its machine may have read it)"
        if event.status != EventStatus.PENDING:  # (or handled between the two queries)
            why = f"it is {event.status} already"
        elif event.due_at is None:
            why = "it is not a delayed event (its machine may have read it already)"
        raise EventNotCancelled(f"event {event_id} cannot be cancelled: {why}")

    async def mark_events(
        self, ids: Sequence[int], status: str, *, reason: str | None = None
    ) -> int:
        """Mark pending events ``status`` (``reason``: why they were dropped)."""
        if status not in EventStatus.ALL:
            raise StoreError(f"unknown event status {status!r}")
        if not ids:
            return 0
        return (
            await self._run(
                "mark_events",
                {
                    "ids": [int(i) for i in ids],
                    "status": status,
                    "now": time.time(),
                    "reason": reason,
                },
            )
        ).rowcount

    # -- machine state ------------------------------------------------------------------

    async def wake_address(self, machine_name: str) -> WakeAddress | None:
        """Where the running machine ``machine_name`` is woken (None: not running, or
        woken otherwise)."""
        row = first(await self._run("wake_address", {"machine_name": machine_name}))
        if row is None or not row["wake_address"]:
            return None
        return WakeAddress(row["wake_address"], row["host"] or socket.gethostname())

    async def save_transition(
        self,
        machine_name: str,
        *,
        from_state: str | None,
        to_state: str,
        event: str,
        context: Mapping[str, Any],
        timers: Sequence[tuple[str, float]],
        consumed_event_id: int | None = None,
        job_id: str | None = None,
        actions_done: bool = False,
    ) -> None:
        """Commit a transition: state, context, timers, history and the consumed event.

        ``actions_done`` records at once that the new state has no entry actions to run.
        """
        await self.save_steps(
            machine_name,
            snapshot(to_state, context, timers, actions_done=actions_done),
            [StepRecord(from_state, to_state, event, job_id, time.time())],
            consumed=() if consumed_event_id is None else (consumed_event_id,),
        )

    async def save_steps(
        self,
        machine_name: str,
        snapshot: MachineSnapshot | None,
        transitions: Sequence[StepRecord],
        *,
        consumed: Sequence[int] = (),
        dropped: Sequence[tuple[int, str]] = (),
    ) -> None:
        """Commit several steps of a machine in one transaction (group commit): its state
        after the last (``snapshot``; None when no step changed it), the transitions in
        order, and the inbox events they consumed or dropped (with why)."""
        steps = WaitingSteps(machine_name, snapshot, transitions, consumed, dropped)
        await self._run("save_steps", _steps_params(steps))

    @property
    def carries_steps(self) -> bool:
        """Whether steps waiting for their commit (:meth:`wait_to_commit`) commit with
        the next write of this store handle, whoever makes it (SQLite, PostgreSQL: one
        connection per handle, its writes take turns)."""
        return hasattr(self.connector, "carry")

    def wait_to_commit(self, source: StepSource) -> None:
        """``source`` has steps waiting: where the store carries steps, they commit with
        the handle's next write, before it, whoever makes it (else only in
        :meth:`commit_steps`)."""
        carry = getattr(self.connector, "carry", None)
        if carry is not None:
            carry(source, _CarriedSteps(source))

    def commit_steps_soon(self, source: StepSource) -> bool:
        """Where the store carries steps: commit ``source``'s (waiting since
        :meth:`wait_to_commit`) once the process has run what is ready, with the next
        write if one comes first (True); else False, and the caller commits them."""
        flush_soon = getattr(self.connector, "flush_soon", None)
        if flush_soon is None:
            return False
        flush_soon()
        return True

    async def commit_steps(self, source: StepSource) -> None:
        """Commit ``source``'s waiting steps now (with every other machine's that wait to
        be carried, in the same transaction)."""
        flush = getattr(self.connector, "flush", None)
        if flush is not None:  # waiting to be carried since wait_to_commit
            await flush(source)
            return
        steps = source.take_steps()
        if steps is None:
            return
        try:
            await self._run("save_steps", _steps_params(steps))
        except BaseException:
            source.steps_failed()
            raise
        source.steps_committed()

    async def mark_actions_done(self, machine_name: str, context: Mapping[str, Any]) -> None:
        """The current state's entry actions have all run (a restart need not redo them)."""
        await self._run(
            "actions_done",
            {
                "machine_name": machine_name,
                "context": dumps_lenient(dict(context)),
                "now": time.time(),
            },
        )

    async def record_action_group(self, machine_name: str, group: Mapping[str, Any]) -> None:
        """Record in the machine's context (key ``_engine_action_group``) the process
        group of the action it runs now: ``{"pgid": ..., "host": ...}``."""
        await self._run(
            "record_action_group", {"machine_name": machine_name, "group": dumps(group)}
        )

    async def heartbeat(self, machine_name: str) -> None:
        self.connector.check_identity()
        await self._run("heartbeat", {"machine_name": machine_name, "now": time.time()})

    async def heartbeat_process(self, pid: int, host: str) -> None:
        """Record that every running machine process ``pid`` on ``host`` hosts is alive
        (one row, however many machines it hosts)."""
        self.connector.check_identity()
        await self._run("heartbeat_process", {"pid": pid, "host": host, "now": time.time()})

    async def forget_process_heartbeat(self, pid: int, host: str) -> None:
        """Drop the heartbeat row of process ``pid`` on ``host`` (it ends)."""
        await self._run("forget_process_heartbeat", {"pid": pid, "host": host})

    async def finish_machine(self, machine_name: str, status: str) -> None:
        await self._run(
            "finish_machine", {"machine_name": machine_name, "status": status, "now": time.time()}
        )

    async def load_machine(self, machine_name: str) -> MachineStateRecord | None:
        row = first(await self._run("load_machine", {"machine_name": machine_name}))
        return machine_record(row) if row is not None and row["current_state"] else None

    # -- realtime events ----------------------------------------------------------------

    async def record_realtime(self, machine_name: str, event_type: str, payload: Any) -> int:
        rows = await self._insert_realtime([(machine_name, event_type, payload)])
        return int(rows[0]["id"])

    async def record_realtime_batch(
        self, machine_name: str, events: Sequence[tuple[str, Any]]
    ) -> None:
        """Record several ``(event_type, payload)`` of one machine in one transaction."""
        await self.record_realtime_events([(machine_name, *event) for event in events])

    async def record_realtime_events(self, events: Sequence[tuple[str, str, Any]]) -> None:
        """Record ``(machine_name, event_type, payload)`` of any machines, in this order,
        in one transaction (a process hosting many machines records theirs together). A
        payload may come encoded already, as :class:`~.._jsondata.JSONText`."""
        if not events:
            return
        run_rows = getattr(self.connector, "run_rows", None)
        if run_rows is None:
            await self._insert_realtime(events)
            return
        now = time.time()
        await run_rows(
            "insert_realtime_row",
            [
                {
                    "machine_name": machine_name,
                    "event_type": event_type,
                    "payload": _payload_text(payload),
                    "now": now,
                }
                for machine_name, event_type, payload in events
            ],
        )

    async def prune_realtime_events(
        self, *, older_than: float | None, keep: int | None, limit: int
    ) -> int:
        """Delete up to ``limit`` of the oldest recorded realtime events that are more
        than ``older_than`` seconds old or beyond the newest ``keep`` (None: no such
        bound); the newest event always stays. Returns how many were deleted."""
        if older_than is None and keep is None:
            return 0
        cutoff = None if older_than is None else time.time() - older_than
        params = {"cutoff": cutoff, "keep": keep, "limit": limit}
        return (await self._run("prune_realtime", params)).rowcount

    async def _insert_realtime(self, events: Sequence[tuple[str, str, Any]]) -> Sequence[Row]:
        return (
            await self._run(
                "insert_realtime",
                {
                    "events": [
                        [machine_name, event_type, _payload_text(payload)]
                        for machine_name, event_type, payload in events
                    ],
                    "now": time.time(),
                },
            )
        ).rows


def _payload_text(payload: Any) -> str:
    """A realtime event's payload as recorded: JSON text (given as such, or encoded)."""
    if isinstance(payload, JSONText):
        return payload
    return dumps_lenient({} if payload is None else payload)


def _history(transitions: Sequence[StepRecord]) -> dict[str, Any]:
    """The history rows of ``save_steps``: one as columns (the common case: a step that
    commits alone), several as one list."""
    if len(transitions) == 1:
        [step] = transitions
        return {**step._asdict(), "transitions": None}
    return {
        "from_state": None,
        "to_state": None,
        "event": None,
        "job_id": None,
        "at": None,
        "transitions": [
            [step.from_state, step.to_state, step.event, step.job_id, repr(step.at)]
            for step in transitions
        ]
        or None,
    }


def _due_at(due_at: float, now: float) -> float:
    """A delayed event's due time, if a finite one within reach of ``now``."""
    if not math.isfinite(due_at):
        raise StoreError(f"due_at must be a time (epoch seconds), not {due_at}")
    try:
        within_reach(due_at - now)
    except ValueError as exc:
        raise StoreError(f"due_at {exc}") from None
    return due_at
