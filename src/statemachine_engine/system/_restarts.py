"""When a machine's process that ended starts again: pure decisions over its restart
policy and its recent restarts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ..config._manifest import RestartPolicy

#: ``statemachine`` exits 2 on a usage or config error: starting it again cannot help.
EXIT_USAGE = 2


class Decision(NamedTuple):
    """What to do about a process that ended.

    Attributes:
        restart: start it again (after :attr:`delay` seconds).
        delay: the backoff before the restart.
        gave_up: it is in a crash loop (or cannot start): it stays down, marked so.
        reason: what happened, in words, for the log and ``status``.
    """

    restart: bool
    delay: float
    gave_up: bool
    reason: str


def describe_exit(status: int) -> str:
    """``exited 1``, ``killed by SIGKILL``..."""
    if status >= 0:
        return f"exited {status}"
    import signal

    try:
        return f"killed by {signal.Signals(-status).name}"
    except ValueError:
        return f"killed by signal {-status}"


def decide(policy: RestartPolicy, status: int, recent: Sequence[float], now: float) -> Decision:
    """What to do about a process that ended with ``status`` (negative: killed by that
    signal) at ``now``, given when it was restarted before (``recent``, monotonic
    seconds).

    ``always`` restarts whatever the status, ``on-failure`` unless it exited 0, ``no``
    never. More than :attr:`~RestartPolicy.max_restarts` restarts within
    :attr:`~RestartPolicy.within` seconds is a crash loop: it gives up. The backoff
    doubles with each restart within the window, from :attr:`~RestartPolicy.backoff` up
    to :attr:`~RestartPolicy.max_backoff`.
    """
    what = describe_exit(status)
    if policy.mode == "no" or (policy.mode == "on-failure" and status == 0):
        return Decision(False, 0.0, False, f"{what}; restart: {policy.mode}")
    if status == EXIT_USAGE:
        return Decision(False, 0.0, True, f"{what} (a usage or config error): not restarted")
    window = [at for at in recent if now - at <= policy.within]
    if len(window) >= policy.max_restarts:
        why = (
            f"crash loop: {len(window)} restarts within {policy.within:g}s"
            if window
            else "max_restarts is 0"
        )
        return Decision(False, 0.0, True, f"{what}; {why}, given up")
    delay = min(policy.backoff * 2 ** len(window), policy.max_backoff)
    return Decision(True, delay, False, f"{what}; restarting in {delay:g}s")
