"""A number of seconds as an action's option gives it."""

from __future__ import annotations

from typing import Any


def parse_seconds(raw: Any, what: str) -> float:
    """``raw`` as a non-negative number of seconds; ``what`` names it in the message.

    Raises:
        ValueError: ``raw`` is not a number, or is negative.
    """
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number of seconds, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value:g}")
    return value
