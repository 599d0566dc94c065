"""Durations: ``timeout(N)`` events (which events are timeouts, and how long they wait),
the durations other settings are written in (``90s``, ``5m``), and how far ahead a job
or an event may be put off (:data:`MAX_DELAY_SECONDS`)."""

from __future__ import annotations

import re

from ..errors import MalformedTimeout

# Anything that starts like a timeout is one, so that a typo is an error rather than an
# ordinary event that never fires. The duration itself is strict: ``timeout(5 )`` and
# ``timeout(5)`` would be two different events, so only the canonical spelling is valid.
_TIMEOUT = re.compile(r"timeout\s*\(")
_DURATION = re.compile(r"timeout\((?P<value>\d+(?:\.\d*)?|\.\d+)(?P<unit>ms|s|m|h)?\)", re.ASCII)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_PLAIN_DURATION = re.compile(r"(?P<value>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>ms|s|m|h)?", re.ASCII)
# ``1h30m``, ``2m30s``: whole parts with a unit each, largest first.
_COMPOUND_DURATION = re.compile(r"(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?!s))?(?:(?P<s>\d+)s)?", re.ASCII)

#: The furthest ahead a job's delay, a delayed event's delay or ``at`` time may put it:
#: longer is a mistake (a unit typed wrong), and far enough ahead a time is one that no
#: date (nor the platform's clock) can show, which every listing of it would fail on.
MAX_DELAY_YEARS = 100
MAX_DELAY_SECONDS = MAX_DELAY_YEARS * 365.25 * 24 * 3600


def is_timeout_event(event: str) -> bool:
    """Whether ``event`` is written as a timeout (``timeout(...)``), well-formed or not."""
    return bool(_TIMEOUT.match(event))


def parse_timeout(event: str) -> float | None:
    """Seconds of a ``timeout(N)`` event, or None for an ordinary event.

    ``N`` is a positive number with an optional unit: ``timeout(5)``, ``timeout(2.5s)``,
    ``timeout(500ms)``, ``timeout(10m)``, ``timeout(1h)``.

    Raises:
        MalformedTimeout: the event looks like a timeout but its duration is unusable.
    """
    if not is_timeout_event(event):
        return None
    duration = _DURATION.fullmatch(event)
    if duration is None:
        raise MalformedTimeout(
            f"malformed timeout event {event!r}: write timeout(N) with N a positive "
            "number of seconds, e.g. timeout(5) or timeout(500ms)"
        )
    seconds = float(duration["value"]) * _UNIT_SECONDS[duration["unit"]]
    if seconds <= 0:
        raise MalformedTimeout(f"malformed timeout event {event!r}: the duration must be > 0")
    return seconds


def parse_duration(value: object) -> float | None:
    """Seconds of a duration written as a number of seconds (``30``, ``2.5``), with a
    unit (``500ms``, ``90s``, ``5m``, ``2h``) or with several (``1h30m``, ``2m30s``);
    None when it is not one (a negative number, a boolean, another text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if 0 <= value < float("inf") else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    found = _PLAIN_DURATION.fullmatch(text)
    if found is not None:
        return float(found["value"]) * _UNIT_SECONDS[found["unit"]]
    parts = _COMPOUND_DURATION.fullmatch(text)
    if parts is None or not text:
        return None
    return sum(float(parts[unit] or 0) * _UNIT_SECONDS[unit] for unit in ("h", "m", "s"))


def within_reach(seconds: float) -> float:
    """``seconds`` (a delay, or how far ahead a time is), if :data:`MAX_DELAY_SECONDS` or
    less.

    Raises:
        ValueError: it is more; the message says the bound, not what the value is (the
            caller names it).
    """
    if seconds > MAX_DELAY_SECONDS:
        raise ValueError(
            f"must be at most {MAX_DELAY_YEARS} years ahead ({MAX_DELAY_SECONDS:.0f} seconds)"
        )
    return seconds
