"""What nothing handled, said loudly: events no transition takes, action failures no
transition takes, and the ends that count as a machine's failure (a dead end, an end
right after an unhandled failure). Each is logged with a stable ``action`` name."""

from __future__ import annotations

import logging
from typing import TypeVar

from ..config.model import Transition
from ..errors import DeadEndError, MachineFailed, StateMachineError, UnhandledFailure

logger = logging.getLogger("statemachine_engine.engine")

_Failure = TypeVar("_Failure", bound=MachineFailed)


def logged(
    error: type[_Failure], machine_name: str, state: str | None, message: str, *, action: str
) -> _Failure:
    """``error(message)`` for ``machine_name`` in ``state``, logged at ERROR as ``action``."""
    logger.error(
        "[%s] %s",
        machine_name,
        message,
        extra={"action": action, "machine": machine_name, "state": state},
    )
    return error(message, machine=machine_name, state=state)


def dead_end(machine_name: str, state: str) -> DeadEndError:
    """The error (logged) for a machine in a non-terminal state nothing leads out of."""
    message = f"state {state!r} has no way out: add a transition from it, or list it under `final:`"
    return logged(DeadEndError, machine_name, state, message, action="dead_end")


def failed_end(
    machine_name: str, state: str | None, event: str, error: str | None
) -> UnhandledFailure:
    """The error (logged) for a machine that ended in ``state`` right after an action
    failed with ``event`` that no transition took."""
    message = (
        f"ended in {state!r} right after an action failed ({error or 'no message'})"
        f" and no transition took its error event {event!r}"
    )
    return logged(UnhandledFailure, machine_name, state, message, action="ended_after_error")


def log_unhandled_event(
    machine_name: str, state: str | None, event: str, *, explicit: bool, guarded: bool = False
) -> None:
    """An event no transition from ``state`` takes is dropped (at INFO when a config or
    a sender named it, else at DEBUG); ``guarded``: there are some, but no ``if:`` held."""
    logger.log(
        logging.INFO if explicit else logging.DEBUG,
        "[%s] no transition from %r on %r%s; event dropped",
        machine_name,
        state,
        event,
        " whose if: holds" if guarded else "",
        extra={
            "action": "event_unhandled",
            "machine": machine_name,
            "state": state,
            "event": event,
        },
    )


def log_unhandled_failure(
    machine_name: str, state: str | None, action: str, event: str, error: str | None
) -> None:
    """An action failed and no transition takes its error event: say why, loudly."""
    logger.warning(
        "[%s] %s action in %r failed (%s) and no transition from %r takes its error "
        "event %r; the next action runs",
        machine_name,
        action,
        state,
        error or "no message",
        state,
        event,
        extra={
            "action": "error_unhandled",
            "machine": machine_name,
            "state": state,
            "event": event,
            "error": error,
        },
    )


def log_guard_failed(
    machine_name: str, transition: Transition, event: str, error: StateMachineError
) -> None:
    """A guard could not be evaluated for ``event``: it counts as not holding."""
    logger.warning(
        "[%s] if: %s (%s) could not be evaluated on %r: %s; taken as false",
        machine_name,
        transition.guard,
        transition.position,
        event,
        error,
        extra={
            "action": "guard_failed",
            "machine": machine_name,
            "state": transition.source,
            "event": event,
            "error": str(error),
        },
    )
