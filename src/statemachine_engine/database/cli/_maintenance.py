"""``statemachine-db`` commands that clear out the store: ``cleanup``, ``purge`` and
``reset-processing`` for jobs, ``cleanup-events`` for machines' inboxes, ``cleanup-history``
for their transitions."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..._cli_output import ProgressLine, count, duration, plural, print_json
from ..._cli_support import EXIT_OK
from ..models.job import JobStatus
from ..models.machine_event import EventStatus

if TYPE_CHECKING:
    from ..store import OperatorStore

#: ``reset-processing`` without ``--force`` only touches jobs started this long ago.
DEFAULT_RESET_AGE_SECONDS = 3600.0


async def cleanup(store: OperatorStore, args: argparse.Namespace) -> int:
    """``cleanup``: delete finished jobs (or those with the statuses given)."""
    return await _purge(store, args, args.status or list(JobStatus.FINISHED))


async def purge(store: OperatorStore, args: argparse.Namespace) -> int:
    """``purge``: delete jobs with the statuses given."""
    return await _purge(store, args, args.status)


async def _purge(store: OperatorStore, args: argparse.Namespace, statuses: list[str]) -> int:
    statuses = list(dict.fromkeys(statuses))
    deleted = await store.purge_jobs(statuses, older_than=args.older_than)
    if args.format == "json":
        print_json({"deleted": deleted, "statuses": statuses, "older_than": args.older_than})
    else:
        age = f" older than {duration(args.older_than)}" if args.older_than is not None else ""
        print(f"deleted {count(deleted, 'job')} ({', '.join(statuses)}){age}")
    return EXIT_OK


async def cleanup_history(store: OperatorStore, args: argparse.Namespace) -> int:
    """``cleanup-history``: delete transitions recorded over ``--older-than`` seconds ago."""
    progress = ProgressLine()
    deleted = await store.cleanup_history(
        args.older_than,
        progress=lambda so_far: progress.show(f"deleted {count(so_far, 'transition')} so far"),
    )
    progress.done()
    if args.format == "json":
        print_json({"deleted": deleted, "older_than": args.older_than})
    else:
        print(
            f"deleted {count(deleted, 'transition')} recorded over {duration(args.older_than)} ago"
        )
    return EXIT_OK


async def reset_processing(store: OperatorStore, args: argparse.Namespace) -> int:
    """``reset-processing``: return processing jobs to the queue."""
    if args.force:
        older_than = None
    elif args.older_than is not None:
        older_than = args.older_than
    else:
        older_than = DEFAULT_RESET_AGE_SECONDS
    reset = await store.reset_processing(older_than)
    if args.format == "json":
        print_json({"reset": reset, "older_than": older_than})
    else:
        age = f" started over {duration(older_than)} ago" if older_than is not None else ""
        print(f"returned {reset} processing {plural(reset, 'job')}{age} to the queue")
    return EXIT_OK


async def cleanup_events(store: OperatorStore, args: argparse.Namespace) -> int:
    """``cleanup-events``: delete handled inbox events (or those with the status given)."""
    statuses = [args.status] if args.status else list(EventStatus.HANDLED)
    deleted = 0
    for status in statuses:
        deleted += await store.cleanup_events(status=status)
    if args.format == "json":
        print_json({"deleted": deleted, "status": args.status})
    else:
        which = f" {args.status}" if args.status else ""
        print(f"deleted {deleted}{which} {plural(deleted, 'event')}")
    return EXIT_OK
