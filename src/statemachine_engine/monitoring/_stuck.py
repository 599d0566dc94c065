"""Which machines are stuck: in a state much longer than machines of their config stay.

The YAML model has no per-state time limit, so "too long" is learnt: every time the
server sees a machine leave a state it records how long it stayed (per config and
state); a machine now in that state for more than :data:`STUCK_FACTOR` times the usual
stay (the 90th percentile of the recorded ones), and at least :data:`STUCK_MIN_SECONDS`,
is stuck. Pure bookkeeping: times go in, verdicts come out.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

#: Stays remembered per (config, state): the newest ones, so the usual time follows
#: what machines do now.
SAMPLES_KEPT = 200
#: Stays needed before a state has a usual time (fewer say nothing reliable).
MIN_SAMPLES = 5
#: A machine is stuck past this many times its state's usual stay...
STUCK_FACTOR = 5.0
#: ...and never before this long (quick states vary a lot in relative terms).
STUCK_MIN_SECONDS = 30.0


def usual_seconds(stays: Sequence[float], *, min_samples: int = MIN_SAMPLES) -> float | None:
    """The usual stay among ``stays`` (their 90th percentile), or None with too few."""
    if len(stays) < min_samples:
        return None
    ordered = sorted(stays)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def stuck_after(usual: float | None) -> float | None:
    """How long in a state makes a machine stuck, given the state's usual stay."""
    if usual is None:
        return None
    return max(STUCK_FACTOR * usual, STUCK_MIN_SECONDS)


def is_stuck(in_state_for: float, usual: float | None) -> bool:
    """Whether ``in_state_for`` seconds in a state with that usual stay is stuck."""
    limit = stuck_after(usual)
    return limit is not None and in_state_for > limit


class StayTimes:
    """The recent stays in each state of each config."""

    def __init__(self, kept: int = SAMPLES_KEPT) -> None:
        self._kept = kept
        self._stays: dict[tuple[str | None, str], deque[float]] = {}

    def add(self, config: str | None, state: str, seconds: float) -> None:
        """Record that a machine of ``config`` stayed ``seconds`` in ``state``."""
        if seconds < 0:
            return
        key = (config, state)
        stays = self._stays.get(key)
        if stays is None:
            stays = self._stays[key] = deque(maxlen=self._kept)
        stays.append(seconds)

    def usual(self, config: str | None, state: str) -> float | None:
        """The usual stay in ``state`` (None: not enough seen)."""
        return usual_seconds(self._stays.get((config, state), ()))
