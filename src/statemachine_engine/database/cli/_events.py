"""``statemachine-db`` commands about machines' inboxes: ``send-event``, ``list-events``,
``cancel-event``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..._cli_output import compact_json, cut, print_json, print_listing, when
from ..._cli_support import EXIT_OK
from ._command import PROG

if TYPE_CHECKING:
    from ..store import OperatorStore


async def send(store: OperatorStore, args: argparse.Namespace) -> int:
    """``send-event``: commit an event to a machine's inbox and wake the machine."""
    from .._delivery import deliver, unseen_machine_warning

    event_id = await deliver(
        store,
        args.target,
        args.event_type,
        args.payload or {},
        due_at=args.due_at,
        source=args.source,
        job_id=args.job_id,
    )
    warning = await unseen_machine_warning(store, args.target)  # kept all the same
    if warning is not None:
        print(f"{PROG}: warning: {warning}", file=sys.stderr)
    if args.format == "json":
        print_json(
            {
                "id": event_id,
                "target": args.target,
                "type": args.event_type,
                "due_at": args.due_at,
                "warning": warning,
            }
        )
    else:
        print(event_id)
    return EXIT_OK


async def list_events(store: OperatorStore, args: argparse.Namespace) -> int:
    """``list-events``: events in machines' inboxes, newest first."""
    events = await store.list_events(target=args.target, status=args.status, limit=args.limit)
    print_listing(
        args.format,
        events,
        document=lambda event: event.as_dict(),
        headers=[
            *("ID", "TARGET", "TYPE", "STATUS", "SOURCE", "JOB ID", "CREATED", "DUE"),
            *("REASON", "PAYLOAD"),
        ],
        row=lambda event: [
            str(event.id),
            event.target_machine,
            event.event_type,
            event.status,
            event.source_machine or "-",
            event.job_id or "-",
            when(event.created_at),
            "-" if event.due_at is None else when(event.due_at),
            event.reason or "-",
            compact_json(event.payload) if event.decodable else cut(str(event.payload)),
        ],
        empty="no events found",
        right={0},
    )
    return EXIT_OK


async def cancel(store: OperatorStore, args: argparse.Namespace) -> int:
    """``cancel-event``: cancel a delayed event before it falls due."""
    event = await store.cancel_event(args.event_id)
    if args.format == "json":
        print_json({"id": event.id, "target": event.target_machine, "cancelled": True})
    else:
        print(f"cancelled event {event.id} ({event.event_type} to {event.target_machine})")
    return EXIT_OK
