"""When a delayed event falls due: after a ``delay`` (a duration) or ``at`` a time.

Shared by the ``send_event`` action and ``statemachine-db send-event``. A ``delay`` is a
duration as other settings write them (``30``, ``90s``, ``5m``, ``2h``, ``1h30m``); an
``at`` is an ISO 8601 time (``2026-12-07T09:00:00+00:00``, ``...Z``): one without a
timezone is the local time of the host that sends the event. A time already past means
at once; one further ahead than :data:`~._timeouts.MAX_DELAY_SECONDS` is refused.
"""

from __future__ import annotations

import datetime as dt

from ._timeouts import parse_duration, within_reach

#: Longest ISO time text read (anything longer is not one).
_MAX_TIME_TEXT = 64


def due_time(*, delay: object = None, at: object = None, now: float) -> float | None:
    """The wall-clock time (epoch seconds) an event sent at ``now`` falls due; None when
    neither ``delay`` nor ``at`` is given (it is delivered at once).

    Raises:
        ValueError: both are given, or one is not usable or too far ahead (the message
            says why).
    """
    if delay is not None and at is not None:
        raise ValueError("give delay or at, not both")
    if delay is not None:
        seconds = parse_duration(delay)
        if seconds is None:
            raise ValueError(
                f"delay must be a duration (seconds, or 90s, 5m, 2h, 1h30m), got {delay!r}"
            )
        return now + _ahead("delay", seconds)
    if at is not None:
        moment = parse_time(at)
        _ahead("at", moment - now)
        return moment
    return None


def _ahead(what: str, seconds: float) -> float:
    """``seconds`` ahead, if within reach; ValueError naming ``what`` otherwise."""
    try:
        return within_reach(seconds)
    except ValueError as exc:
        raise ValueError(f"{what} {exc}") from None


def parse_time(value: object) -> float:
    """Epoch seconds of an ISO 8601 time (a text, or a datetime as YAML may give it);
    without a timezone it is local time.

    Raises:
        ValueError: ``value`` is not such a time.
    """
    moment = value if isinstance(value, dt.datetime) else _iso_time(value)
    if moment is None:
        shown = repr(value)
        if isinstance(value, str) and len(value) > _MAX_TIME_TEXT:
            shown = f"{value[:_MAX_TIME_TEXT]!r}..."
        raise ValueError(
            f"at must be an ISO 8601 time such as 2026-12-07T09:00:00+00:00, got {shown}"
        )
    try:
        return moment.timestamp()
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError(f"at is out of range: {value!r}") from exc


def _iso_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or len(value) > _MAX_TIME_TEXT:
        return None
    try:
        return dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
