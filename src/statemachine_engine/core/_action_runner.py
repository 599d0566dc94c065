"""Running one action: instantiate it with interpolated options, apply its retry policy.

An action's class is created anew for every run with its options interpolated from the
context; whatever it raises becomes its error event with the message in
``context["last_error"]``; ``retry: {attempts: N, backoff: S}`` re-runs a failing
action with exponential backoff and jitter before the error event is returned. Each
attempt ends with an ``action_finished`` realtime event saying how long it took.
"""

# Annotations are evaluated here (no `from __future__ import annotations`): a NamedTuple
# turns string annotations into ForwardRefs, each compiled at import (docs/performance.md).
import asyncio
import functools
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from .. import _tracing
from ..actions.base import ActionRuntime, BaseAction
from ..config.model import ActionSpec
from ..context.interpolation import interpolate

logger = logging.getLogger("statemachine_engine.engine")
#: The realtime event each run of an action ends with (one per attempt): its type, the
#: state, its duration and whether it failed (``/metrics`` counts them).
ACTION_FINISHED = "action_finished"


class ActionOutcome(NamedTuple):
    """What an action returned: its event (or None), whether a config named it, and
    whether the action failed (its event is then its error event) and why."""

    event: str | None
    explicit: bool
    failed: bool = False
    error: str | None = None


class RetryPolicy(NamedTuple):
    attempts: int = 1
    backoff: float = 0.0

    @classmethod
    def from_option(cls, raw: Any) -> "RetryPolicy":
        """``retry: N`` or ``retry: {attempts: N, backoff: S}`` (S seconds, default 1)."""
        if raw is None or raw is False:
            return cls()
        if isinstance(raw, int) and not isinstance(raw, bool):
            return cls(max(1, raw), 1.0)
        if isinstance(raw, Mapping):
            return cls(
                max(1, int(raw.get("attempts", 3))), max(0.0, float(raw.get("backoff", 1.0)))
            )
        return cls()

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        import random

        delay = self.backoff * 2 ** (attempt - 1)
        return random.uniform(delay / 2, delay)  # noqa: S311 - jitter, not crypto


def action_config(
    cls: type[BaseAction], spec: ActionSpec, context: Mapping[str, Any]
) -> dict[str, Any]:
    """The options an action is created with: interpolated, with ``type`` and ``params``."""
    raw = cls.raw_options
    options = {
        key: value if key in raw else interpolate(value, context)
        for key, value in spec.options.items()
    }
    return {**options, "type": spec.type, "params": dict(options)}


def _now(line: Callable[[], None]) -> None:
    line()


async def run_action(
    cls: type[BaseAction],
    spec: ActionSpec,
    context: dict[str, Any],
    runtime: ActionRuntime,
    *,
    tell: Callable[[Callable[[], None]], None] = _now,
) -> ActionOutcome:
    """Run ``spec`` (with its retries) and return its outcome. ``tell`` logs what it says
    of the action in order with the machine's own lines (after the steps before it are
    committed: ``StepLog.tell``)."""
    policy = RetryPolicy.from_option(spec.options.get("retry"))
    explicit = "success" in spec.options or cls.default_success is None
    name = runtime.machine_name
    trace = _tracing.current()
    attempt = 0
    while True:
        attempt += 1
        earlier_error = context.get("last_error", _NOTHING)
        action: BaseAction | None = None
        result: Any  # user-written actions may return something other than a str
        started = time.monotonic()
        span = trace.action_started(runtime.state or "", spec.type)
        try:
            action = cls(action_config(cls, spec, context))
            action.runtime = runtime
            result = await action.execute(context)
        except asyncio.CancelledError:
            trace.action_ended(span)
            raise
        except Exception as exc:
            message = str(exc) or type(exc).__name__
            trace.action_ended(span, message)
            context["last_error"] = message
            tell(
                functools.partial(
                    logger.error,
                    "[%s] action %s in %r failed: %s",
                    name,
                    spec.type,
                    runtime.state,
                    message,
                    exc_info=exc if logger.isEnabledFor(logging.DEBUG) else None,
                    extra={"action": "action_failed", "machine": name, "type": spec.type},
                )
            )
            result = action.error_event if action else str(spec.options.get("error", "error"))
            failed = True
            runtime.emit(
                "error",
                {"action": spec.type, "state": runtime.state, "message": message},
            )
        else:
            failed = result is not None and action is not None and result == action.error_event
            trace.action_ended(span, str(context.get("last_error", spec.type)) if failed else None)
        runtime.emit(
            ACTION_FINISHED,
            {
                "action": spec.type,
                "state": runtime.state,
                "seconds": round(time.monotonic() - started, 6),
                "failed": failed,
            },
        )
        if failed and attempt < policy.attempts:
            delay = policy.delay(attempt)
            tell(
                functools.partial(
                    logger.info,
                    "[%s] retrying %s in %.2fs (attempt %d of %d)",
                    name,
                    spec.type,
                    delay,
                    attempt + 1,
                    policy.attempts,
                    extra={"action": "action_retry", "machine": name, "type": spec.type},
                )
            )
            await asyncio.sleep(delay)
            continue
        if result is not None and not isinstance(result, str):
            result = str(result)
        error = None
        if failed:  # the action's own message, not one left by an earlier failure
            latest = context.get("last_error", _NOTHING)
            error = None if latest is earlier_error or latest is _NOTHING else str(latest)
        return ActionOutcome(result, explicit or failed, failed, error)


_NOTHING = object()
