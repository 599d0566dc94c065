"""``statemachine-db add-job --from FILE|-``: queue many jobs from JSON lines.

Each non-blank line is a JSON object with the fields of one job (:data:`LINE_KEYS`);
``--type``, ``--machine-type``, ``--priority``, ``--max-attempts`` and ``--delay`` fill
in the fields a line lacks. The whole input is read and checked before anything is
queued (:func:`read_jobs`), so a bad line queues nothing; it is bounded by
:data:`MAX_INPUT_BYTES`. The jobs then go in in batches, one transaction each
(:func:`add_from`): a batch is queued whole or not at all, and workers claim jobs of
the first batches while the next ones go in. An id already in the queue (or earlier in
the input) is skipped and counted as already queued, so a run that was cut short can be
run again when the lines carry ids.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Iterable, Mapping
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from ..._cli_output import ProgressLine, count, print_json
from ..._cli_support import EXIT_OK
from ...errors import JSONDataError, UsageError
from .._new_jobs import JOB_FIELDS, NewJob, new_job

if TYPE_CHECKING:
    from ..store import OperatorStore

#: What a line may hold: a job's fields, with ``type`` accepted for ``job_type``.
LINE_KEYS = frozenset({*JOB_FIELDS, "type"})
#: Most jobs queued in one transaction.
BATCH_JOBS = 500
#: Most bytes of input (the jobs' lines) queued in one transaction.
BATCH_BYTES = 8 * 1024 * 1024
#: Largest input read (it is held whole, and checked, before anything is queued).
MAX_INPUT_BYTES = 256 * 1024 * 1024
#: Bad lines reported one by one; those after them are counted.
MAX_ERRORS_SHOWN = 20


class Line(NamedTuple):
    """One job of the input, and the bytes its line took."""

    job: NewJob
    size: int


def read_jobs(stream: IO[bytes], defaults: Mapping[str, Any]) -> list[Line]:
    """Every job of ``stream``'s JSON lines, checked, with ``defaults`` for the fields a
    line lacks.

    Raises:
        UsageError: a line is not a JSON object describing a usable job (one message
            line per bad input line, ``line N: ...``, then how many were bad), or the
            input is larger than :data:`MAX_INPUT_BYTES`.
    """
    jobs: list[Line] = []
    errors: list[str] = []
    total = 0
    number = 0
    for number, raw in enumerate(stream, start=1):
        total += len(raw)
        if total > MAX_INPUT_BYTES:
            raise UsageError(
                f"the input is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB, the most "
                "read at once (it is checked whole before anything is queued): split it "
                "into several files"
            )
        if not raw.strip():
            continue
        try:
            jobs.append(Line(_job(raw, defaults, f"line {number}"), len(raw)))
        except ValueError as exc:
            errors.append(str(exc))
    if errors:
        shown = errors[:MAX_ERRORS_SHOWN]
        if len(errors) > len(shown):
            shown.append(f"... and {count(len(errors) - len(shown), 'more bad line')}")
        one = len(errors) == 1
        bad = f"{len(errors)} of {count(number, 'line')} {'is' if one else 'are'} bad"
        fix = "fix it" if one else "fix them"
        shown.append(f"{bad}; nothing was queued: {fix} and run it again")
        raise UsageError("\n".join(shown))
    return jobs


def _job(raw: bytes, defaults: Mapping[str, Any], where: str) -> NewJob:
    """The job of one line (``where`` names it); ValueError saying what is wrong."""
    from ..._jsondata import decode

    try:
        fields = decode(raw, what=where)
    except JSONDataError as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(fields, dict):
        raise ValueError(f'{where} is not a JSON object: write one job a line, {{"type": ...}}')
    unknown = sorted(set(fields) - LINE_KEYS)
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(LINE_KEYS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"{where} has unknown {'key' if len(unknown) == 1 else 'keys'} "
            f"{', '.join(unknown)}{hint}: a line holds job_type (or type), job_id, data, "
            "priority, delay, machine_type and max_attempts; put the job's own fields "
            "under data"
        )
    if "type" in fields:
        if "job_type" in fields:
            raise ValueError(f"{where} gives both type and job_type: give one")
        fields["job_type"] = fields.pop("type")
    given = {key: value for key, value in fields.items() if value is not None}
    if "job_type" not in given and defaults.get("job_type") is None:
        raise ValueError(f'{where} has no type: give it a "type", or --type for every line')
    try:
        return new_job({**defaults, **given})
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def defaults_of(args: argparse.Namespace) -> dict[str, Any]:
    """The fields ``add-job``'s options give every line that lacks them."""
    return {
        "job_type": args.job_type,
        "machine_type": args.machine_type,
        "priority": args.priority,
        "max_attempts": args.max_attempts,
        "delay": args.delay,
    }


def batches(lines: Iterable[Line]) -> Iterable[list[NewJob]]:
    """``lines``' jobs in batches of at most :data:`BATCH_JOBS` jobs and (unless one
    line alone is larger) :data:`BATCH_BYTES` of input."""
    batch: list[NewJob] = []
    size = 0
    for line in lines:
        if batch and (len(batch) >= BATCH_JOBS or size + line.size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(line.job)
        size += line.size
    if batch:
        yield batch


async def add_from(store: OperatorStore, args: argparse.Namespace) -> int:
    """``add-job --from``: queue the jobs :func:`read_jobs` read (``args.jobs``), batch
    by batch; print how many were queued and how many were already; progress goes to
    stderr when it is a terminal."""
    lines: list[Line] = args.jobs
    progress = ProgressLine()
    queued = skipped = 0
    for batch in batches(lines):
        added = len(await store.add_jobs(batch))
        queued += added
        skipped += len(batch) - added
        progress.show(f"added {queued + skipped}/{len(lines)} jobs")
    progress.done()
    if args.format == "json":
        print_json({"queued": queued, "already_queued": skipped, "jobs": len(lines)})
    else:
        already = f" ({skipped} already queued)" if skipped else ""
        print(f"queued {count(queued, 'job')}{already}")
    return EXIT_OK
