"""Times as an action's options give them: a number of seconds or a duration (``90s``,
``5m``, ``1h30m``), and a delayed event's due time (``delay:`` or ``at:``)."""

from __future__ import annotations

from typing import Any

from ..config._due import due_time as due_time
from ..config._timeouts import parse_duration


def parse_seconds(raw: Any, what: str) -> float:
    """``raw`` as a non-negative number of seconds, or a duration with units (``90s``,
    ``5m``, ``2h``, ``1h30m``); ``what`` names it in the message.

    Raises:
        ValueError: ``raw`` is neither, or is negative.
    """
    try:
        value = float(raw)
    except (TypeError, ValueError):
        seconds = None if isinstance(raw, bool) else parse_duration(raw)
        if seconds is None:
            raise ValueError(
                f"{what} must be a number of seconds (or 90s, 5m, 2h), got {raw!r}"
            ) from None
        return seconds
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value:g}")
    return value
