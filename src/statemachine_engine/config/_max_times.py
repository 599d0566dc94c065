"""``max_time:``: how long a machine may stay in a state before the monitor calls it stuck.

    max_time: {rendering: 5m, uploading: 90s}

It changes nothing in how the machine runs (a ``timeout(N)`` transition does that); it
replaces, for the states it names, the stay the monitor would otherwise learn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._timeouts import parse_duration

if TYPE_CHECKING:
    from ..errors import ConfigError
    from ._yaml_source import YamlPath

#: Builds the load error for a message at a place in the file (the loader's ``error``).
ErrorAt = Callable[[str, "YamlPath"], "ConfigError"]


def read_max_times(raw: Any, states: set[str], error: ErrorAt) -> dict[str, float]:
    """State -> seconds from a ``max_time:`` mapping (``{}`` without one).

    Raises:
        ConfigError: it is not a mapping, names a state the config does not have, or
            gives a time that is not a positive duration.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise error("max_time: must map states to durations, e.g. {rendering: 5m}", ("max_time",))
    limits: dict[str, float] = {}
    for state, value in raw.items():
        at: YamlPath = ("max_time", str(state))
        if str(state) not in states:
            import difflib  # an error message's hint: not worth loading on every start

            close = difflib.get_close_matches(str(state), sorted(states), n=1)
            hint = (
                f"did you mean {close[0]!r}?" if close else f"states: {', '.join(sorted(states))}"
            )
            raise error(f"max_time names unknown state {state!r} ({hint})", at)
        seconds = parse_duration(value)
        if not seconds:
            raise error(
                f"max_time of {state!r} must be a positive duration (90s, 5m, 1h30m), "
                f"got {value!r}",
                at,
            )
        limits[str(state)] = seconds
    return limits
