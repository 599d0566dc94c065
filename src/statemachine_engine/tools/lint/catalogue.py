"""What each builtin action can emit and which context keys it writes.

The linter reads configs without running them, so it needs to know, per builtin type,
the events an action may return (``bash`` -> ``job_done`` or ``error``...) and the
context keys it fills (``bash`` -> ``stdout``...). Kept beside the builtins' docstrings;
``tests/unit/test_lint_catalogue.py`` checks the defaults against the classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from ...core.action_loader import ALIASES


class ActionTraits(NamedTuple):
    """Events and context keys of one builtin action type.

    Attributes:
        success: the default of ``success:`` (None: returns nothing by default).
        other_events: further ``option -> default event`` pairs (``empty: no_jobs``).
        writes: context keys always written.
        store_as: default of the ``store_as:`` option naming a written key, if any.
        claims_jobs: a claimed job's data keys become context keys.
    """

    success: str | None
    other_events: Mapping[str, str | None] = {}
    writes: frozenset[str] = frozenset()
    store_as: str | None = None
    claims_jobs: bool = False


BUILTINS: Mapping[str, ActionTraits] = {
    "add_to_list": ActionTraits("success"),
    "bash": ActionTraits(
        "job_done", writes=frozenset({"stdout", "stderr", "exit_code", "last_error"})
    ),
    "check_database_queue": ActionTraits(
        "new_job", {"empty": "no_jobs"}, frozenset({"current_job", "job_id", "id"}), None, True
    ),
    "check_events": ActionTraits(None, {"empty": "no_events"}, frozenset({"event_data"})),
    "check_machine_state": ActionTraits(
        "running",
        {"not_running": "not_running", "wrong_state": "wrong_state"},
        store_as="machine_state",
    ),
    "claim_job": ActionTraits(
        "claimed",
        {"already_claimed": "already_claimed"},
        frozenset({"current_job", "job_id", "id"}),
        claims_jobs=True,
    ),
    "clear_events": ActionTraits(
        "events_cleared", {"empty": "no_events_to_clear"}, frozenset({"cleared_events"})
    ),
    "complete_job": ActionTraits("success"),
    "fail_job": ActionTraits("job_failed"),
    "get_pending_jobs": ActionTraits("jobs_found", {"empty": "no_jobs"}, store_as="pending_jobs"),
    "log": ActionTraits("continue"),
    "pop_from_list": ActionTraits("item_popped", {"empty": "list_empty"}, store_as="popped_item"),
    "send_event": ActionTraits("event_sent"),
    "set_context": ActionTraits("success"),
    "sleep": ActionTraits("wake_up"),
    "start_fsm": ActionTraits("success", writes=frozenset({"spawned_pids"})),
    "wait_for_jobs": ActionTraits(
        "all_jobs_complete",
        {"pending": None, "timeout_event": "jobs_timeout", "empty": "no_jobs_tracked"},
        frozenset({"completed_jobs", "failed_jobs", "pending_jobs"}),
    ),
}
#: Every action may fail; it then returns its ``error:`` event, by default this one.
DEFAULT_ERROR = "error"


def traits_of(action_type: str) -> ActionTraits | None:
    """The traits of a builtin type (aliases resolved), None for anything else."""
    return BUILTINS.get(ALIASES.get(action_type, action_type))


def emitted_events(action_type: str, options: Mapping[str, Any]) -> frozenset[str] | None:
    """Events an action may return, or None when that cannot be known (a custom action,
    or an event written with a placeholder)."""
    traits = traits_of(action_type)
    if traits is None:
        return None
    events: list[Any] = [options.get("error", DEFAULT_ERROR)]
    if not (action_type == "send_event" and options.get("fire_and_forget") is True):
        events.append(options.get("success", traits.success))
    events.extend(options.get(key, default) for key, default in traits.other_events.items())
    if action_type == "bash" and isinstance(options.get("error_mappings"), Mapping):
        events.extend(options["error_mappings"].values())
    if action_type == "check_events" and options.get("success") is None:
        types = options.get("event_types")
        events.extend(types if isinstance(types, list) else [types])
    names = {str(event) for event in events if event is not None}
    if any("{" in name for name in names):
        return None
    return frozenset(names)


def written_keys(action_type: str, options: Mapping[str, Any]) -> frozenset[str]:
    """Top-level context keys a builtin action writes (dotted keys give their root)."""
    traits = traits_of(action_type)
    if traits is None:
        return frozenset()
    keys = set(traits.writes)
    store_as = options.get("store_as", traits.store_as)
    if store_as is not None:
        keys.add(str(store_as))
    real = ALIASES.get(action_type, action_type)
    if real == "set_context":
        if options.get("key") is not None:
            keys.add(str(options["key"]))
        values = options.get("values")
        if isinstance(values, Mapping):
            keys.update(str(key) for key in values)
    elif real == "add_to_list":
        for option in ("list", "list_key", "key"):
            if options.get(option) is not None:
                keys.add(str(options[option]))
                break
    return frozenset(key.split(".", 1)[0] for key in keys)
