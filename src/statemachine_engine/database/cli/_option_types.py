"""The types of ``statemachine-db``'s options: each checks its value by the rule that the
store's other doors (``add-job --from`` lines, the ``add_job`` and ``send_event`` actions,
the monitoring API) apply to the same value, so that a bad value is refused here as a
usage error (exit status 2) before the store is touched, never let in to fail later.
"""

from __future__ import annotations

import argparse
import functools
import time

from ..._cli_support import checked, duration
from ..._input_rules import INT32, INT64, usable_machine_name, usable_name, whole_number
from ...config._timeouts import MAX_DELAY_SECONDS, MAX_DELAY_YEARS, parse_duration, within_reach
from .. import _new_jobs as new_jobs

#: Ages (``--older-than``) and spans (``--hours``), as far back as a delay reaches ahead.
seconds = duration(MAX_DELAY_SECONDS)
hours = duration(MAX_DELAY_SECONDS / 3600, zero=False, unit="hours")
#: ``--limit``: as many rows as a 32-bit whole number counts.
limit = checked(functools.partial(whole_number, within=range(1, INT32.stop)))
#: An event's id (``cancel-event``): a row's id, 64 bits.
event_id = checked(functools.partial(whole_number, within=range(1, INT64.stop)))
#: An event's name (``send-event --type``, ``--source``).
name = checked(usable_name)
#: A machine's name (``send-event --target``).
machine_name = checked(usable_machine_name)
#: ``add-job``'s options (and ``send-event --job-id``): the rules of a job's fields.
job_type = checked(new_jobs.job_type)
job_id = checked(new_jobs.job_id)
priority = checked(new_jobs.priority)
max_attempts = checked(new_jobs.max_attempts)
job_delay = checked(lambda text: new_jobs.delay(_number(text)))
#: What the help of every delay says of its bound.
DELAY_BOUND = f"at most {MAX_DELAY_YEARS} years"


def event_delay(text: str) -> float:
    """``send-event --delay``: a duration, kept as such until the event is sent."""
    length = parse_duration(text)
    if length is None:
        raise argparse.ArgumentTypeError(
            f"not a duration (seconds, or 90s, 5m, 2h, 1h30m): {text!r}"
        )
    try:
        return within_reach(length)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def event_time(text: str) -> float:
    """``send-event --at``: an ISO 8601 time, as epoch seconds."""
    from ...config._due import parse_time

    try:
        moment = parse_time(text)
        within_reach(moment - time.time())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("at must be", "not")) from None
    return moment


def _number(text: str) -> float | str:
    """``text`` as a number where it is one (``1e3`` too), else as it is (``5m``)."""
    try:
        return float(text)
    except ValueError:
        return text
