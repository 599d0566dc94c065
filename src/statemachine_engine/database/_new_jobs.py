"""A job to queue, as the ``add_job`` action and ``statemachine-db add-job --from`` give it:
its fields checked and converted once, for both. Pure: no I/O."""

# Annotations are evaluated here (no `from __future__ import annotations`): a NamedTuple
# turns string annotations into ForwardRefs, each compiled at import (docs/performance.md).
import json
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from ..config._timeouts import parse_duration

DEFAULT_MAX_ATTEMPTS = 3
#: The range of ``priority`` and ``max_attempts`` (a 32-bit column in PostgreSQL).
INT32 = range(-(2**31), 2**31)
#: The fields a job to queue may have (``type`` is accepted for ``job_type``).
JOB_FIELDS = ("job_type", "job_id", "data", "priority", "delay", "machine_type", "max_attempts")
_INTEGER = re.compile(r"[+-]?\d{1,18}", re.ASCII)


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
    default). Numbers may be written as text (``"5"``); ``delay`` also as a duration
    (``500ms``, ``90s``, ``5m``, ``2h``).

    Raises:
        ValueError: a field is missing or unusable; the message names it and what it
            must be.
    """
    job_type = fields.get("job_type")
    if job_type is None or job_type == "":
        raise ValueError("job_type is missing: every job needs a type")
    job = NewJob(_name(job_type, "job_type"))
    given = {key: value for key, value in fields.items() if value is not None}
    if "job_id" in given:
        job = job._replace(job_id=_name(given["job_id"], "job_id"))
    if "machine_type" in given:
        job = job._replace(machine_type=_name(given["machine_type"], "machine_type"))
    if "data" in given:
        data = given["data"]
        if not isinstance(data, Mapping):
            raise ValueError(f"data must be a mapping (a JSON object), not {_shown(data)}")
        if not _unicode(data):
            raise ValueError(
                "data holds text that is not valid Unicode (a lone surrogate, as the JSON "
                "escape \\ud800 gives), which cannot be stored"
            )
        job = job._replace(data=data)
    if "priority" in given:
        job = job._replace(priority=_integer(given["priority"], "priority"))
    if "max_attempts" in given:
        attempts = _integer(given["max_attempts"], "max_attempts")
        if attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {attempts}")
        job = job._replace(max_attempts=attempts)
    if "delay" in given:
        delay = parse_duration(given["delay"])
        if delay is None:
            raise ValueError(
                "delay must be a number of seconds of 0 or more, or a duration such as "
                f"500ms, 90s, 5m or 2h, not {_shown(given['delay'])}"
            )
        job = job._replace(delay=delay)
    return job


def _name(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{field} must be text, not {_shown(value)}")
    text = str(value)
    if not text.strip():
        raise ValueError(f"{field} must not be blank")
    if "\x00" in text or not _unicode(text):
        raise ValueError(
            f"{field} holds a NUL character or a lone surrogate (the JSON escapes \\u0000, "
            "\\ud800...), which cannot be stored"
        )
    return text


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


def _integer(value: Any, field: str) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        number = int(value)
    if number is None:
        raise ValueError(f"{field} must be a whole number, not {_shown(value)}")
    if number not in INT32:
        raise ValueError(f"{field} must be from {INT32.start} to {INT32.stop - 1}, not {number}")
    return number


def _shown(value: Any) -> str:
    """``value`` as a message shows it: short, with its type when that is the point."""
    if isinstance(value, str):
        text = repr(value)
        return text if len(text) <= 60 else f"{text[:57]}...'"
    if isinstance(value, bool) or value is None:
        return str(value).lower() if value is not None else "null"
    if isinstance(value, int | float):
        return repr(value)
    return f"a {'list' if isinstance(value, list | tuple) else type(value).__name__}"
