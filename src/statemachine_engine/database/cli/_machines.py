"""``statemachine-db`` commands about machines: ``machine-state``, ``set-state``,
``transition-history``, ``error-history``."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, NamedTuple

from ..._cli_output import duration, print_json, print_listing, when
from ..._cli_support import EXIT_OK
from ...errors import StateMachineError
from .._names import NAME_LEASE_SECONDS, is_local
from .._waits import Wait, describe, machine_waits
from ..models.machine_state import ERROR_TRANSITION, MachineStateRecord, liveness

if TYPE_CHECKING:
    from ..store import OperatorStore

#: The event a ``set-state`` move is recorded with in the transition history.
SET_STATE_EVENT = "set-state"


async def machine_state(store: OperatorStore, args: argparse.Namespace) -> int:
    """``machine-state``: every machine's state, status, pid and heartbeat age."""
    now = time.time()
    records = await store.list_machines()
    waits = machine_waits(records, await store.delayed_events(limit=None))
    machines = [
        _Seen(
            record,
            liveness(record, now=now),
            max(0.0, now - record.heartbeat_at),
            waits.get(record.machine_name, []),
        )
        for record in records
    ]
    print_listing(
        args.format,
        machines,
        document=lambda seen: {
            "machine_name": seen.record.machine_name,
            "current_state": seen.record.current_state or None,
            "status": seen.status,
            "recorded_status": seen.record.status,
            "pid": seen.record.pid,
            "host": seen.record.host,
            "config_name": seen.record.config_name,
            "config_path": seen.record.config_path,
            "config_hash": seen.record.config_hash,
            "heartbeat_at": seen.record.heartbeat_at,
            "heartbeat_age": round(seen.age, 3),
            "started_at": seen.record.started_at,
            "updated_at": seen.record.updated_at,
            "last_activity": when(seen.record.updated_at),
            "waiting_for": [wait.as_dict() for wait in seen.waits],
        },
        headers=[
            *("MACHINE", "STATE", "STATUS", "PID", "HOST", "HEARTBEAT AGE", "LAST CHANGE"),
            "WAITING FOR",
        ],
        row=lambda seen: [
            seen.record.machine_name,
            seen.record.current_state or "-",
            seen.status,
            str(seen.record.pid) if seen.record.pid else "-",
            seen.record.host or "-",
            duration(seen.age),
            when(seen.record.updated_at),
            _next_wait(seen.waits),
        ],
        empty="no machines found",
        right={3, 5},
    )
    return EXIT_OK


class _Seen(NamedTuple):
    """A machine as ``machine-state`` sees it now."""

    record: MachineStateRecord
    status: str
    age: float
    waits: list[Wait]


def _next_wait(waits: list[Wait]) -> str:
    """The soonest of a machine's waits, and how many more (``-``: none)."""
    if not waits:
        return "-"
    more = f" (+{len(waits) - 1})" if len(waits) > 1 else ""
    return f"{describe(waits[0])} at {when(waits[0].due_at)}{more}"


async def set_state(store: OperatorStore, args: argparse.Namespace) -> int:
    """``set-state``: move a machine that is not running to another state."""
    record = await store.load_machine(args.machine)
    if record is None or not record.current_state:
        raise StateMachineError(
            f"no machine named {args.machine!r} has run against this store "
            "(statemachine-db machine-state lists them)"
        )
    _refuse_while_held(record)
    _check_state_of_config(record.config_path, args.machine, args.state)
    context = dict(record.context)
    context.update(
        current_state=args.state,
        previous_state=record.current_state,
        last_event=SET_STATE_EVENT,
    )
    await store.save_transition(
        args.machine,
        from_state=record.current_state,
        to_state=args.state,
        event=SET_STATE_EVENT,
        context=context,
        timers=[],
        actions_done=False,
    )
    # Recorded as stopped, so that its next start resumes there (even after a finish).
    await store.finish_machine(args.machine, "stopped")
    if args.format == "json":
        print_json(
            {
                "machine_name": args.machine,
                "from_state": record.current_state,
                "to_state": args.state,
            }
        )
    else:
        print(
            f"machine {args.machine!r} moved from {record.current_state!r} to {args.state!r}; "
            "it resumes there when it next starts"
        )
    return EXIT_OK


def _refuse_while_held(record: MachineStateRecord) -> None:
    """Refuse to move a machine that runs, or may: one silent a while but not for as long
    as it would lose its name (a stalled process, another host cut off)."""
    status = liveness(record)
    silent = time.time() - record.heartbeat_at
    if status == "running":
        raise StateMachineError(
            f"machine {record.machine_name!r} is running (pid {record.pid} on {record.host}, "
            "heartbeat alive): stop it first, then set its state"
        )
    if silent <= NAME_LEASE_SECONDS and (status == "stale" or not is_local(record.host)):
        raise StateMachineError(
            f"machine {record.machine_name!r} may still be running (pid {record.pid} on "
            f"{record.host}, last heartbeat {silent:.0f}s ago): stop it first, or wait "
            f"until it has been silent for {NAME_LEASE_SECONDS:.0f} s"
        )


def _check_state_of_config(path: str | None, machine: str, state: str) -> None:
    """Refuse a state the machine's recorded config does not have (when it is readable)."""
    from ...config.loader import load_config
    from ...errors import ConfigError

    if not path:
        print(f"note: {machine!r} has no recorded config; {state!r} not checked", file=sys.stderr)
        return
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"note: cannot read {path} ({exc.message}); {state!r} not checked", file=sys.stderr)
        return
    if state not in config.states:
        raise StateMachineError(
            f"{path} has no state {state!r}; its states: {', '.join(config.states)}"
        )


def _since(hours: float | None) -> float | None:
    return None if hours is None else time.time() - hours * 3600


async def transition_history(store: OperatorStore, args: argparse.Namespace) -> int:
    """``transition-history``: recent transitions, newest first."""
    records = await store.transition_history(
        args.machine, since=_since(args.hours), limit=args.limit
    )
    print_listing(
        args.format,
        records,
        document=lambda record: {
            **record.as_dict(),
            "machine": record.machine_name,
            "timestamp": when(record.at),
        },
        headers=["TIME", "MACHINE", "FROM", "TO", "EVENT", "JOB ID"],
        row=lambda record: [
            when(record.at),
            record.machine_name,
            record.from_state or "-",
            record.to_state,
            record.event,
            record.job_id or "-",
        ],
        empty="no transitions found",
    )
    return EXIT_OK


async def error_history(store: OperatorStore, args: argparse.Namespace) -> int:
    """``error-history``: recent error transitions and dead jobs, newest first."""
    records = await store.error_history(args.machine, since=_since(args.hours), limit=args.limit)
    print_listing(
        args.format,
        records,
        document=lambda record: {**record.as_dict(), "timestamp": when(record.at)},
        headers=["TIME", "MACHINE", "KIND", "JOB ID", "WHAT"],
        row=lambda record: [
            when(record.at),
            record.machine or "-",
            record.kind,
            record.job_id or "-",
            (
                f"{record.from_state or '-'} --{record.event}--> {record.to_state}"
                if record.kind == ERROR_TRANSITION
                else record.error or "-"
            ),
        ],
        empty="no errors found",
    )
    return EXIT_OK
