"""Resuming a durable machine after a restart, and the fencing of the jobs it holds.

A machine started again under the same name resumes the run its store recorded: the
state, the context and the timers' deadlines come back, and it holds again the jobs that
run held, fenced like a claimer's (docs/durability.md). A machine started afresh holds
instead the jobs handed to it by the machine that started it. A state that works on a
job the machine no longer holds does not run its actions: the machine emits the state's
lost-job event instead (:func:`lost_job_event`).

These are the decisions and the records; the engine awaits them and moves the machine.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from .._cli_output import count
from ..actions._process_groups import ACTION_GROUP_KEY, end_left_group, left_group
from ..config._transitions import TransitionTable
from ..config.model import LOST_JOB_EVENT, MachineConfig
from ..context._entries import JOB_LEASE
from ..database._records import Registration
from ..errors import StateMachineError, UnknownStateError
from . import _failures as failures
from ._jobs import HandedJob, JobTracker, lease_record
from .action_loader import ActionLoader

if TYPE_CHECKING:
    from ..database.models.machine_state import MachineStateRecord
    from ..database.store import Store
    from ._registrations import Registrations

logger = logging.getLogger("statemachine_engine.engine")

#: Context keys a resumed run keeps its own values of.
_NOT_RESTORED = ("machine_name", "config_name", ACTION_GROUP_KEY)


async def register_run(
    store: Store,
    config: MachineConfig,
    machine_name: str,
    *,
    fresh: bool,
    config_path: str | None,
    wake_address: str | None,
    together: Registrations | None = None,
    worker: str | None = None,
    handed: Iterable[str] = (),
) -> tuple[MachineStateRecord | None, bool]:
    """Record in ``store`` that the machine runs here, ending what a killed run of it
    left running (``together``: with the host's other machines starting now) and putting
    back in the queue the jobs it left under ``worker`` (but those ``handed`` to this
    run, and the one this run holds again when it resumes).

    Returns:
        The previous run's record when this run resumes it (None when it starts over),
        and whether its inbox was read empty after the name was taken (registered
        ``together``): every event committed since wakes the machine, so it need not
        look before it waits.

    Raises:
        UnknownStateError: the previous run was in a state the config no longer has.
    """

    def vet(recorded: MachineStateRecord) -> None:
        # Refused before registering: the record (its config hash, its status) stays as
        # the last real run left it.
        if recorded.status != "finished" and recorded.current_state not in config.states:
            raise unknown_state(machine_name, config, recorded)

    if together is not None:
        registration = Registration(
            machine_name, config.name, config_path, config.source_hash, wake_address
        )
        previous, inbox_empty = await together.register(registration, None if fresh else vet)
    else:
        inbox_empty = False
        if not fresh:
            recorded = await store.load_machine(machine_name)
            if recorded is not None and recorded.current_state:
                vet(recorded)
        previous = await store.register_machine(
            machine_name,
            config_name=config.name,
            config_path=config_path,
            pid=os.getpid(),
            host=socket.gethostname(),
            wake_address=wake_address,
            config_hash=config.source_hash,
        )
    if previous is None:
        return None, inbox_empty
    # What a killed run left running ends before anything runs again.
    await end_left_group(machine_name, left_group(previous.context))
    resumes = previous.status != "finished" and not fresh
    if worker is not None:
        await release_left_jobs(store, machine_name, previous, worker, handed, resumes=resumes)
    if not resumes:
        return None, inbox_empty
    if previous.current_state not in config.states:  # changed meanwhile
        await store.finish_machine(machine_name, "stopped")
        raise unknown_state(machine_name, config, previous)
    return previous, inbox_empty


async def release_left_jobs(
    store: Store,
    machine_name: str,
    previous: MachineStateRecord,
    worker: str,
    handed: Iterable[str],
    *,
    resumes: bool,
) -> None:
    """Put back in the queue the jobs a run killed on this host left under ``worker``
    (jobs claimed ahead, and the one it worked on unless this run resumes with it),
    instead of leaving them to their leases: the name was taken, so its holder's
    process is gone. A run on another host may only be cut off: its leases stand."""
    if previous.status != "running" or previous.host != socket.gethostname():
        return
    if previous.pid == os.getpid():
        return
    kept = list(handed)
    lease = previous.context.get(JOB_LEASE) if resumes else None
    if isinstance(lease, Mapping) and lease.get("job_id"):
        kept.append(str(lease["job_id"]))
    elif resumes:
        current = previous.context.get("current_job")  # recorded before JOB_LEASE was
        if isinstance(current, Mapping) and current.get("job_id"):
            kept.append(str(current["job_id"]))
    released = await store.release_left_jobs(worker, kept=kept)
    if released:
        logger.info(
            "[%s] %s its killed run held went back to the queue: %s",
            machine_name,
            count(len(released), "job"),
            ", ".join(released[:10]) + (" ..." if len(released) > 10 else ""),
            extra={"action": "jobs_released", "machine": machine_name, "jobs": released},
        )


def unknown_state(
    machine_name: str, config: MachineConfig, record: MachineStateRecord
) -> UnknownStateError:
    """The error (logged) for a run recorded in a state ``config`` no longer has."""
    state = record.current_state
    where = config.path or config.name
    message = (
        f"machine {machine_name!r} was in state {state!r}, which {where} no longer has: "
        f"start it over with --fresh, or move it to one of its states with "
        f"'statemachine-db set-state {machine_name} STATE' "
        f"(states: {', '.join(config.states)})"
    )
    return failures.logged(UnknownStateError, machine_name, state, message, action="resume_refused")


def restore_context(
    machine_name: str,
    config: MachineConfig,
    record: MachineStateRecord,
    context: MutableMapping[str, Any],
) -> None:
    """Bring back the recorded run's context, warning when its config has changed."""
    state = record.current_state
    current = config.source_hash
    if record.config_hash and current and record.config_hash != current:
        logger.warning(
            "[%s] resumes in %r under a changed config: %s is not the file it last ran "
            "(config hash %s, now %s)",
            machine_name,
            state,
            config.path or config.name,
            record.config_hash,
            current,
            extra={
                "action": "config_changed",
                "machine": machine_name,
                "state": state,
                "previous_hash": record.config_hash,
                "config_hash": current,
            },
        )
    for key, value in record.context.items():
        if key not in _NOT_RESTORED:
            context[key] = value
    context["current_state"] = state


async def take_over_jobs(
    jobs: JobTracker,
    store: Store,
    handed_jobs: Iterable[HandedJob],
    context: MutableMapping[str, Any],
) -> tuple[str, str] | None:
    """Hold the jobs handed over by the machine that started this one, and record the
    lease of the one it works on (its ``job_id``, else the first) in the context, so
    that a resume after a crash is fenced as a claimer's is.

    Returns:
        The first job it could not take, as ``(job_id, why)``; None when it took all.
    """
    refused_job: tuple[str, str] | None = None
    recorded = False
    for handed in sorted(handed_jobs, key=lambda h: h.job_id != context.get("job_id")):
        refused = await jobs.take_over(store, handed)
        if refused is not None:
            if refused_job is None:
                refused_job = (handed.job_id, refused)
        elif not recorded:
            context[JOB_LEASE] = lease_record(*handed)
            recorded = True
    return refused_job


def works_on_job(config: MachineConfig, actions: ActionLoader, state: str) -> bool:
    """Whether ``state``'s actions work on the job the machine holds: they do unless
    they claim one (a state that checks the queue hands the job it held back)."""
    specs = config.actions.get(state, ())
    return bool(specs) and not any(_claims_jobs(actions, spec.type) for spec in specs)


def _claims_jobs(actions: ActionLoader, action_type: str) -> bool:
    try:
        return actions.load(action_type).claims_jobs
    except StateMachineError:  # reported when the action runs
        return False


def lost_job_event(
    config: MachineConfig, table: TransitionTable, actions: ActionLoader, state: str
) -> str:
    """The event a machine emits when it resumes in ``state`` without the job it held:
    ``job_lost`` if a transition from ``state`` takes it, else the error event of the
    state's first action (its ``error:``, else its type's default)."""
    if table.leads(state, LOST_JOB_EVENT):
        return LOST_JOB_EVENT
    spec = config.actions[state][0]
    return str(spec.options.get("error", actions.load(spec.type).default_error))


def log_job_lost(
    machine_name: str, state: str, job_id: str, message: str, event: str, *, resumed: bool
) -> None:
    """Say that ``state``'s actions do not run (again) because its job is not held."""
    logger.warning(
        "[%s] %s in %r without its job: %s; the state's actions are not run%s, emitting %r",
        machine_name,
        "resumes" if resumed else "starts",
        state,
        message,
        " again" if resumed else "",
        event,
        extra={
            "action": "job_lost",
            "machine": machine_name,
            "state": state,
            "job_id": job_id,
            "event": event,
        },
    )
