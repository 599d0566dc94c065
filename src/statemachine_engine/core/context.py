"""What a machine's context holds and how events and jobs update it. Pure functions.

The context is one flat mapping that actions read through ``{placeholders}`` and
write through ``set_context`` and friends. The engine owns a few keys
(:data:`ENGINE_KEYS`); job data and promoted payload fields never overwrite them.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, Final

from .interpolation import MISSING, resolve_path
from .model import EventSpec

ENGINE_KEYS: Final = frozenset(
    {
        "machine_name",
        "current_state",
        "previous_state",
        "event_data",
        "last_event",
        "last_error",
        "config_name",
        "current_job",
        "job_id",
        "id",
        "_engine_action_group",  # process_groups.ACTION_GROUP_KEY
    }
)


def event_data(
    name: str,
    payload: Any,
    *,
    source: str | None = None,
    job_id: str | None = None,
) -> dict[str, Any]:
    """The ``event_data`` context entry describing the event being handled."""
    data: dict[str, Any] = {"type": name, "event_name": name, "payload": payload}
    if source is not None:
        data["source"] = source
    if job_id is not None:
        data["job_id"] = job_id
    return data


def promoted_fields(spec: EventSpec | None, data: Mapping[str, Any]) -> dict[str, Any]:
    """Context keys an event's ``context_map`` promotes out of its ``event_data``.

    Paths are relative to ``event_data`` (``payload.user.name``); a bare name is looked
    up inside the payload first. Fields the event does not carry are left out, and
    engine keys are never overwritten.
    """
    if spec is None or not spec.context_map:
        return {}
    promoted: dict[str, Any] = {}
    for key, path in spec.context_map.items():
        if key in ENGINE_KEYS:
            continue
        value = resolve_path(data, path)
        if value is MISSING and not path.startswith("payload."):
            value = resolve_path(data, f"payload.{path}")
        if value is not MISSING:
            promoted[key] = value
    return promoted


def merge_job(context: MutableMapping[str, Any], job: Mapping[str, Any]) -> None:
    """Expose a claimed job: ``current_job``, ``job_id``/``id`` and its data's keys.

    Keys of the job's data are readable at the top level unless they would replace
    an engine key.
    """
    job_id = job.get("job_id")
    context["current_job"] = dict(job)
    context["job_id"] = job_id
    context["id"] = job_id
    data = job.get("data")
    if isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(key, str) and key not in ENGINE_KEYS:
                context[key] = value
