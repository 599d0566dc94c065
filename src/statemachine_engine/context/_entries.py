"""What a machine's context holds and how events and jobs update it. Pure functions.

The context is one flat mapping that actions read through ``{placeholders}`` and
write through ``set_context`` and friends. The engine owns a few keys
(:data:`ENGINE_KEYS`); job data and promoted payload fields never overwrite them.

Who may set a key: the config (``set_context``, a ``context_map`` it declares), the
operator (``--initial-context``, a parent's ``start_fsm`` ``context_vars``) and actions.
A job's data is always readable under ``current_job.data``; at the top level it only
fills keys nobody else set, and the keys it filled are listed in :data:`JOB_KEYS` (an
engine key, so it is saved with the context and survives a restart). Only those are
removed when the next job comes, so a job can neither replace nor remove anyone else's
key.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, Final

from .interpolation import MISSING, resolve_path

#: The engine's list of the top-level keys the current job's data put in the context.
JOB_KEYS: Final = "job_keys"
#: The engine's record of the job lease the machine holds (``{job_id, attempt, lease}``,
#: the lease's length in seconds): set when it claims a job or is handed one by the
#: machine that started it, removed when it completes, fails or hands the job over.
JOB_LEASE: Final = "job_lease"

ENGINE_KEYS: Final = frozenset(
    {
        JOB_KEYS,
        JOB_LEASE,
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
        "_engine_action_group",  # actions.process_groups.ACTION_GROUP_KEY
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


def promoted_fields(
    context_map: Mapping[str, str] | None, data: Mapping[str, Any]
) -> dict[str, Any]:
    """Context keys an event's ``context_map`` (context key -> path) promotes out of its
    ``event_data``.

    Paths are relative to ``event_data`` (``payload.user.name``); a bare name is looked
    up inside the payload first. Fields the event does not carry are left out, and
    engine keys are never overwritten.
    """
    if not context_map:
        return {}
    promoted: dict[str, Any] = {}
    for key, path in context_map.items():
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

    Keys of the job's data are readable at the top level only where the context has no
    such key yet: the engine's, the config's, the operator's and the actions' keys are
    never replaced. The keys it fills are listed under :data:`JOB_KEYS`.
    """
    job_id = job.get("job_id")
    context["current_job"] = dict(job)
    context["job_id"] = job_id
    context["id"] = job_id
    introduced: list[str] = []
    data = job.get("data")
    if isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(key, str) and key not in ENGINE_KEYS and key not in context:
                context[key] = value
                introduced.append(key)
    context[JOB_KEYS] = introduced


def forget_job_data(context: MutableMapping[str, Any]) -> None:
    """Remove the top-level keys the previous job's data put in ``context``.

    Otherwise a key of one job (``{file}``) would still be read for the next job whose
    data lacks it. Only keys listed under :data:`JOB_KEYS` go, and of those only the
    ones still holding the job's value (a key an action has since set is kept).
    """
    previous = context.get("current_job")
    data = previous.get("data") if isinstance(previous, Mapping) else None
    introduced = context.pop(JOB_KEYS, None)
    if not isinstance(data, Mapping):
        return
    if isinstance(introduced, list):
        keys: list[Any] = [key for key in introduced if key in data]
    else:  # a context saved before JOB_KEYS existed: its job's keys, as they were
        keys = list(data)
    for key in keys:
        if isinstance(key, str) and key not in ENGINE_KEYS and context.get(key, _NO) == data[key]:
            del context[key]


_NO = object()
