"""A job to queue, as the ``add_job`` action and ``statemachine-db add-job --from`` give it:
its fields checked and converted once, for both. Pure: no I/O."""

# Annotations are evaluated here (no `from __future__ import annotations`): a NamedTuple
# turns string annotations into ForwardRefs, each compiled at import (docs/performance.md).
import json
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from .._input_rules import INT32, shown, usable_name, whole_number
from ..config._timeouts import parse_duration, within_reach

DEFAULT_MAX_ATTEMPTS = 3
#: The fields a job to queue may have (``type`` is accepted for ``job_type``).
JOB_FIELDS = ("job_type", "job_id", "data", "priority", "delay", "machine_type", "max_attempts")


class NewJob(NamedTuple):
    """A job to queue: ``data`` a mapping (None: empty), ``job_id`` None to generate one,
    ``delay`` seconds before it may be claimed, ``source_job_id`` the job it comes from."""

    job_type: str
    data: Mapping[str, Any] | None = None
    job_id: str | None = None
    priority: int = 0
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    delay: float = 0.0
    machine_type: str | None = None
    source_job_id: str | None = None


def new_job(fields: Mapping[str, Any]) -> NewJob:
    """The job ``fields`` describe (keys among :data:`JOB_FIELDS`; absent or None: the
    default), each checked by its rule (:data:`FIELD_RULES`). Numbers may be written as
    text (``"5"``); ``delay`` also as a duration (``500ms``, ``90s``, ``5m``, ``2h``).

    Raises:
        ValueError: a field is missing or unusable; the message names it and what it
            must be.
    """
    if fields.get("job_type") in (None, ""):
        raise ValueError("job_type is missing: every job needs a type")
    checked: dict[str, Any] = {}
    for field in JOB_FIELDS:
        value = fields.get(field)
        if value is None:
            continue
        try:
            checked[field] = FIELD_RULES[field](value)
        except ValueError as exc:
            raise ValueError(f"{field} {exc}") from None
    return NewJob(**checked)


def job_type(value: Any) -> str:
    """A job type (or a machine type): a name of at most
    :data:`~statemachine_engine._input_rules.MAX_NAME_LENGTH` characters (a number is
    taken as its text)."""
    return usable_name(_text(value))


def job_id(value: Any) -> str:
    """A job's id: a name of any length (ids are often made of a path)."""
    return usable_name(_text(value), longest=None)


def priority(value: Any) -> int:
    """A job's priority: a whole number of :data:`~statemachine_engine._input_rules.INT32`."""
    return whole_number(value, INT32)


def max_attempts(value: Any) -> int:
    """A job's most attempts: a whole number of
    :data:`~statemachine_engine._input_rules.INT32`, 1 or more."""
    return whole_number(value, range(1, INT32.stop))


def delay(value: Any) -> float:
    """Seconds before a job may be claimed: a number of seconds or a duration, at most
    :data:`~statemachine_engine.config._timeouts.MAX_DELAY_SECONDS`."""
    seconds = parse_duration(value)
    if seconds is None:
        raise ValueError(
            "must be a number of seconds of 0 or more, or a duration such as 500ms, 90s, "
            f"5m or 2h, not {shown(value)}"
        )
    return within_reach(seconds)


def _data(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"must be a mapping (a JSON object), not {shown(value)}")
    if not _unicode(value):
        raise ValueError(
            "holds text that is not valid Unicode (a lone surrogate, as the JSON escape "
            "\\ud800 gives), which cannot be stored"
        )
    return value


def _text(value: Any) -> Any:
    """A number given for a name, as its text (JSON lines may give ids as numbers)."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


#: How each field of :data:`JOB_FIELDS` is checked and converted.
FIELD_RULES: dict[str, Callable[[Any], Any]] = {
    "job_type": job_type,
    "job_id": job_id,
    "data": _data,
    "priority": priority,
    "delay": delay,
    "machine_type": job_type,
    "max_attempts": max_attempts,
}


def _unicode(value: Any) -> bool:
    """Whether every text in ``value`` is valid Unicode (no lone surrogate, which a JSON
    escape such as ``\\ud800`` gives and no database can store as text)."""
    try:
        json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        return False
    except (TypeError, ValueError, RecursionError):
        return True  # not JSON at all: the store says so when it encodes it
    return True
