"""``statemachine-db`` commands about machines: ``machine-state``, ``set-state``,
``transition-history``, ``error-history``."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from ...cli_output import duration, print_json, table, when
from ...cli_support import EXIT_OK
from ...errors import StateMachineError
from ..models.machine_state import ERROR_TRANSITION, liveness

if TYPE_CHECKING:
    from ..store import Store

#: The event a ``set-state`` move is recorded with in the transition history.
SET_STATE_EVENT = "set-state"


async def machine_state(store: Store, args: argparse.Namespace) -> int:
    """``machine-state``: every machine's state, status, pid and heartbeat age."""
    now = time.time()
    machines = [
        (record, liveness(record, now=now), max(0.0, now - record.heartbeat_at))
        for record in await store.list_machines()
    ]
    if args.format == "json":
        print_json(
            [
                {
                    "machine_name": record.machine_name,
                    "current_state": record.current_state or None,
                    "status": status,
                    "recorded_status": record.status,
                    "pid": record.pid,
                    "host": record.host,
                    "config_name": record.config_name,
                    "config_path": record.config_path,
                    "config_hash": record.config_hash,
                    "heartbeat_at": record.heartbeat_at,
                    "heartbeat_age": round(age, 3),
                    "started_at": record.started_at,
                    "updated_at": record.updated_at,
                    "last_activity": when(record.updated_at),
                }
                for record, status, age in machines
            ]
        )
        return EXIT_OK
    if not machines:
        print("no machines found")
        return EXIT_OK
    rows = [
        [
            record.machine_name,
            record.current_state or "-",
            status,
            str(record.pid) if record.pid else "-",
            record.host or "-",
            duration(age),
            when(record.updated_at),
        ]
        for record, status, age in machines
    ]
    headers = ["MACHINE", "STATE", "STATUS", "PID", "HOST", "HEARTBEAT AGE", "LAST CHANGE"]
    print(table(headers, rows, right={3, 5}))
    return EXIT_OK


async def set_state(store: Store, args: argparse.Namespace) -> int:
    """``set-state``: move a machine that is not running to another state."""
    record = await store.load_machine(args.machine)
    if record is None or not record.current_state:
        raise StateMachineError(
            f"no machine named {args.machine!r} has run against this store "
            "(statemachine-db machine-state lists them)"
        )
    if liveness(record) == "running":
        raise StateMachineError(
            f"machine {args.machine!r} is running (pid {record.pid} on {record.host}, "
            "heartbeat alive): stop it first, then set its state"
        )
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


def _check_state_of_config(path: str | None, machine: str, state: str) -> None:
    """Refuse a state the machine's recorded config does not have (when it is readable)."""
    from ...core.loader import load_config
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


async def transition_history(store: Store, args: argparse.Namespace) -> int:
    """``transition-history``: recent transitions, newest first."""
    records = await store.transition_history(
        args.machine, since=_since(args.hours), limit=args.limit
    )
    if args.format == "json":
        print_json(
            [
                {**record.as_dict(), "machine": record.machine_name, "timestamp": when(record.at)}
                for record in records
            ]
        )
        return EXIT_OK
    if not records:
        print("no transitions found")
        return EXIT_OK
    rows = [
        [
            when(record.at),
            record.machine_name,
            record.from_state or "-",
            record.to_state,
            record.event,
            record.job_id or "-",
        ]
        for record in records
    ]
    print(table(["TIME", "MACHINE", "FROM", "TO", "EVENT", "JOB ID"], rows))
    return EXIT_OK


async def error_history(store: Store, args: argparse.Namespace) -> int:
    """``error-history``: recent error transitions and dead jobs, newest first."""
    records = await store.error_history(args.machine, since=_since(args.hours), limit=args.limit)
    if args.format == "json":
        print_json([{**record.as_dict(), "timestamp": when(record.at)} for record in records])
        return EXIT_OK
    if not records:
        print("no errors found")
        return EXIT_OK
    rows = [
        [
            when(record.at),
            record.machine or "-",
            record.kind,
            record.job_id or "-",
            (
                f"{record.from_state or '-'} --{record.event}--> {record.to_state}"
                if record.kind == ERROR_TRANSITION
                else record.error or "-"
            ),
        ]
        for record in records
    ]
    print(table(["TIME", "MACHINE", "KIND", "JOB ID", "WHAT"], rows))
    return EXIT_OK
