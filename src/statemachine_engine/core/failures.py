"""What nothing handled, said loudly: events no transition takes, action failures no
transition takes, and the ends that count as a machine's failure (a dead end, an end
right after an unhandled failure). Each is logged with a stable ``action`` name."""

from __future__ import annotations

import logging

from ..errors import DeadEndError, UnhandledFailure

logger = logging.getLogger("statemachine_engine.engine")


def dead_end(machine_name: str, state: str) -> DeadEndError:
    """The error (logged) for a machine in a non-terminal state nothing leads out of."""
    message = f"state {state!r} has no way out: add a transition from it, or list it under `final:`"
    logger.error(
        "[%s] %s",
        machine_name,
        message,
        extra={"action": "dead_end", "machine": machine_name, "state": state},
    )
    return DeadEndError(message, machine=machine_name, state=state)


def failed_end(
    machine_name: str, state: str | None, event: str, error: str | None
) -> UnhandledFailure:
    """The error (logged) for a machine that ended in ``state`` right after an action
    failed with ``event`` that no transition took."""
    message = (
        f"ended in {state!r} right after an action failed ({error or 'no message'})"
        f" and no transition took its error event {event!r}"
    )
    logger.error(
        "[%s] %s",
        machine_name,
        message,
        extra={"action": "ended_after_error", "machine": machine_name, "state": state},
    )
    return UnhandledFailure(message, machine=machine_name, state=state)


def log_unhandled_event(
    machine_name: str, state: str | None, event: str, *, explicit: bool
) -> None:
    """An event no transition from ``state`` takes is dropped (at INFO when a config or
    a sender named it, else at DEBUG)."""
    logger.log(
        logging.INFO if explicit else logging.DEBUG,
        "[%s] no transition from %r on %r; event dropped",
        machine_name,
        state,
        event,
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
