"""The job an ``add_job`` action queues, read from its (interpolated) options."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..context.interpolation import placeholders
from ..database._new_jobs import JOB_FIELDS, NewJob, new_job
from ..errors import ActionError


def job_from_options(option: Callable[[str], Any], context: Mapping[str, Any]) -> NewJob:
    """The job an action's options describe (``option(name)``: the interpolated value of
    each field of :data:`JOB_FIELDS`, None when absent), its source the job ``context``
    holds (its ``job_id``), if any.

    Raises:
        ActionError: an option is missing or unusable, or its text still holds a
            placeholder nothing filled; the message names it.
    """
    fields = {field: option(field) for field in JOB_FIELDS}
    for field in ("job_type", "job_id", "machine_type"):
        value = fields[field]
        if isinstance(value, str) and placeholders(value):
            raise ActionError(
                f"add_job: {field} {value!r} holds a placeholder nothing filled: "
                "check that the context has that key"
            )
    try:
        job = new_job(fields)
    except ValueError as exc:
        raise ActionError(f"add_job: {exc}") from None
    source = context.get("job_id")
    return job if source is None else job._replace(source_job_id=str(source))
